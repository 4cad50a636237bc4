//! Reboots: the records and the core's runtime state live on disk, the
//! processes and cgroups they describe do not survive a boot.
//!
//! Two defences, both cheap enough for every `cv` call:
//! - the runtime root's boot id is kept beside it (`<runtime>.boot_id`,
//!   from `/proc/sys/kernel/random/boot_id`); when
//!   [`crate::Engine::open`] finds another, every core state in it is from
//!   a previous boot and is removed (never descending into a mount);
//! - each start records the boot id in the container's state, so
//!   [`crate::record::ContainerState::observed`] never takes a process of
//!   this boot that reuses a recorded pid (and start time) for the
//!   container's.
//!
//! The boot step ([`crate::Engine::apply_restart_policies`], `cv system
//! restart-policy`, run by `contrib/systemd/cv-restart.service`) then
//! starts what docker's daemon would start when it comes up.

use std::path::Path;
use std::sync::OnceLock;

use crate::engine::Engine;
use crate::error::Result;
use crate::restart::RestartPolicy;

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// This boot's id ("" if the kernel does not say).
pub fn current_boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        std::fs::read_to_string(BOOT_ID)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// Clears core states left by a previous boot from `runtime_root` and
/// stamps it with this boot's id. Best-effort: a full disk or a missing
/// boot id leaves everything as it is.
pub(crate) fn reconcile_runtime(runtime_root: &Path) {
    let now = current_boot_id();
    if now.is_empty() {
        return;
    }
    let stamp = boot_stamp(runtime_root);
    match std::fs::read_to_string(&stamp) {
        Ok(s) if s.trim() == now => return,
        Ok(_) => {
            if let Ok(rd) = std::fs::read_dir(runtime_root) {
                for e in rd.flatten() {
                    let id = e.file_name().to_string_lossy().into_owned();
                    if e.path().is_dir() {
                        crate::check::remove_stale_core(runtime_root, &id);
                    }
                }
            }
        }
        Err(_) => {}
    }
    let tmp = stamp.with_extension(format!("boot_id.{}", std::process::id()));
    if std::fs::write(&tmp, now).is_ok() {
        let _ = std::fs::rename(&tmp, &stamp);
    }
    let _ = std::fs::remove_file(&tmp);
}

/// The file beside the runtime root that names the boot its states are
/// from (beside, so the runtime root holds core states only).
pub fn boot_stamp(runtime_root: &Path) -> std::path::PathBuf {
    let mut name = runtime_root.file_name().unwrap_or_default().to_os_string();
    name.push(".boot_id");
    runtime_root.with_file_name(name)
}

/// What the boot step did for one container.
#[derive(Debug)]
pub struct BootStart {
    pub name: String,
    pub result: Result<()>,
}

impl Engine {
    /// The boot step: records the end of every container whose processes
    /// are gone (a reboot, a killed monitor), then starts those whose
    /// restart policy asks, as docker's daemon does when it starts:
    /// `always` (even after a user's stop), `unless-stopped` unless a
    /// user stopped it, `on-failure` when it was running (it did not end
    /// by itself) within its retry count and a user did not stop it.
    pub fn apply_restart_policies(&self) -> Result<Vec<BootStart>> {
        let mut out = Vec::new();
        for e in self.store.list()? {
            let id = &e.config.id;
            let was_running = e.state.status.is_active();
            let now = e.state.observed();
            if now.monitor_gone {
                // Running unwatched: a replacement monitor applies the
                // policy when it ends.
                let _ = self.adopt(id);
                continue;
            }
            if now.status.is_active() {
                continue;
            }
            if was_running {
                self.settle(id);
            }
            let Ok(st) = self.store.load_state(id) else {
                continue;
            };
            let start = match e.config.restart_policy {
                RestartPolicy::No => false,
                RestartPolicy::Always => true,
                RestartPolicy::UnlessStopped => !st.manually_stopped,
                RestartPolicy::OnFailure(max) => {
                    was_running && !st.manually_stopped && (max == 0 || st.restart_count < max)
                }
            };
            if !start {
                continue;
            }
            let result = self.start(id, false).map(|_| ());
            out.push(BootStart {
                name: e.config.name.clone(),
                result,
            });
        }
        Ok(out)
    }
}
