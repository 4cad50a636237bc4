//! `cv system prune [-a] [--volumes] [-f]`: docker's order and report:
//! stopped containers (releasing their images), unused networks, then
//! dangling images (`-a`: every image no container uses) and, with
//! `--volumes`, unused anonymous volumes (`-a`: named ones too).
//! `cv system reset`: every container, then every network (the default
//! bridge too: it is kept between containers, as docker0).

use super::Context;
use crate::output::human_size;

pub fn prune(ctx: &Context, all: bool, volumes: bool) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let containers = e.prune()?;
    if !containers.is_empty() {
        println!("Deleted Containers:");
        containers.iter().for_each(|c| println!("{c}"));
        println!();
    }
    let networks = containerv_engine::network::ops::prune(e.store.root())?;
    if !networks.is_empty() {
        println!("Deleted Networks:");
        networks.iter().for_each(|n| println!("{n}"));
        println!();
    }
    let mut reclaimed = 0;
    if volumes {
        let r = e.volume_prune(all)?;
        if !r.removed.is_empty() {
            println!("Deleted Volumes:");
            r.removed.iter().for_each(|n| println!("{n}"));
            println!();
        }
        reclaimed += r.reclaimed;
    }
    let r = ctx.images()?.prune(all, &|_| false)?;
    super::image_events::ImageEvents::new(ctx).pruned(&r);
    if !r.images_deleted.is_empty() {
        println!("Deleted Images:");
        r.images_deleted
            .iter()
            .for_each(|i| println!("deleted: {i}"));
        println!();
    }
    reclaimed += r.reclaimed;
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}

pub fn reset(ctx: &Context) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    for c in e.store.list()? {
        e.remove(&c.config.id, true)?;
    }
    containerv_engine::network::ops::reset(e.store.root())?;
    Ok(())
}
