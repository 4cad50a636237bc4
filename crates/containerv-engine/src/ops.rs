//! Lifecycle operations on an existing container: stop (graceful, with
//! escalation to SIGKILL), kill, rm, restart, wait, pause/unpause, update,
//! prune. Each marks its intent in the record under the container's lock
//! first (so the monitor does not restart what a user stopped) and then
//! acts on the processes through the core library. When the monitor is
//! gone (killed), the operation does the monitor's part itself: records
//! the exit and destroys what is left.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::record::{ContainerState, Status};
use crate::stop::{graceful_stop, StopOutcome, Stoppable};

/// How long to wait for the monitor to record an exit it has seen.
const MONITOR_GRACE: Duration = Duration::from_secs(10);

/// The init, checked by pid and start time so a reused pid is never
/// signalled.
struct Init {
    pid: i32,
    start: u64,
}

impl Stoppable for Init {
    fn send(&mut self, signal: i32) -> Result<bool> {
        if !crate::proc::is_alive(self.pid, self.start) {
            return Ok(false);
        }
        // SAFETY: kill(2); the pid was just checked against its start time.
        Ok(unsafe { libc::kill(self.pid, signal) } == 0)
    }
    fn has_ended(&mut self) -> Result<bool> {
        Ok(!crate::proc::is_alive(self.pid, self.start))
    }
}

impl Engine {
    /// Marks a user's stop (restart policies no longer apply) and returns
    /// the state as observed. Never fails for want of disk space: the
    /// mark is best-effort (see [`crate::store::Store::request_stop`]),
    /// the signal that follows is what counts.
    fn mark_stopped(&self, id: &str) -> Result<ContainerState> {
        self.store.request_stop(id)?;
        Ok(self.store.load_state(id)?.observed())
    }

    /// `cv stop`: the stop signal, SIGKILL after `timeout` (default: the
    /// container's `--stop-timeout`). Returns how it ended.
    pub fn stop(&self, reference: &str, timeout: Option<Duration>) -> Result<StopOutcome> {
        let id = self.store.resolve(reference)?;
        let config = self.store.load_config(&id)?;
        let st = self.mark_stopped(&id)?;
        if !st.status.is_active() {
            self.settle(&id);
            return Ok(StopOutcome::AlreadyStopped);
        }
        let timeout = timeout.unwrap_or(Duration::from_secs(config.stop_timeout));
        let mut init = Init {
            pid: st.pid,
            start: st.pid_start,
        };
        let paused = st.status == Status::Paused;
        if paused {
            if let Ok(c) = self.runtime().and_then(|rt| Ok(rt.open(&id)?)) {
                let _ = c.resume();
            }
        }
        let outcome = if st.pid == 0 {
            StopOutcome::AlreadyStopped
        } else {
            // docker: kill (the stop signal), die (from the monitor), stop.
            crate::events::container(
                self.store.root(),
                &config,
                "kill",
                &[("signal", config.stop_signal.to_string())],
            );
            graceful_stop(
                &mut init,
                config.stop_signal,
                timeout,
                Duration::from_millis(20),
                Duration::from_secs(5),
            )?
        };
        self.settle(&id);
        if outcome != StopOutcome::AlreadyStopped {
            crate::events::container(self.store.root(), &config, "stop", &[]);
        }
        Ok(outcome)
    }

    /// Waits for the monitor to record the exit; if there is no monitor,
    /// records it here and removes what the container left.
    pub(crate) fn settle(&self, id: &str) {
        let deadline = Instant::now() + MONITOR_GRACE;
        let monitor = loop {
            let Ok(s) = self.store.load_state(id) else {
                return; // removed (--rm)
            };
            let monitor = crate::proc::is_alive(s.monitor_pid, s.monitor_start);
            if !s.status.is_active() && !monitor {
                return;
            }
            if !monitor || Instant::now() >= deadline {
                break monitor;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // No monitor (killed), or one that does not record the end in
        // time: do its part (a live one still says the end itself).
        self.end_unmonitored(id, !monitor);
    }

    /// The monitor's part of a run's end, for a run it did not see end:
    /// the core container, its lease and volumes removed, the exit
    /// recorded and, with `say` (the monitor is dead), docker's events
    /// of the end that it did not say (`events::run_end`: disconnect,
    /// unmount, die, each once).
    fn end_unmonitored(&self, id: &str, say: bool) {
        self.cleanup_core(id);
        let ended = self.store.update_state(id, |s| {
            let o = s.observed();
            if s.status.is_active() {
                *s = o;
                s.status = Status::Exited;
                s.pid = 0;
                if s.finished_at.is_none() || s.finished_at < s.started_at {
                    s.finished_at = Some(Utc::now());
                }
            }
            Ok(())
        });
        if !say {
            return;
        }
        // Recorded or not (a full disk), the run has ended.
        let code = match ended {
            Ok((s, ())) => s.exit_code,
            Err(_) => self
                .store
                .load_state(id)
                .map_or(-1, |s| s.observed().exit_code),
        };
        if let Ok(config) = self.store.load_config(id) {
            crate::events::run_end::complete(self.store.root(), &config, code);
        }
    }

    /// True when the record says the container runs but its monitor is
    /// dead and the init has ended: a run that ended unseen.
    pub(crate) fn ended_unseen(s: &ContainerState) -> bool {
        s.status.is_active()
            && !crate::proc::is_alive(s.monitor_pid, s.monitor_start)
            && !s.observed().status.is_active()
    }

    /// `cv kill`: sends `signal` (default SIGKILL) to the init.
    pub fn kill(&self, reference: &str, signal: i32) -> Result<()> {
        let id = self.store.resolve(reference)?;
        let st = self.store.load_state(&id)?.observed();
        if !st.status.is_active() || st.pid == 0 {
            return Err(Error::InvalidState {
                id,
                status: st.status.to_string(),
                operation: "kill".into(),
            });
        }
        if matches!(
            signal,
            libc::SIGKILL | libc::SIGTERM | libc::SIGINT | libc::SIGQUIT
        ) {
            self.mark_stopped(&id)?;
        }
        let mut init = Init {
            pid: st.pid,
            start: st.pid_start,
        };
        init.send(signal)?;
        crate::events::for_id(&self.store, &id, "kill", &[("signal", signal.to_string())]);
        if signal == libc::SIGKILL {
            self.settle(&id);
        }
        Ok(())
    }

    /// `cv rm`: removes a stopped container (`force`: kills it first).
    pub fn remove(&self, reference: &str, force: bool) -> Result<String> {
        let id = self.store.resolve(reference)?;
        let unseen;
        let st = match self.store.load_state(&id) {
            Ok(s) => {
                unseen = Self::ended_unseen(&s);
                s.observed()
            }
            Err(e) if self.store.dir(&id).join("config.json").exists() => {
                // An unreadable record: only `rm -f`, which stops
                // whatever still runs through the core's own state.
                if !force {
                    return Err(Error::InvalidState {
                        id,
                        status: format!("unreadable ({e})"),
                        operation: "remove it without -f (rm -f stops and removes it)".into(),
                    });
                }
                self.remove_damaged(&id)?;
                return Ok(id);
            }
            Err(e) => return Err(e),
        };
        if st.status.is_active() {
            if !force {
                return Err(Error::InvalidState {
                    id,
                    status: st.status.to_string(),
                    operation: "remove it (stop it first, or use rm -f)".into(),
                });
            }
            self.mark_stopped(&id)?;
            let mut init = Init {
                pid: st.pid,
                start: st.pid_start,
            };
            if init.send(libc::SIGKILL).is_ok() {
                crate::events::for_id(&self.store, &id, "kill", &[("signal", "9".into())]);
            }
            self.settle(&id);
        } else if unseen {
            // Its init ended while no monitor watched: end that run
            // before the container goes (docker's die comes first).
            self.end_unmonitored(&id, true);
        }
        let g = match self.store.lock(&id) {
            Ok(g) => g,
            // Removed meanwhile (--rm): done.
            Err(Error::NoSuchContainer(_)) => return Ok(id),
            Err(e) => return Err(e),
        };
        self.cleanup_core(&id);
        let config = self.store.load_config(&id).ok();
        self.store.remove(&id, g)?;
        if let Some(c) = &config {
            crate::events::container(self.store.root(), c, "destroy", &[]);
        }
        if let Ok(images) = self.images() {
            let _ = images.release(&id);
        }
        Ok(id)
    }

    /// `rm -f` of a container whose state record cannot be read: kills
    /// its processes and cgroups through the core's state, lets its
    /// monitor (if any) see the end and leave, then removes the records.
    fn remove_damaged(&self, id: &str) -> Result<()> {
        let _ = self.store.request_stop(id);
        self.cleanup_core(id);
        let lock = self.store.dir(id).join("monitor.lock");
        let deadline = Instant::now() + MONITOR_GRACE;
        while matches!(crate::store::try_lock(&lock), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.cleanup_core(id);
        let g = match self.store.lock(id) {
            Ok(g) => g,
            Err(Error::NoSuchContainer(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.store.remove(id, g)?;
        if let Ok(images) = self.images() {
            let _ = images.release(id);
        }
        Ok(())
    }

    /// `cv restart`: stop, then start.
    pub fn restart(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        self.stop(reference, timeout)?;
        self.start(reference, false)?;
        if let Ok(id) = self.store.resolve(reference) {
            crate::events::for_id(&self.store, &id, "restart", &[]);
        }
        Ok(())
    }

    /// `cv wait`: blocks until the container is down; returns its exit code.
    pub fn wait(&self, reference: &str) -> Result<i32> {
        let id = self.store.resolve(reference)?;
        let mut last = 0;
        loop {
            match self.store.load_state(&id) {
                Ok(s) => {
                    let o = s.observed();
                    last = o.exit_code;
                    if !o.status.is_active() && o.status != Status::Created {
                        return Ok(o.exit_code);
                    }
                }
                Err(Error::NoSuchContainer(_)) => return Ok(last),
                Err(e) => return Err(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `cv pause` / `cv unpause`.
    pub fn set_paused(&self, reference: &str, pause: bool) -> Result<()> {
        let id = self.store.resolve(reference)?;
        let g = self.store.lock(&id)?;
        let mut st = self.store.load_state(&id)?;
        let o = st.observed();
        let (want_from, op) = if pause {
            (Status::Running, "pause")
        } else {
            (Status::Paused, "unpause")
        };
        if o.status != want_from {
            return Err(Error::InvalidState {
                id,
                status: o.status.to_string(),
                operation: op.into(),
            });
        }
        let c = self.runtime()?.open(&id)?;
        if pause {
            c.pause()?;
            st.status = Status::Paused;
        } else {
            c.resume()?;
            st.status = Status::Running;
        }
        self.store.save_state(&id, &st, &g)?;
        drop(g);
        crate::events::for_id(&self.store, &id, op, &[]);
        Ok(())
    }

    /// `cv update`: new limits for a container, applied at once when it
    /// runs and kept for its next start.
    pub fn update(&self, reference: &str, r: &crate::record::Resources) -> Result<()> {
        self.update_with(reference, r, None)
    }

    /// `cv update` with `--restart` too (`restart`: the policy as given).
    pub fn update_with(
        &self,
        reference: &str,
        r: &crate::record::Resources,
        restart: Option<&str>,
    ) -> Result<()> {
        crate::create_checks::check_resources(r)?;
        let policy = restart
            .map(crate::restart::RestartPolicy::parse)
            .transpose()?;
        let id = self.store.resolve(reference)?;
        let g = self.store.lock(&id)?;
        let mut config = self.store.load_config(&id)?;
        if config.auto_remove && policy.is_some_and(|p| p != crate::restart::RestartPolicy::No) {
            return Err(Error::option(
                "--restart",
                restart.unwrap_or_default(),
                "conflicts with --rm (a removed container cannot be restarted)",
            ));
        }
        let mut merged = config.resources.clone();
        if r.memory.is_some() {
            merged.memory = r.memory.clone();
        }
        if r.memory_swap.is_some() {
            merged.memory_swap = r.memory_swap.clone();
        }
        if r.cpus.is_some() {
            merged.cpus = r.cpus.clone();
        }
        if r.cpu_shares.is_some() {
            merged.cpu_shares = r.cpu_shares;
        }
        if r.cpuset_cpus.is_some() {
            merged.cpuset_cpus = r.cpuset_cpus.clone();
        }
        if r.pids_limit.is_some() {
            merged.pids_limit = r.pids_limit;
        }
        let limits = containerv::ResourceLimits {
            memory: merged.memory.clone(),
            memory_swap: merged.memory_swap.clone(),
            cpus: merged.cpus.clone(),
            cpu_shares: merged.cpu_shares,
            cpuset_cpus: merged.cpuset_cpus.clone(),
            pids: merged.pids_limit,
            ..Default::default()
        };
        let resources =
            containerv::limits::to_linux_resources(&limits).map_err(|e| Error::Flag {
                flag: "update".into(),
                message: e.to_string(),
            })?;
        let st = self.store.load_state(&id)?.observed();
        if st.status.is_active() && st.pid != 0 {
            self.runtime()?.open(&id)?.update(&resources)?;
        }
        config.resources = merged;
        if let Some(p) = policy {
            config.restart_policy = p;
        }
        self.store.save_config(&config, &g)?;
        drop(g);
        crate::events::container(self.store.root(), &config, "update", &[]);
        Ok(())
    }

    /// `cv container prune`: removes every stopped container; returns
    /// their ids. Says docker's `container prune` event (no actor,
    /// `reclaimed`: the bytes of their writable layers, as moby's
    /// ContainersPrune).
    pub fn prune(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut reclaimed = 0;
        for e in self.store.list()? {
            if e.state.observed().status.is_active() {
                continue;
            }
            let size = crate::storage_opt::usage(&e.config, &self.store.dir(&e.config.id));
            if self.remove(&e.config.id, false).is_ok() {
                out.push(e.config.id);
                reclaimed += size;
            }
        }
        let mut ev = crate::events::Event::new(
            "container",
            "prune",
            "",
            [("reclaimed".to_string(), reclaimed.to_string())].into(),
        );
        ev.status = Some("prune".into());
        if let Err(err) = crate::events::emit(self.store.root(), &ev) {
            eprintln!("cv: event container prune: {err}");
        }
        Ok(out)
    }
}
