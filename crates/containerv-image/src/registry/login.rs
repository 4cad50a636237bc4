//! `cv login` / `cv logout`: credentials written to (and removed from)
//! the auth file that [`super::auth`] reads, in docker's format
//! (`{"auths": {"REGISTRY": {"auth": base64("user:pass")}}}`), keeping
//! everything else the file holds. The file is written atomically with
//! mode 0600. Which file: `$REGISTRY_AUTH_FILE`, else
//! `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (docker's).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// docker's key for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The auth file `login` writes when none is given.
pub fn default_login_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("DOCKER_CONFIG") {
        return Some(Path::new(&p).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker/config.json"))
}

/// The key a registry is stored under.
fn key(registry: &str) -> String {
    match registry {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.into(),
        r => r
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string(),
    }
}

fn read(path: &Path) -> Result<Value> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(json!({})),
        Ok(b) => {
            serde_json::from_slice(&b).map_err(|e| Error::invalid(path.display().to_string(), e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn write(path: &Path, v: &Value) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
    }
    let tmp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let data = serde_json::to_vec_pretty(v).map_err(|e| Error::invalid("auth file", e))?;
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&data).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", path, e));
    }
    Ok(())
}

/// Stores `username`/`password` for `registry` in `path`.
pub fn store_login(path: &Path, registry: &str, username: &str, password: &str) -> Result<()> {
    if username.is_empty() || username.contains(':') {
        return Err(Error::invalid(
            "username",
            "must be non-empty and without ':'",
        ));
    }
    let mut v = read(path)?;
    if !v.is_object() {
        return Err(Error::invalid(
            path.display().to_string(),
            "is not a JSON object",
        ));
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let auths = v
        .as_object_mut()
        .expect("object")
        .entry("auths")
        .or_insert_with(|| json!({}));
    if !auths.is_object() {
        *auths = json!({});
    }
    auths[key(registry)] = json!({ "auth": auth });
    write(path, &v)
}

/// Removes the credentials of `registry` from `path`; false if it had none.
pub fn remove_login(path: &Path, registry: &str) -> Result<bool> {
    let mut v = read(path)?;
    let removed = v
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(&key(registry)))
        .is_some();
    if removed {
        write(path, &v)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_then_lookup_then_logout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/config.json");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"credsStore": "x", "auths": {"other.io": {"auth": "eDp5"}}}"#,
        )
        .unwrap();
        store_login(&p, "127.0.0.1:5000", "alice", "s3:cret").unwrap();
        assert_eq!(
            super::super::auth::lookup_file(&p, "127.0.0.1:5000"),
            Some(("alice".into(), "s3:cret".into()))
        );
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["credsStore"], "x");
        assert!(v["auths"]["other.io"].is_object());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        store_login(&p, "docker.io", "bob", "pw").unwrap();
        assert_eq!(
            super::super::auth::lookup_file(&p, "docker.io"),
            Some(("bob".into(), "pw".into()))
        );
        assert!(remove_login(&p, "127.0.0.1:5000").unwrap());
        assert!(!remove_login(&p, "127.0.0.1:5000").unwrap());
        assert_eq!(super::super::auth::lookup_file(&p, "127.0.0.1:5000"), None);
        assert!(store_login(&p, "x.io", "", "pw").is_err());
    }
}
