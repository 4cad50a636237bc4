//! `push`: the config and layer blobs the registry lacks (asked with HEAD
//! first, several at once), each streamed from its file in the store as
//! the body of one monolithic upload (memory use does not grow with the
//! blob), then the manifest under the destination reference.

use futures_util::{StreamExt, TryStreamExt};
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference, RegistryOperation};
use tokio::io::AsyncReadExt;

use super::auth::Credentials;
use super::client::{make_client, map_err, retry, runtime, RegistryOptions};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageStore;
use crate::reference::ImageRef;
use crate::spec::{self, Descriptor};

/// Read size when streaming a blob to the registry.
const CHUNK: usize = 1 << 20;

/// How to push.
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    pub credentials: Credentials,
    pub registry: RegistryOptions,
}

impl ImageStore {
    /// Pushes local image `source` to `dest` (default: `source`'s own
    /// reference). Returns the manifest digest pushed.
    pub fn push(&self, source: &str, dest: Option<&str>, opts: &PushOptions) -> Result<String> {
        let digest = self.resolve(source)?;
        let dest = ImageRef::parse(dest.unwrap_or(source))?;
        runtime()?.block_on(self.push_async(&digest, &dest, opts))
    }

    async fn push_async(
        &self,
        digest: &Digest,
        dest: &ImageRef,
        opts: &PushOptions,
    ) -> Result<String> {
        let registry = dest.registry().to_string();
        let client = make_client(&registry, &opts.registry);
        let auth = opts.credentials.resolve(&registry);
        let cref = dest.client_ref().clone();
        client
            .auth(&cref, &auth, RegistryOperation::Push)
            .await
            .map_err(|e| map_err(&registry, e))?;
        let manifest = self.manifest(digest)?;
        let attempts = opts.registry.attempts;
        let mut blobs: Vec<&Descriptor> = vec![&manifest.config];
        blobs.extend(manifest.layers.iter());
        let jobs = blobs.into_iter().map(|d| {
            let (client, cref, registry) = (&client, &cref, &registry);
            async move {
                let bd = Digest::parse(&d.digest)?;
                retry(attempts, &format!("push blob {bd}"), || {
                    self.push_blob(client, cref, &bd, registry)
                })
                .await
            }
        });
        futures_util::stream::iter(jobs)
            .buffer_unordered(opts.registry.max_concurrent.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        let raw = self.blobs.read(digest)?;
        let ct = spec::manifest_media_type(&manifest).to_string();
        retry(attempts, "push manifest", || async {
            let hv =
                http::HeaderValue::from_str(&ct).map_err(|e| Error::invalid("media type", e))?;
            client
                .push_manifest_raw(&cref, raw.clone(), hv)
                .await
                .map_err(|e| map_err(&registry, e))
        })
        .await?;
        Ok(digest.to_string())
    }

    /// Uploads blob `d` unless the registry has it, streaming the file.
    async fn push_blob(
        &self,
        client: &Client,
        cref: &Reference,
        d: &Digest,
        registry: &str,
    ) -> Result<()> {
        if client
            .blob_exists(cref, d.as_str())
            .await
            .map_err(|e| map_err(registry, e))?
        {
            return Ok(());
        }
        let path = self.blobs.path(d);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| Error::io("open blob", &path, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::io("stat blob", &path, e))?
            .len();
        let body = futures_util::stream::try_unfold(file, |mut f| async move {
            let mut buf = bytes::BytesMut::with_capacity(CHUNK);
            while buf.len() < CHUNK {
                let n = f
                    .read_buf(&mut buf)
                    .await
                    .map_err(|e| OciDistributionError::GenericError(Some(e.to_string())))?;
                if n == 0 {
                    break;
                }
            }
            Ok(if buf.is_empty() {
                None
            } else {
                Some((buf.freeze(), f))
            })
        });
        client
            .push_blob_stream(cref, body, d.as_str(), Some(size))
            .await
            .map_err(|e| map_err(registry, e))?;
        Ok(())
    }
}
