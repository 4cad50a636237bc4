//! A replacement monitor for a container whose monitor was killed while
//! its init runs (`cv system check --repair`, `cv system restart-policy`).
//!
//! The init was the dead monitor's child, so no other process can reap it
//! or learn its exit status; what a replacement can do is watch it (a
//! pidfd of any process becomes readable when it exits), keep `stop`/`rm`
//! working through the usual "the monitor records" path, clean up the
//! core container when it ends, and apply the restart policy — after
//! which it is an ordinary monitor again (with logs). The container's
//! output while unwatched is lost: its pipes' read ends died with the
//! first monitor.

use std::time::Duration;

use chrono::Utc;
use containerv::Runtime;

use super::fd::{pidfd_open, poll_readable};
use crate::error::Result;
use crate::record::ContainerState;
use crate::store::Store;

/// The recorded error of an exit no monitor saw.
pub(super) const UNKNOWN_EXIT: &str =
    "exit code unknown: the container's monitor had died; a replacement saw it end";

/// Takes over container `id`: records this process as its monitor.
pub(super) fn take_over(store: &Store, id: &str, me: i32, me_start: u64) -> Result<ContainerState> {
    let (st, _) = store.update_state(id, |s| {
        s.monitor_pid = me;
        s.monitor_start = me_start;
        if s.error.starts_with("the container's monitor died") {
            s.error.clear();
        }
        Ok(())
    })?;
    Ok(st)
}

/// Waits until the init recorded in `st` ends; `None` if the container
/// was removed meanwhile. Returns how long it ran.
pub(super) fn watch(
    store: &Store,
    rt: &Runtime,
    id: &str,
    st: &ContainerState,
) -> Option<Duration> {
    let (pid, start) = (st.pid, st.pid_start);
    let pidfd = pidfd_open(pid).ok();
    // The stats history goes on in the same ring.
    let core = rt.open(id).ok();
    let config = store.load_config(id).ok();
    let mut sampler = match (&core, &config) {
        (Some(_), Some(config)) => super::sampler::Sampler::open(store, config),
        _ => None,
    };
    use std::os::fd::AsRawFd;
    while crate::proc::is_alive(pid, start) {
        let most = Duration::from_millis(200);
        let wait = sampler.as_ref().map_or(most, |s| s.wait().min(most));
        match &pidfd {
            Some(fd) => {
                poll_readable(&[fd.as_raw_fd()], Some(wait));
            }
            None => std::thread::sleep(wait.min(Duration::from_millis(100))),
        }
        if let (Some(s), Some(c), Some(config)) = (sampler.as_mut(), core.as_ref(), &config) {
            if s.tick(c) > 0 {
                crate::events::container(store.root(), config, "oom", &[]);
            }
        }
        if store.load_state(id).is_err() {
            return None;
        }
    }
    // Everything else of the container (without a pid namespace its
    // other processes outlive the init) and its cgroup go now.
    drop(sampler);
    if let Some(c) = core.or_else(|| rt.open(id).ok()) {
        let _ = c.destroy();
    }
    crate::network::release(store.root(), id);
    crate::volumes::driver::release(store, id);
    if let Some(config) = &config {
        crate::volumes::unmounted(store.root(), config);
    }
    let ran = st
        .started_at
        .and_then(|t| (Utc::now() - t).to_std().ok())
        .unwrap_or_default();
    Some(ran)
}
