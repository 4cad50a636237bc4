//! `cv ps -s`: docker's SIZE column, "WRITABLE (virtual TOTAL)": the
//! bytes in the container's own writable layer, and those plus its
//! image's.

use containerv_engine::store::Entry;
use containerv_engine::Engine;
use serde_json::Value;

use super::super::Context;
use crate::output::human_size;

pub fn add_sizes(ctx: &Context, e: &Engine, list: &[Entry], rows: &mut [Value]) {
    let images = ctx.images().ok();
    for (r, x) in rows.iter_mut().zip(list) {
        // With --storage-opt size: the kernel's count of its project.
        let rw = containerv_engine::storage_opt::usage(&x.config, &e.store.dir(&x.config.id));
        let image = images
            .as_ref()
            .and_then(|s| s.inspect(&x.config.image).ok())
            .map(|d| d.size)
            .unwrap_or(0);
        r["Size"] = format!("{} (virtual {})", human_size(rw), human_size(rw + image)).into();
    }
}
