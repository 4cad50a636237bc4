//! Building an `oci-client` client for one registry (plain HTTP for
//! loopback addresses and registries the caller marks insecure), mapping
//! its errors to ours, and retrying transient failures with backoff.

use std::future::Future;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;

use crate::error::Error;

/// Connection settings shared by pull and push.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Registries (`host:port`) spoken to over plain HTTP. Loopback
    /// registries (`127.*`, `localhost`, `[::1]`) always are.
    pub insecure: Vec<String>,
    /// Layers transferred at once.
    pub max_concurrent: usize,
    /// Attempts per request for transient errors (network, 5xx, 429).
    pub attempts: u32,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            max_concurrent: 4,
            attempts: 4,
        }
    }
}

/// Whether `registry` is on this machine.
pub fn is_loopback(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// A client for `registry`.
pub fn make_client(registry: &str, opts: &RegistryOptions) -> oci_client::Client {
    // TLS is rustls on ring; its certificate verifier reads the system's
    // roots on first use, so a plain-HTTP (loopback) pull reads none.
    // (native-tls parsed the CA bundle four times per client here, ~0.2 s.)
    // Installing fails harmlessly when a provider is already set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = is_loopback(registry) || opts.insecure.iter().any(|r| r == registry);
    client_with(http, opts)
}

fn client_with(http: bool, opts: &RegistryOptions) -> oci_client::Client {
    oci_client::Client::new(ClientConfig {
        protocol: if http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        max_concurrent_download: opts.max_concurrent.max(1),
        max_concurrent_upload: opts.max_concurrent.max(1),
        // One PUT per blob with the file streamed as its body (constant
        // memory, one round trip), not 4 MiB PATCHes.
        use_monolithic_push: true,
        connect_timeout: Some(Duration::from_secs(15)),
        read_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    })
}

/// Our error for an oci-client error while talking to `registry`.
pub fn map_err(registry: &str, e: OciDistributionError) -> Error {
    use OciDistributionError as E;
    let unauthorized = match &e {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => true,
        E::ServerError { code, .. } => *code == 401 || *code == 403,
        E::RegistryError { envelope, .. } => {
            format!("{envelope:?}").contains("UNAUTHORIZED")
                || format!("{envelope:?}").contains("DENIED")
        }
        _ => false,
    };
    if unauthorized {
        return Error::Unauthorized {
            registry: registry.to_string(),
            reason: format!("{e} (check the user name and password, or the auth file)"),
        };
    }
    let mut reason = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = src {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        src = s.source();
    }
    Error::Registry {
        registry: registry.to_string(),
        reason,
    }
}

/// Whether an error is worth retrying.
pub fn is_transient(e: &Error) -> bool {
    match e {
        Error::Registry { reason, .. } => {
            let r = reason.to_ascii_lowercase();
            !(r.contains("manifest unknown")
                || r.contains("not found")
                || r.contains("name_unknown")
                || r.contains("blob_unknown")
                || r.contains("code: 404"))
        }
        Error::DigestMismatch { .. } => true,
        Error::Io { .. } => false,
        _ => false,
    }
}

/// Runs `f` up to `attempts` times while it fails transiently, sleeping
/// 200 ms, 400 ms, 800 ms… between tries.
pub async fn retry<T, F, Fut>(attempts: u32, what: &str, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut delay = Duration::from_millis(200);
    let mut n = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if n < attempts && is_transient(&e) => {
                tracing::warn!("{what}: {e}; retrying in {delay:?} (attempt {n}/{attempts})");
                tokio::time::sleep(delay).await;
                delay *= 2;
                n += 1;
            }
            Err(Error::Registry { registry, reason }) if n > 1 => {
                return Err(Error::Registry {
                    registry,
                    reason: format!("{reason} (gave up after {n} attempts)"),
                })
            }
            Err(e) => return Err(e),
        }
    }
}

/// A runtime for the blocking API.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start async runtime", "tokio", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HTTPS goes through rustls (ring) and verifies against the system
    /// roots: a self-signed server on 127.0.0.1 (openssl s_server) is
    /// refused with a certificate error, not a panic or a plain-HTTP try.
    #[test]
    fn https_verifies_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let (key, crt) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
        let ok = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .expect("openssl is installed")
            .status
            .success();
        assert!(ok, "openssl req failed");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut server = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&crt)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t.elapsed().as_secs() < 10, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = client_with(false, &RegistryOptions::default());
        let r: oci_client::Reference = format!("127.0.0.1:{port}/x:y").parse().unwrap();
        let res = runtime().unwrap().block_on(client.pull_manifest_raw(
            &r,
            &oci_client::secrets::RegistryAuth::Anonymous,
            &["application/vnd.oci.image.manifest.v1+json"],
        ));
        let _ = server.kill();
        let _ = server.wait();
        let err = format!(
            "{:?}",
            res.expect_err("a self-signed server must be refused")
        );
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
}
