//! `cv system df [-v] [--format json]`: docker's summary (Images,
//! Containers, Local Volumes, Build Cache: TOTAL, ACTIVE, SIZE,
//! RECLAIMABLE) and, with `-v`, one table per kind of object. An image
//! or volume a container uses is active and not reclaimable; a
//! container's size is its writable layer, reclaimable when it is not
//! running. A volume with a size (`--opt size=`) shows its LIMIT (a column
//! docker has not) and the kernel's count of its project as its SIZE.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::image::format::{now, short_id, since};
use super::Context;
use crate::output::{human_size, is_json, table};

fn pct(part: u64, whole: u64) -> String {
    match (part * 100).checked_div(whole) {
        None => "0B".into(),
        Some(p) => format!("{} ({p}%)", human_size(part)),
    }
}

pub fn df(ctx: &Context, verbose: bool, format: Option<String>) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let store = ctx.images()?;
    let entries = e.store.list()?;
    let images = store.list()?;
    // Images: one per id; in use when a container's image id is it.
    let used_ids: BTreeSet<String> = entries.iter().map(|x| x.config.image_id.clone()).collect();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for r in &images {
        sizes.insert(r.id.clone(), r.size);
    }
    let img_total: u64 = sizes.values().sum();
    let img_active = sizes.keys().filter(|id| used_ids.contains(*id)).count();
    let img_reclaim: u64 = sizes
        .iter()
        .filter(|(id, _)| !used_ids.contains(*id))
        .map(|(_, s)| s)
        .sum();
    // Containers: their writable layers.
    let mut ctr_rows = Vec::new();
    let (mut ctr_total, mut ctr_reclaim, mut ctr_active) = (0u64, 0u64, 0usize);
    for x in &entries {
        let size = containerv_engine::storage_opt::usage(&x.config, &e.store.dir(&x.config.id));
        let st = x.state.observed();
        ctr_total += size;
        if st.status.is_active() {
            ctr_active += 1;
        } else {
            ctr_reclaim += size;
        }
        ctr_rows.push((x, size, st));
    }
    // Volumes: in use when a container mounts them.
    let vols = e.volumes()?.list()?;
    let links = |name: &str| {
        entries
            .iter()
            .filter(|x| x.config.volumes.iter().any(|v| v.name == name))
            .count()
    };
    let vol_dir = e.volumes()?;
    let mut vol_rows = Vec::new();
    let (mut vol_total, mut vol_reclaim, mut vol_active) = (0u64, 0u64, 0usize);
    for v in &vols {
        let data = vol_dir.data_dir(&v.name);
        // A volume with a size: the kernel's own count of its project.
        let size = containerv::linux::quota::usage(&data)
            .unwrap_or_else(|| containerv_engine::volumes::disk_usage(&data));
        let limit = containerv_engine::volumes::options::VolumeOptions::parse(&v.options)
            .ok()
            .and_then(|o| o.size);
        let n = links(&v.name);
        vol_total += size;
        if n > 0 {
            vol_active += 1;
        } else {
            vol_reclaim += size;
        }
        vol_rows.push((v.name.clone(), n, size, limit));
    }
    let summary = [
        ("Images", sizes.len(), img_active, img_total, img_reclaim),
        (
            "Containers",
            entries.len(),
            ctr_active,
            ctr_total,
            ctr_reclaim,
        ),
        (
            "Local Volumes",
            vols.len(),
            vol_active,
            vol_total,
            vol_reclaim,
        ),
        ("Build Cache", 0, 0, 0, 0),
    ];
    if is_json(&format) {
        for (t, n, a, s, r) in summary {
            let v = json!({"Type": t, "TotalCount": n.to_string(), "Active": a.to_string(),
                           "Size": human_size(s), "Reclaimable": pct(r, s)});
            println!("{}", serde_json::to_string(&v)?);
        }
        return Ok(());
    }
    if !verbose {
        table(
            &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
            &summary
                .iter()
                .map(|(t, n, a, s, r)| {
                    vec![
                        t.to_string(),
                        n.to_string(),
                        a.to_string(),
                        human_size(*s),
                        pct(*r, *s),
                    ]
                })
                .collect::<Vec<_>>(),
        );
        return Ok(());
    }
    let now = now();
    println!("Images space usage:\n");
    table(
        &[
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "CONTAINERS",
        ],
        &images
            .iter()
            .map(|r| {
                let n = entries.iter().filter(|x| x.config.image_id == r.id).count();
                vec![
                    r.repository.clone(),
                    r.tag.clone(),
                    short_id(&r.id),
                    since(&r.created, now),
                    human_size(r.size),
                    n.to_string(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!("\nContainers space usage:\n");
    table(
        &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "LOCAL VOLUMES",
            "SIZE",
            "STATUS",
            "NAMES",
        ],
        &ctr_rows
            .iter()
            .map(|(x, size, st)| {
                vec![
                    x.config.id[..12].to_string(),
                    x.config.image.clone(),
                    format!("\"{}\"", x.config.command.join(" ")),
                    x.config.volumes.len().to_string(),
                    human_size(*size),
                    st.describe(chrono::Utc::now()),
                    x.config.name.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!("\nLocal Volumes space usage:\n");
    table(
        &["VOLUME NAME", "LINKS", "SIZE", "LIMIT"],
        &vol_rows
            .iter()
            .map(|(n, l, s, lim)| {
                vec![
                    n.clone(),
                    l.to_string(),
                    human_size(*s),
                    lim.map(human_size).unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!("\nBuild cache usage: 0B");
    Ok(())
}
