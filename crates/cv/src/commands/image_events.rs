//! docker's image events for the image commands (`events::image` has the
//! shape), as moby logs them: `pull`/`push` with the reference (familiar,
//! `busybox:latest`) as id and name; `tag` with the image id and the new
//! reference as name; `untag` and `delete` (per `Untagged:`/`Deleted:`
//! line of `rmi`), `save`, `load` with the image id as both; `image
//! prune` says `delete` per image then `prune` with no actor and
//! `reclaimed` (not the `untag` per name that docker's prune also says).
//! Attributes carry the image's labels.
//!
//! They go to the events of the engine the command names (`--root`), and
//! only when that engine exists: an image command never makes an engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use containerv_image::reference::display_parts;
use containerv_image::ImageStore;

use super::Context;

pub struct ImageEvents {
    root: Option<PathBuf>,
}

/// `docker.io/library/busybox:latest` → `busybox:latest`.
pub fn familiar(key: &str) -> String {
    let (repo, tag) = display_parts(key);
    if tag.contains(':') {
        format!("{repo}@{tag}")
    } else {
        format!("{repo}:{tag}")
    }
}

impl ImageEvents {
    pub fn new(ctx: &Context) -> ImageEvents {
        let root = ctx
            .config()
            .ok()
            .map(|c| ctx.engine_root_in(&c))
            .filter(|r| r.is_dir());
        ImageEvents { root }
    }

    /// The id (`sha256:` of the config) and labels of image `what`.
    pub fn id_of(store: &ImageStore, what: &str) -> Option<(String, BTreeMap<String, String>)> {
        let d = store.inspect(what).ok()?;
        Some((d.id, d.config.labels.unwrap_or_default()))
    }

    fn emit(&self, action: &str, id: &str, name: &str, labels: &BTreeMap<String, String>) {
        if let Some(root) = &self.root {
            containerv_engine::events::image(root, action, id, name, labels);
        }
    }

    /// `pull`/`push` of `reference` (its labels read from `store`).
    pub fn by_ref(&self, store: &ImageStore, action: &str, reference: &str) {
        if self.root.is_none() {
            return;
        }
        let name = familiar(reference);
        let labels = Self::id_of(store, reference)
            .map(|x| x.1)
            .unwrap_or_default();
        self.emit(action, &name, &name, &labels);
    }

    /// `tag`: the image id, the new reference as name.
    pub fn tagged(&self, store: &ImageStore, target: &str) {
        if let Some((id, labels)) = self.root.as_ref().and_then(|_| Self::id_of(store, target)) {
            let key = containerv_image::ImageRef::parse(target)
                .map(|r| r.key())
                .unwrap_or_else(|_| target.to_string());
            self.emit("tag", &id, &familiar(&key), &labels);
        }
    }

    /// An event with the image id as id and name.
    pub fn by_id(&self, action: &str, id: &str, labels: &BTreeMap<String, String>) {
        self.emit(action, id, id, labels);
    }

    /// `image prune`: each image deleted (`delete`; its names' `untag`
    /// events, which docker says too, are not known here), then `prune`
    /// with no actor and the bytes reclaimed.
    pub fn pruned(&self, r: &containerv_image::PruneReport) {
        for id in &r.images_deleted {
            self.by_id("delete", id, &BTreeMap::new());
        }
        let reclaimed = r.reclaimed;
        if let Some(root) = &self.root {
            let a = BTreeMap::from([("reclaimed".to_string(), reclaimed.to_string())]);
            let mut e = containerv_engine::events::Event::new("image", "prune", "", a);
            e.status = Some("prune".into());
            let _ = containerv_engine::events::emit(root, &e);
        }
    }
}
