//! Registry credentials: given explicitly, or read from a docker-style
//! auth file (`$REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`,
//! `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`, first match wins)
//! whose `auths` map holds `{"auth": base64("user:pass")}` or
//! `{"username", "password"}` per registry.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

/// How to authenticate to a registry.
#[derive(Clone, Debug, Default)]
pub enum Credentials {
    /// Look in the auth files, else anonymous.
    #[default]
    Auto,
    /// Anonymous, whatever the auth files say.
    Anonymous,
    /// Look in this auth file only (podman's `--authfile`).
    AuthFile(PathBuf),
    /// Basic credentials (also exchanged for a bearer token when the
    /// registry asks for one).
    Basic { username: String, password: String },
    /// A ready bearer token.
    Bearer(String),
}

/// The auth files searched, in order.
pub fn auth_file_candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_RUNTIME_DIR") {
        v.push(Path::new(&p).join("containers/auth.json"));
    }
    if let Some(p) = std::env::var_os("DOCKER_CONFIG") {
        v.push(Path::new(&p).join("config.json"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        v.push(Path::new(&h).join(".docker/config.json"));
    }
    v
}

/// Credentials for `registry` from the first auth file that has them.
pub fn from_auth_files(registry: &str) -> Option<(String, String)> {
    auth_file_candidates()
        .iter()
        .find_map(|p| lookup_file(p, registry))
}

/// Credentials for `registry` in auth file `path`.
pub fn lookup_file(path: &Path, registry: &str) -> Option<(String, String)> {
    let data = std::fs::read(path).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&data).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let wanted: Vec<&str> = if registry == "docker.io" || registry == "index.docker.io" {
        vec![
            "docker.io",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "registry-1.docker.io",
        ]
    } else {
        vec![registry]
    };
    for (k, entry) in auths {
        let host = k
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let host = host.split('/').next().unwrap_or(host);
        if !wanted.contains(&k.as_str()) && !wanted.contains(&host) {
            continue;
        }
        if let Some(a) = entry.get("auth").and_then(|a| a.as_str()) {
            let dec = base64::engine::general_purpose::STANDARD.decode(a).ok()?;
            let s = String::from_utf8(dec).ok()?;
            let (u, p) = s.split_once(':')?;
            return Some((u.to_string(), p.to_string()));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|u| u.as_str()),
            entry.get("password").and_then(|p| p.as_str()),
        ) {
            return Some((u.to_string(), p.to_string()));
        }
    }
    None
}

impl Credentials {
    /// The oci-client form for `registry`.
    pub fn resolve(&self, registry: &str) -> RegistryAuth {
        match self {
            Credentials::Auto => match from_auth_files(registry) {
                Some((u, p)) => RegistryAuth::Basic(u, p),
                None => RegistryAuth::Anonymous,
            },
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::AuthFile(p) => match lookup_file(p, registry) {
                Some((u, pw)) => RegistryAuth::Basic(u, pw),
                None => RegistryAuth::Anonymous,
            },
            Credentials::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Credentials::Bearer(t) => RegistryAuth::Bearer(t.clone()),
        }
    }

    /// Parses `user:password` (docker's `--creds`).
    pub fn parse_user_pass(s: &str) -> Option<Self> {
        let (u, p) = s.split_once(':')?;
        Some(Credentials::Basic {
            username: u.to_string(),
            password: p.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_and_podman_style_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.json");
        std::fs::write(
            &p,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"},"https://index.docker.io/v1/":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        assert_eq!(
            lookup_file(&p, "127.0.0.1:5000"),
            Some(("user".into(), "pass".into()))
        );
        assert_eq!(lookup_file(&p, "docker.io"), Some(("a".into(), "b".into())));
        assert_eq!(lookup_file(&p, "127.0.0.1:5001"), None);
    }
}
