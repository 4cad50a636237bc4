//! Image references as users type them (`busybox`, `127.0.0.1:5000/app:v1`,
//! `repo@sha256:…`) normalised the way docker does (`docker.io/library/`
//! prefix, `:latest` default), and shortened back for display.

use crate::error::{Error, Result};

/// A parsed, normalised reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    inner: oci_client::Reference,
}

impl ImageRef {
    pub fn parse(s: &str) -> Result<Self> {
        let inner = crate::reference_parse::parse(s).map_err(|reason| Error::InvalidReference {
            reference: s.to_string(),
            reason,
        })?;
        Ok(ImageRef { inner })
    }

    /// The oci-client form.
    pub fn client_ref(&self) -> &oci_client::Reference {
        &self.inner
    }

    /// `registry/repository` (normalised).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.inner.registry(), self.inner.repository())
    }

    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The key in the reference index: `repo:tag` when a tag is given (or
    /// implied), else `repo@digest`.
    pub fn key(&self) -> String {
        match (self.inner.tag(), self.inner.digest()) {
            (Some(t), _) => format!("{}:{t}", self.repository()),
            (None, Some(d)) => format!("{}@{d}", self.repository()),
            (None, None) => format!("{}:latest", self.repository()),
        }
    }

    /// This reference with another tag.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            inner: oci_client::Reference::with_tag(
                self.inner.registry().to_string(),
                self.inner.repository().to_string(),
                tag.to_string(),
            ),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// Splits a reference-index key into (display repository, tag or digest).
pub fn display_parts(key: &str) -> (String, String) {
    let (repo, tag) = if let Some((r, d)) = key.split_once('@') {
        (r, d)
    } else {
        match key.rfind(':') {
            Some(i) if !key[i..].contains('/') => (&key[..i], &key[i + 1..]),
            _ => (key, "latest"),
        }
    };
    (short_repo(repo), tag.to_string())
}

/// `docker.io/library/busybox` → `busybox`, `docker.io/x/y` → `x/y`.
pub fn short_repo(repo: &str) -> String {
    if let Some(r) = repo.strip_prefix("docker.io/library/") {
        r.to_string()
    } else if let Some(r) = repo.strip_prefix("docker.io/") {
        r.to_string()
    } else {
        repo.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let r = ImageRef::parse("busybox").unwrap();
        assert_eq!(r.key(), "docker.io/library/busybox:latest");
        assert_eq!(display_parts(&r.key()), ("busybox".into(), "latest".into()));
        let r = ImageRef::parse("127.0.0.1:5000/a/b:v1").unwrap();
        assert_eq!(r.key(), "127.0.0.1:5000/a/b:v1");
        assert_eq!(
            display_parts(&r.key()),
            ("127.0.0.1:5000/a/b".into(), "v1".into())
        );
        assert!(ImageRef::parse("UPPER:x").is_err());
    }
}
