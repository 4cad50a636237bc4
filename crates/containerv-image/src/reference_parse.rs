//! A hand-written parser for image references, equivalent to the
//! distribution grammar that oci-spec checks with one large regex. Building
//! that regex costs ~30 ms of every `cv` process that names an image (more
//! in debug builds); this does the same checks in a few microseconds. The
//! regex stays the reference: anything non-ASCII (its tags use Unicode
//! `\w`) goes to it, and a test compares both on thousands of generated
//! strings.
//!
//! Grammar (distribution/reference): `name [":" tag] ["@" digest]`, where
//! `name = [domain "/"] component ("/" component)*`, a domain is
//! dot-separated labels of `[a-zA-Z0-9-]` (no leading or trailing `-`)
//! with an optional `:port`, a component is `[a-z0-9]+` runs joined by
//! `.`, `_`, `__` or any number of `-`, a tag is `[\w][\w.-]{0,127}`, a
//! digest is `algorithm ":" hex{32,}`.

use oci_client::Reference;

const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Parses `s` like `oci_client::Reference::from_str` does; `Err` holds the
/// reason.
pub(crate) fn parse(s: &str) -> Result<Reference, String> {
    if !s.is_ascii() {
        return s.parse::<Reference>().map_err(|e| e.to_string());
    }
    if s.is_empty() {
        return Err("repository name must have at least one component".into());
    }
    let invalid = || "invalid reference format".to_string();
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if !valid_name(name) || !tag.is_none_or(valid_tag) || !digest.is_none_or(valid_digest) {
        return Err(invalid());
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > NAME_TOTAL_LENGTH_MAX {
        return Err("repository name must not be more than 255 characters".into());
    }
    if let Some(d) = digest {
        let (alg, hex) = d.split_once(':').ok_or_else(invalid)?;
        let want = match alg {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => return Err("unsupported digest algorithm".into()),
        };
        if hex.len() != want {
            return Err("invalid checksum digest length".into());
        }
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.into(), d.into())
        }
        (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
        (t, None) => Reference::with_tag(registry, repository, t.unwrap_or("latest").into()),
    })
}

fn valid_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    let first_ok = valid_component(first) || (!rest.is_empty() && valid_domain(first));
    first_ok && rest.iter().all(|c| valid_component(c))
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or `-`*.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Dot-separated labels, each `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`,
/// then an optional `:digits`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|x| x.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(|l| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
    })
}

/// `[\w][\w.-]{0,127}` (ASCII `\w`: letters, digits, `_`).
fn valid_tag(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|p| {
        let b = p.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|x| x.is_ascii_hexdigit())
}

/// docker's normalisation: no domain → `docker.io`, and official images
/// under `library/` (distribution's `splitDockerDomain`).
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((l, r)) if l.contains('.') || l.contains(':') || l == "localhost" => {
            (l.to_string(), r.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !rest.contains('/') {
        rest = format!("library/{rest}");
    }
    (domain, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(s: &str) {
        let ours = parse(s);
        let theirs = s.parse::<Reference>();
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    (a.registry(), a.repository(), a.tag(), a.digest()),
                    (b.registry(), b.repository(), b.tag(), b.digest()),
                    "{s:?}"
                );
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{s:?}: ours {ours:?}, regex {theirs:?}"),
        }
    }

    #[test]
    fn agrees_with_the_regex_on_known_cases() {
        let h64 = "f".repeat(64);
        for s in [
            "busybox",
            "test.com:tag",
            "test.com:5000",
            "test.com/repo:tag",
            "test:5000/repo",
            "test:5000/repo:tag",
            &format!("test:5000/repo@sha256:{h64}"),
            &format!("test:5000/repo:tag@sha256:{h64}"),
            "lowercase:Uppercase",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "foo_bar.com:8080",
            "foo/foo_bar.com:8080",
            "127.0.0.1:5000/a/b:v1",
            "localhost/x",
            "index.docker.io/x",
            "index.docker.io/a/b",
            "",
            ":justtag",
            &format!("@sha256:{h64}"),
            "repo@sha256:ffff",
            &format!("validname@invaliddigest:{h64}"),
            "Uppercase:tag",
            "Uppercase/lowercase:tag",
            "test:5000/Uppercase/lowercase:tag",
            &"a".repeat(256),
            "aa/asdf$$^/aa",
            "a__b",
            "a___b",
            "a._b",
            "a--b---c",
            "a/",
            "/a",
            "a//b",
            "-a",
            "a-",
            "host:/a",
            "host:12x/a",
            "a:b:c",
            &format!("a:{}", "t".repeat(128)),
            &format!("a:{}", "t".repeat(129)),
            "a:.t",
            "a:-t",
            "a:_t",
            "a@b",
            "a:b@c",
        ] {
            same(s);
        }
    }

    /// Thousands of strings from the grammar's alphabet, built from pieces
    /// that hit its edges, checked against the regex.
    #[test]
    fn agrees_with_the_regex_on_generated_strings() {
        let pieces = [
            "a",
            "b0",
            "Z",
            "9",
            ".",
            "_",
            "__",
            "-",
            "--",
            ":",
            "/",
            "@",
            "localhost",
            "io",
            "5000",
            "sha256",
            "sha512",
            "x.y",
            "a-",
            "-b",
            ":",
            "/",
        ];
        let hex = ["f".repeat(64), "0".repeat(128), "ab".repeat(20)];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = 1 + next() % 8;
            let mut s = String::new();
            for _ in 0..n {
                let r = next() as usize;
                if r % 23 == 0 {
                    s.push_str(&hex[r % hex.len()]);
                } else {
                    s.push_str(pieces[r % pieces.len()]);
                }
            }
            same(&s);
        }
    }
}
