//! Garbage collection and disk usage. `prune` removes dangling images
//! (no reference left; with `all`, every image) that no container holds
//! ([`ImageStore::hold`]) and the caller's `in_use` does not claim, then
//! every blob and unpacked layer no remaining image references, and
//! leftovers of interrupted writes. It holds the GC lock
//! exclusive, so it waits for running pulls (which hold it shared) and a
//! pull that starts meanwhile waits for it: a blob just written by a pull
//! is never collected before its reference is recorded.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::Result;
use crate::image::ImageStore;
use crate::spec::{Document, Manifest};
use crate::store::layers::disk_usage;

/// What a prune removed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    /// Image ids (config digests) deleted.
    pub images_deleted: Vec<String>,
    pub blobs_deleted: usize,
    pub layers_deleted: usize,
    /// Bytes freed ("Total reclaimed space").
    pub reclaimed: u64,
}

/// `cv system df`-like figures for images.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiskUsage {
    pub images: usize,
    pub blobs: usize,
    pub blob_bytes: u64,
    pub layers: usize,
    pub layer_bytes: u64,
    /// What a `prune -a` with nothing in use would free.
    pub reclaimable: u64,
}

impl ImageStore {
    /// Removes dangling (or, with `all`, unused) images and everything
    /// only they referenced. `in_use(manifest_digest)` says whether a
    /// container uses an image (the engine provides it).
    pub fn prune(&self, all: bool, in_use: &dyn Fn(&str) -> bool) -> Result<PruneReport> {
        let _lock = self.gc_lock()?;
        let mut report = PruneReport::default();
        self.meta.update(|m| {
            self.meta.drop_stale_boot_holds();
            let doomed: Vec<String> = m
                .images
                .keys()
                .filter(|d| {
                    !in_use(d) && m.holders_of(d).is_empty() && (all || m.refs_of(d).is_empty())
                })
                .cloned()
                .collect();
            for d in doomed {
                for r in m.refs_of(&d) {
                    m.refs.remove(&r);
                }
                if let Some(rec) = m.images.remove(&d) {
                    report.images_deleted.push(rec.config);
                }
            }
            Ok(())
        })?;
        let (blobs, diffs) = self.referenced()?;
        for (d, size) in self.blobs.list()? {
            if !blobs.contains(&d) {
                self.blobs.remove(&d)?;
                report.blobs_deleted += 1;
                report.reclaimed += size;
            }
        }
        for d in self.layers.list()? {
            if !diffs.contains(&d) {
                report.reclaimed += disk_usage(&self.layers.path(&d));
                self.layers.remove(&d)?;
                report.layers_deleted += 1;
            }
        }
        // Leftovers of writers killed half way (none runs: we hold the lock).
        for dir in [self.blobs.ingest_dir(), self.layers.tmp_dir()] {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    report.reclaimed += disk_usage(&e.path());
                    let p = e.path();
                    let _ = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
        }
        Ok(report)
    }

    /// Blobs and diff-ids referenced by the images in the index (manifest,
    /// indexes they came from are not kept, config, layers).
    fn referenced(&self) -> Result<(BTreeSet<Digest>, BTreeSet<Digest>)> {
        let meta = self.meta.load()?;
        let mut blobs = BTreeSet::new();
        let mut diffs = BTreeSet::new();
        for d in meta.images.keys() {
            let d = Digest::parse(d)?;
            blobs.insert(d.clone());
            let Ok(raw) = self.blobs.read_unverified(&d) else {
                continue;
            };
            let Ok(Document::Manifest(m)) = Document::parse(&raw, "", "manifest") else {
                continue;
            };
            self.mark(&m, &mut blobs, &mut diffs);
        }
        Ok((blobs, diffs))
    }

    fn mark(&self, m: &Manifest, blobs: &mut BTreeSet<Digest>, diffs: &mut BTreeSet<Digest>) {
        if let Ok(c) = Digest::parse(&m.config.digest) {
            blobs.insert(c);
        }
        for l in &m.layers {
            if let Ok(d) = Digest::parse(&l.digest) {
                blobs.insert(d);
            }
        }
        let config = Digest::parse(&m.config.digest)
            .and_then(|d| self.blobs.read_unverified(&d))
            .ok()
            .and_then(|raw| serde_json::from_slice::<crate::spec::ImageConfigFile>(&raw).ok());
        if let Some(c) = config {
            for d in c.rootfs.diff_ids {
                if let Ok(d) = Digest::parse(&d) {
                    diffs.insert(d);
                }
            }
        }
    }

    /// Disk usage of the store.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let meta = self.meta.load()?;
        let blobs = self.blobs.list()?;
        let layers = self.layers.list()?;
        let blob_bytes: u64 = blobs.iter().map(|(_, s)| s).sum();
        let layer_bytes: u64 = layers
            .iter()
            .map(|d| disk_usage(&self.layers.path(d)))
            .sum();
        Ok(DiskUsage {
            images: meta.images.len(),
            blobs: blobs.len(),
            blob_bytes,
            layers: layers.len(),
            layer_bytes,
            reclaimable: blob_bytes + layer_bytes,
        })
    }
}
