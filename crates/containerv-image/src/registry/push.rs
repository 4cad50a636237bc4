//! `push`: the config and layer blobs the registry lacks (asked with HEAD
//! first), then the manifest under the destination reference.

use oci_client::{Client, Reference, RegistryOperation};

use super::auth::Credentials;
use super::client::{make_client, map_err, retry, runtime, RegistryOptions};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageStore;
use crate::reference::ImageRef;
use crate::spec::{self, Descriptor};

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
        for d in blobs {
            let bd = Digest::parse(&d.digest)?;
            retry(attempts, &format!("push blob {bd}"), || {
                self.push_blob(&client, &cref, &bd, &registry)
            })
            .await?;
        }
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
        let data = tokio::fs::read(self.blobs.path(d))
            .await
            .map_err(|e| Error::io("read blob", self.blobs.path(d), e))?;
        client
            .push_blob(cref, data, d.as_str())
            .await
            .map_err(|e| map_err(registry, e))?;
        Ok(())
    }
}
