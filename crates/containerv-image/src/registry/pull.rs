//! `pull`: manifest (choosing the platform from an index), config, then
//! the missing layers several at once, each streamed into the content
//! store (verified as written) and unpacked into its own directory as soon
//! as it is complete. The reference is recorded last, so a pull killed
//! half way leaves complete blobs (reused next time) and no reference.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::BlobResponse;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Serialize;

use super::auth::Credentials;
use super::client::{make_client, map_err, retry, runtime, RegistryOptions};
use super::progress::{Progress, ProgressMode};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageStore;
use crate::reference::ImageRef;
use crate::spec::{
    self, choose_platform, host_platform, platform_string, Descriptor, Document, Platform,
};
use crate::store::blobs::BlobWriter;

/// How to pull.
#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    pub credentials: Credentials,
    /// Platform to pick from an index (default: this host's, linux/amd64).
    pub platform: Option<Platform>,
    pub registry: RegistryOptions,
    pub progress: ProgressMode,
    /// Skip unpacking layers (they are unpacked on first use).
    pub no_unpack: bool,
}

/// What a pull did.
#[derive(Clone, Debug, Serialize)]
pub struct PullReport {
    /// The reference key recorded (`registry/repo:tag`).
    pub reference: String,
    /// Digest of the platform manifest stored.
    pub digest: String,
    /// Digest of the index the manifest was chosen from, if any.
    pub index_digest: Option<String>,
    /// Config digest (image id).
    pub id: String,
    pub layers: usize,
    pub layers_downloaded: usize,
    pub bytes_downloaded: u64,
}

impl ImageStore {
    /// Pulls `reference` from its registry (blocking).
    pub fn pull(&self, reference: &str, opts: &PullOptions) -> Result<PullReport> {
        let r = ImageRef::parse(reference)?;
        runtime()?.block_on(self.pull_async(&r, opts))
    }

    /// Pulls `reference` (async).
    pub async fn pull_async(&self, r: &ImageRef, opts: &PullOptions) -> Result<PullReport> {
        let _lock = self.writer_lock()?;
        let registry = r.registry().to_string();
        let client = make_client(&registry, &opts.registry);
        let auth = opts.credentials.resolve(&registry);
        let cref = r.client_ref().clone();
        let attempts = opts.registry.attempts;

        let (raw, digest) = fetch_manifest(&client, &cref, &auth, attempts, &registry).await?;
        if let Some(want) = r.digest() {
            if digest.as_str() != want {
                return Err(Error::DigestMismatch {
                    what: format!("manifest of {r}"),
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        let (manifest_raw, manifest_digest, index_digest) =
            match Document::parse(&raw, "", &format!("manifest of {r}"))? {
                Document::Manifest(_) => (raw, digest, None),
                Document::Index(idx) => {
                    let want = opts.platform.clone().unwrap_or_else(host_platform);
                    let d =
                        choose_platform(&idx, &want).ok_or_else(|| Error::NoMatchingPlatform {
                            reference: r.to_string(),
                            platform: platform_string(&want),
                            available: idx
                                .manifests
                                .iter()
                                .filter_map(|m| m.platform.as_ref().map(platform_string))
                                .collect::<Vec<_>>()
                                .join(", "),
                        })?;
                    let md = Digest::parse(&d.digest)?;
                    self.blobs.put(&raw, Some(&digest))?;
                    let by_digest = Reference::with_digest(
                        registry.clone(),
                        cref.repository().to_string(),
                        md.to_string(),
                    );
                    let (mraw, got) =
                        fetch_manifest(&client, &by_digest, &auth, attempts, &registry).await?;
                    if got != md {
                        return Err(Error::DigestMismatch {
                            what: format!("manifest {md} of {r}"),
                            expected: md.to_string(),
                            actual: got.to_string(),
                        });
                    }
                    (mraw, md, Some(digest))
                }
            };
        let manifest =
            match Document::parse(&manifest_raw, "", &format!("manifest {manifest_digest}"))? {
                Document::Manifest(m) => m,
                Document::Index(_) => {
                    return Err(Error::invalid(
                        format!("manifest {manifest_digest}"),
                        "nested index",
                    ))
                }
            };
        let media_type = spec::manifest_media_type(&manifest).to_string();

        // Config.
        let config_digest = Digest::parse(&manifest.config.digest)?;
        if !self.blobs.contains(&config_digest) {
            let data = retry(attempts, "config", || async {
                let mut buf = Vec::new();
                client
                    .pull_blob(&cref, &oci_desc(&manifest.config), &mut buf)
                    .await
                    .map_err(|e| map_err(&registry, e))?;
                Ok(buf)
            })
            .await?;
            self.blobs.put(&data, Some(&config_digest))?;
        }
        let config = self.config(&manifest)?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(Error::invalid(
                format!("image {r}"),
                format!(
                    "config has {} diff_ids for {} layers",
                    config.rootfs.diff_ids.len(),
                    manifest.layers.len()
                ),
            ));
        }

        // Layers, several at once; each unpacked as soon as it is stored.
        let progress = Progress::new(opts.progress);
        let downloaded = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let jobs = manifest
            .layers
            .iter()
            .zip(&config.rootfs.diff_ids)
            .map(|(l, diff)| {
                let (client, cref, registry) = (&client, &cref, &registry);
                let (downloaded, bytes, progress) = (downloaded.clone(), bytes.clone(), &progress);
                async move {
                    let blob = Digest::parse(&l.digest)?;
                    let diff = Digest::parse(diff)?;
                    let bar = progress.bar(blob.short(), l.size);
                    if !self.blobs.contains(&blob) && !self.layers.contains(&diff) {
                        // One ingest file across attempts: a retry asks for
                        // the rest of the blob with a Range request.
                        let partial = tokio::sync::Mutex::new(None);
                        let n = retry(attempts, &format!("layer {blob}"), || {
                            self.download(client, cref, l, &blob, registry, &bar, &partial)
                        })
                        .await?;
                        downloaded.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(n, Ordering::Relaxed);
                    }
                    if !opts.no_unpack && !self.layers.contains(&diff) {
                        bar.set_message("unpacking");
                        let (store, path, limits) = (
                            self.layers.clone(),
                            self.blobs.path(&blob),
                            self.limits.clone(),
                        );
                        tokio::task::spawn_blocking(move || store.ensure(&path, &diff, &limits))
                            .await
                            .map_err(|e| Error::invalid("unpack task", e))??;
                    }
                    bar.finish_with_message("done");
                    Ok::<(), Error>(())
                }
            });
        futures_util::stream::iter(jobs)
            .buffer_unordered(opts.registry.max_concurrent.max(1))
            .try_collect::<Vec<()>>()
            .await?;

        self.blobs.put(&manifest_raw, Some(&manifest_digest))?;
        self.record(&manifest_digest, &media_type, &config_digest, Some(r))?;
        Ok(PullReport {
            reference: r.key(),
            digest: manifest_digest.to_string(),
            index_digest: index_digest.map(|d| d.to_string()),
            id: config_digest.to_string(),
            layers: manifest.layers.len(),
            layers_downloaded: downloaded.load(Ordering::Relaxed),
            bytes_downloaded: bytes.load(Ordering::Relaxed),
        })
    }

    /// Streams one blob into the store; returns its size. `partial` holds
    /// what earlier attempts wrote: this attempt asks for the bytes after
    /// it (HTTP Range) and appends them, or starts over when the registry
    /// sends the whole blob instead (or the partial file cannot be right:
    /// as long as the blob, or failing its digest, which drops it).
    #[allow(clippy::too_many_arguments)]
    async fn download(
        &self,
        client: &Client,
        cref: &Reference,
        l: &Descriptor,
        blob: &Digest,
        registry: &str,
        bar: &indicatif::ProgressBar,
        partial: &tokio::sync::Mutex<Option<BlobWriter>>,
    ) -> Result<u64> {
        let mut slot = partial.lock().await;
        if slot.as_ref().is_some_and(|w| w.written() >= l.size) {
            *slot = None;
        }
        let offset = slot.as_ref().map_or(0, |w| w.written());
        let reading = |e| map_err(registry, e);
        let mut stream = if offset == 0 {
            client
                .pull_blob_stream(cref, &oci_desc(l))
                .await
                .map_err(reading)?
        } else {
            match client
                .pull_blob_stream_partial(cref, &oci_desc(l), offset, None)
                .await
                .map_err(reading)?
            {
                BlobResponse::Partial(s) => {
                    tracing::info!("blob {blob}: resuming at byte {offset} of {}", l.size);
                    s
                }
                BlobResponse::Full(s) => {
                    if let Some(w) = slot.as_mut() {
                        w.restart()?;
                    }
                    s
                }
            }
        };
        let w = match slot.as_mut() {
            Some(w) => w,
            None => slot.insert(self.blobs.writer(blob)?),
        };
        bar.set_position(w.written());
        while let Some(chunk) = stream.stream.next().await {
            let chunk = chunk.map_err(|e| Error::Registry {
                registry: registry.to_string(),
                reason: format!("reading blob {blob}: {e}"),
            })?;
            w.write_all(&chunk)
                .map_err(|e| Error::io("write blob", self.blobs.ingest_dir(), e))?;
            bar.inc(chunk.len() as u64);
        }
        let w = slot.take().expect("writer present");
        tokio::task::block_in_place(|| w.commit())
    }
}

/// Fetches a manifest with the full Accept list; returns its bytes and
/// the digest of those bytes.
async fn fetch_manifest(
    client: &Client,
    r: &Reference,
    auth: &RegistryAuth,
    attempts: u32,
    registry: &str,
) -> Result<(Vec<u8>, Digest)> {
    retry(attempts, &format!("manifest {r}"), || async {
        let (raw, _) = client
            .pull_manifest_raw(r, auth, spec::ACCEPT)
            .await
            .map_err(|e| map_err(registry, e))?;
        let d = Digest::of(&raw);
        Ok((raw.to_vec(), d))
    })
    .await
}

pub(crate) fn oci_desc(d: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size as i64,
        ..Default::default()
    }
}
