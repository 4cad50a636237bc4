//! The store's public face: [`ImageStore`] opens a store root and answers
//! the questions the CLI and the engine ask about local images: list,
//! inspect, tag, remove, and for running a container the unpacked layer
//! directories ([`ImageStore::rootfs_layers`]) and the run config
//! ([`ImageStore::run_config`]). Pull/push, archives and GC add their own
//! `impl ImageStore` blocks in their modules.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::{display_parts, ImageRef};
use crate::spec::{Document, ImageConfigFile, Manifest, RunConfig};
use crate::store::blobs::BlobStore;
use crate::store::layers::LayerStore;
use crate::store::lock::StoreLock;
use crate::store::meta::{ImageRecord, Meta, MetaStore};
use crate::unpack::UnpackLimits;

/// Where images live unless told otherwise (`$CONTAINERV_IMAGE_ROOT`
/// overrides it).
pub const DEFAULT_ROOT: &str = "/var/lib/containerv/images";

/// A content store root and everything in it.
#[derive(Clone, Debug)]
pub struct ImageStore {
    pub(crate) root: PathBuf,
    pub(crate) blobs: BlobStore,
    pub(crate) layers: LayerStore,
    pub(crate) meta: MetaStore,
    pub(crate) limits: UnpackLimits,
}

/// One row of `cv images`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImageSummary {
    /// Short repository (`busybox`, `127.0.0.1:5000/app`) or `<none>`.
    pub repository: String,
    /// Tag, or `<none>`.
    pub tag: String,
    /// Config digest (docker's image id).
    pub id: String,
    /// Manifest digest.
    pub digest: String,
    /// Image creation time from its config.
    pub created: String,
    /// Sum of the compressed layer and config sizes.
    pub size: u64,
}

/// `cv image inspect`.
#[derive(Clone, Debug, Serialize)]
pub struct ImageDetails {
    pub id: String,
    pub digest: String,
    pub repo_tags: Vec<String>,
    pub media_type: String,
    /// Size of the manifest blob.
    pub manifest_size: u64,
    pub created: String,
    pub architecture: String,
    pub os: String,
    pub size: u64,
    pub config: RunConfig,
    pub layers: Vec<String>,
    pub diff_ids: Vec<String>,
}

impl ImageStore {
    /// Opens (creating) a store at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io("create store root", &root, e))?;
        Ok(ImageStore {
            blobs: BlobStore::open(&root)?,
            layers: LayerStore::open(&root)?,
            meta: MetaStore::open(&root),
            limits: UnpackLimits::default(),
            root,
        })
    }

    /// The default root: `$CONTAINERV_IMAGE_ROOT` or [`DEFAULT_ROOT`].
    pub fn default_root() -> PathBuf {
        std::env::var_os("CONTAINERV_IMAGE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT))
    }

    /// Sets the bounds applied when unpacking layers.
    pub fn set_unpack_limits(&mut self, limits: UnpackLimits) {
        self.limits = limits;
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn layer_store(&self) -> &LayerStore {
        &self.layers
    }

    /// Takes the GC lock shared: held by anything that writes blobs.
    pub(crate) fn writer_lock(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.root.join("gc.lock"), false)
    }

    /// Takes the GC lock exclusive.
    pub(crate) fn gc_lock(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.root.join("gc.lock"), true)
    }

    /// The reference index as it is now.
    pub fn meta(&self) -> Result<Meta> {
        self.meta.load()
    }

    /// Finds an image by reference (`busybox`, `repo:tag`, `repo@digest`),
    /// by manifest digest, or by (a prefix of at least 4 hex digits of)
    /// its id. Returns the manifest digest.
    pub fn resolve(&self, what: &str) -> Result<Digest> {
        let meta = self.meta.load()?;
        resolve_in(&meta, what)
    }

    /// The manifest of a stored image.
    pub fn manifest(&self, manifest: &Digest) -> Result<Manifest> {
        let raw = self.blobs.read(manifest)?;
        match Document::parse(&raw, "", &format!("manifest {manifest}"))? {
            Document::Manifest(m) => Ok(m),
            Document::Index(_) => Err(Error::invalid(
                format!("manifest {manifest}"),
                "is an index",
            )),
        }
    }

    /// The config of a stored image.
    pub fn config(&self, manifest: &Manifest) -> Result<ImageConfigFile> {
        let d = Digest::parse(&manifest.config.digest)?;
        let raw = self.blobs.read(&d)?;
        serde_json::from_slice(&raw).map_err(|e| Error::invalid(format!("config {d}"), e))
    }

    /// Every image, one row per tag (and one `<none>` row per untagged
    /// image), newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let meta = self.meta.load()?;
        let mut out = Vec::new();
        for (digest, rec) in &meta.images {
            let (created, size) = self.created_and_size(digest);
            let mut row = ImageSummary {
                repository: "<none>".into(),
                tag: "<none>".into(),
                id: rec.config.clone(),
                digest: digest.clone(),
                created,
                size,
            };
            let refs = meta.refs_of(digest);
            if refs.is_empty() {
                out.push(row.clone());
            }
            for r in refs {
                let (repo, tag) = display_parts(&r);
                row.repository = repo;
                row.tag = if tag.starts_with("sha256:") {
                    "<none>".into()
                } else {
                    tag
                };
                out.push(row.clone());
            }
        }
        out.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then(a.repository.cmp(&b.repository))
        });
        Ok(out)
    }

    fn created_and_size(&self, digest: &str) -> (String, u64) {
        let Ok(d) = Digest::parse(digest) else {
            return (String::new(), 0);
        };
        let Ok(m) = self.manifest(&d) else {
            return (String::new(), 0);
        };
        let created = self
            .config(&m)
            .ok()
            .and_then(|c| c.created)
            .unwrap_or_default();
        let size = m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>();
        (created, size)
    }

    /// `cv image inspect`.
    pub fn inspect(&self, what: &str) -> Result<ImageDetails> {
        let meta = self.meta.load()?;
        let digest = resolve_in(&meta, what)?;
        let rec = &meta.images[digest.as_str()];
        let m = self.manifest(&digest)?;
        let c = self.config(&m)?;
        Ok(ImageDetails {
            id: rec.config.clone(),
            digest: digest.to_string(),
            repo_tags: meta.refs_of(digest.as_str()),
            media_type: rec.media_type.clone(),
            manifest_size: self.blobs.size(&digest).unwrap_or(0),
            created: c.created.clone().unwrap_or_default(),
            architecture: c.architecture.clone(),
            os: c.os.clone(),
            size: m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>(),
            config: c.config.clone().unwrap_or_default(),
            layers: m.layers.iter().map(|l| l.digest.clone()).collect(),
            diff_ids: c.rootfs.diff_ids.clone(),
        })
    }

    /// `cv tag SOURCE TARGET`.
    pub fn tag(&self, source: &str, target: &str) -> Result<()> {
        let t = ImageRef::parse(target)?;
        if t.digest().is_some() && t.tag().is_none() {
            return Err(Error::InvalidReference {
                reference: target.into(),
                reason: "a tag target cannot be a digest".into(),
            });
        }
        self.meta.update(|m| {
            let d = resolve_in(m, source)?;
            m.refs.insert(t.key(), d.to_string());
            if let Some(rec) = m.images.get_mut(d.as_str()) {
                rec.repository = t.repository();
            }
            Ok(())
        })
    }

    /// `cv rmi`: removes a reference; the image goes too when no reference
    /// is left (or at once, for an id, with `force`). Blobs and layers are
    /// left to GC. Returns what was untagged and deleted, docker style.
    pub fn remove(&self, what: &str, force: bool) -> Result<Vec<String>> {
        self.meta.update(|m| {
            let digest = resolve_in(m, what)?;
            let mut out = Vec::new();
            let by_ref = ImageRef::parse(what)
                .ok()
                .map(|r| r.key())
                .filter(|k| m.refs.contains_key(k));
            let refs = m.refs_of(digest.as_str());
            match by_ref {
                Some(k) => {
                    m.refs.remove(&k);
                    out.push(format!("Untagged: {k}"));
                }
                None if refs.len() > 1 && !force => {
                    return Err(Error::InUse {
                        image: what.into(),
                        reason: format!(
                            "it is referenced by {} names ({}): remove them by name, or force",
                            refs.len(),
                            refs.join(", ")
                        ),
                    })
                }
                None => {
                    for r in refs {
                        m.refs.remove(&r);
                        out.push(format!("Untagged: {r}"));
                    }
                }
            }
            if m.refs_of(digest.as_str()).is_empty() {
                let holders = m.holders_of(digest.as_str());
                if !holders.is_empty() && !force {
                    return Err(Error::InUse {
                        image: what.into(),
                        reason: format!(
                            "container {} uses it: remove the container first, or force \
                             (the image is then untagged and kept while it is used)",
                            holders.join(", ")
                        ),
                    });
                }
                if holders.is_empty() {
                    if let Some(rec) = m.images.remove(digest.as_str()) {
                        out.push(format!("Deleted: {}", rec.config));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Marks image `image` as used by `holder` (a container id) and
    /// returns its manifest digest: until [`ImageStore::release`], prune
    /// keeps it (and its blobs and layers) and `rmi` refuses it unless
    /// forced. The engine holds an image from container create to remove.
    pub fn hold(&self, image: &str, holder: &str) -> Result<Digest> {
        check_holder(holder)?;
        self.meta.update(|m| {
            let d = resolve_in(m, image)?;
            m.holds.insert(holder.to_string(), d.to_string());
            Ok(d)
        })
    }

    /// [`ImageStore::hold`] for this boot only, without fsync (see
    /// `store/meta.rs`): for a holder that cannot outlive the boot (the
    /// engine's `--rm` containers). Until [`ImageStore::release`] or the
    /// next boot, prune keeps the image and `rmi` refuses it.
    pub fn hold_for_boot(&self, image: &str, holder: &str) -> Result<Digest> {
        check_holder(holder)?;
        self.meta.with_locked(|m| {
            let d = resolve_in(m, image)?;
            self.meta.hold_for_boot(holder, d.as_str())?;
            Ok(d)
        })
    }

    /// Drops `holder`'s hold, durable or for this boot (missing is fine).
    pub fn release(&self, holder: &str) -> Result<()> {
        if !holder.is_empty() && !holder.contains('/') && !holder.starts_with('.') {
            self.meta.release_boot_hold(holder)?;
        }
        if !self.meta.load()?.holds.contains_key(holder) {
            return Ok(());
        }
        self.meta.update(|m| {
            m.holds.remove(holder);
            Ok(())
        })
    }

    /// The unpacked layer directories of an image, topmost first: the
    /// `lower` dirs for its container's overlayfs. Layers not unpacked yet
    /// (e.g. after `load`) are unpacked now.
    pub fn rootfs_layers(&self, image: &str) -> Result<Vec<PathBuf>> {
        let _lock = self.writer_lock()?;
        let digest = self.resolve(image)?;
        let m = self.manifest(&digest)?;
        let c = self.config(&m)?;
        if c.rootfs.diff_ids.len() != m.layers.len() {
            return Err(Error::invalid(
                format!("image {image}"),
                format!(
                    "config lists {} diff_ids for {} layers",
                    c.rootfs.diff_ids.len(),
                    m.layers.len()
                ),
            ));
        }
        let mut out = Vec::new();
        for (l, diff) in m.layers.iter().zip(&c.rootfs.diff_ids) {
            let blob = Digest::parse(&l.digest)?;
            let diff = Digest::parse(diff)?;
            if !self.layers.contains(&diff) && !self.blobs.contains(&blob) {
                return Err(Error::BlobNotFound(blob.to_string()));
            }
            out.push(
                self.layers
                    .ensure(&self.blobs.path(&blob), &diff, &self.limits)?,
            );
        }
        out.reverse();
        Ok(out)
    }

    /// The image's run config (Entrypoint, Cmd, Env, WorkingDir, User…).
    pub fn run_config(&self, image: &str) -> Result<RunConfig> {
        let digest = self.resolve(image)?;
        let m = self.manifest(&digest)?;
        Ok(self.config(&m)?.config.unwrap_or_default())
    }

    /// Records image `manifest` under reference key `key` (if any).
    pub(crate) fn record(
        &self,
        manifest: &Digest,
        media_type: &str,
        config: &Digest,
        key: Option<&ImageRef>,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.meta.update(|m| {
            let rec = m
                .images
                .entry(manifest.to_string())
                .or_insert_with(|| ImageRecord {
                    media_type: media_type.to_string(),
                    config: config.to_string(),
                    repository: String::new(),
                    added: now,
                });
            if let Some(r) = key {
                rec.repository = r.repository();
                m.refs.insert(r.key(), manifest.to_string());
            }
            Ok(())
        })
    }
}

/// Resolves `what` against an index snapshot (see [`ImageStore::resolve`]).
pub(crate) fn resolve_in(meta: &Meta, what: &str) -> Result<Digest> {
    // An exact manifest digest needs no reference parsing (whose regex
    // costs ~0.1 s to build in every process).
    if meta.images.contains_key(what) {
        return Digest::parse(what);
    }
    if let Ok(r) = ImageRef::parse(what) {
        if let Some(d) = meta.refs.get(&r.key()) {
            return Digest::parse(d);
        }
        if let Some(d) = r.digest() {
            if meta.images.contains_key(d) {
                return Digest::parse(d);
            }
        }
    }
    if meta.images.contains_key(what) {
        return Digest::parse(what);
    }
    let hex = what.strip_prefix("sha256:").unwrap_or(what);
    if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hits: Vec<&String> = meta
            .images
            .iter()
            .filter(|(d, rec)| d[7..].starts_with(hex) || rec.config[7..].starts_with(hex))
            .map(|(d, _)| d)
            .collect();
        if hits.len() == 1 {
            return Digest::parse(hits[0]);
        }
    }
    Err(Error::ImageNotFound(what.to_string()))
}

/// The current time as RFC 3339 (UTC, seconds).
pub(crate) fn now_rfc3339() -> String {
    containerv::time::rfc3339(std::time::SystemTime::now(), false)
}

/// A holder name is a file name under `holds/`: letters, digits, `_`,
/// `.` and `-`, not starting with a dot.
fn check_holder(holder: &str) -> Result<()> {
    if holder.is_empty()
        || holder.starts_with('.')
        || !holder
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(Error::invalid(
            format!("holder {holder:?}"),
            "expected letters, digits, '_', '.' or '-' (not first)",
        ));
    }
    Ok(())
}
