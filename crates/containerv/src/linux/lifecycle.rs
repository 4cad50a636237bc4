//! A created container's life: its status read from reality, `start`
//! (the exec fifo), signals, waiting for the init, and `destroy`.
//!
//! When the init dies every process in the container dies with it, because
//! the kernel kills a pid namespace's processes when its pid 1 exits. A
//! container without a pid namespace has no such guarantee: its processes
//! outlive the init, and only `destroy` (which kills everything in the
//! container's cgroup) ends them.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use super::hooks::HookKind;
use super::state::{self, Lock, ProcStat};
use super::{Container, ContainerState, Status};
use crate::error::{Error, Result};
use crate::process::ExitStatus;

/// How long destroy waits for a killed init it cannot reap to disappear.
const GONE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long destroy tries to reap an exiting init itself before handing
/// that to a thread.
const REAP_GRACE: Duration = Duration::from_millis(100);

impl Container {
    /// True while the recorded init runs (same start time, not a zombie).
    pub(crate) fn init_alive(&self) -> bool {
        state::init_alive(self.state.pid, self.state.pid_start)
    }

    pub(crate) fn status(&self) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if self.dir.join(state::FIFO).exists() {
            return Status::Created;
        }
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Status::Paused;
        }
        Status::Running
    }

    pub(crate) fn current_state(&self) -> ContainerState {
        let status = self.status();
        ContainerState {
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.state.pid
            },
            status,
            bundle: self.state.bundle.clone(),
            rootfs: self.state.rootfs.clone(),
            created: self.state.created.clone(),
            annotations: self.state.annotations.clone(),
        }
    }

    fn invalid(&self, status: Status, operation: &'static str) -> Error {
        Error::InvalidState {
            id: self.id.clone(),
            status: status.to_string(),
            operation,
        }
    }

    /// Let a container created with `StartMode::OnStart` run its program.
    pub(crate) fn start_init(&self) -> Result<()> {
        let _lock = Lock::acquire(&self.dir)?;
        let status = self.status();
        if status != Status::Created {
            return Err(self.invalid(status, "start"));
        }
        // startContainer hooks: in the container, before its program runs.
        // A failing one stops the container (it is then deleted as usual).
        let hooks = self.hooks(HookKind::StartContainer);
        if !hooks.is_empty() {
            let mut st = self.current_state();
            st.status = Status::Created;
            if let Err(e) = super::hooks::run_in_container(
                HookKind::StartContainer,
                &hooks,
                self.state.pid,
                self.cgroup.as_ref(),
                &st,
            ) {
                let _ = send(self.state.pid, libc::SIGKILL);
                let _ = self.cgroup.kill_all();
                return Err(e);
            }
        }
        let fifo = self.dir.join(state::FIFO);
        // The init is blocked opening the fifo for writing: this open
        // completes at once, and the byte it writes releases it.
        let mut f =
            std::fs::File::open(&fifo).map_err(|e| Error::io("open exec fifo", &fifo, e))?;
        let mut b = [0u8; 1];
        let n = f
            .read(&mut b)
            .map_err(|e| Error::io("read exec fifo", &fifo, e))?;
        let _ = std::fs::remove_file(&fifo);
        if n == 0 {
            return Err(Error::Setup {
                step: "start (the init exited before it was released)".into(),
                source: std::io::Error::from_raw_os_error(libc::ESRCH),
            });
        }
        Ok(())
    }

    /// Send `signal` to the init, or with `all` to every process of the container.
    pub(crate) fn signal_init(&self, signal: i32, all: bool) -> Result<()> {
        if !self.init_alive() {
            return Err(self.invalid(Status::Stopped, "signal"));
        }
        if all {
            for pid in self.cgroup.pids()? {
                if pid != self.state.pid {
                    let _ = send(pid, signal);
                }
            }
        }
        send(self.state.pid, signal)
    }

    /// Send `signal` to `pid`, which must be a process of this container.
    pub(crate) fn kill_pid(&self, pid: i32, signal: i32) -> Result<()> {
        if pid <= 0 || !self.owns(pid) {
            return Err(Error::option(
                "pid",
                pid.to_string(),
                format!("not a process of container {:?}", self.id),
            ));
        }
        send(pid, signal)
    }

    /// Is `pid` (host) in this container: the init, in its cgroup, or in
    /// its pid namespace.
    fn owns(&self, pid: i32) -> bool {
        if pid == self.state.pid {
            return self.init_alive();
        }
        if self.cgroup.pids().is_ok_and(|p| p.contains(&pid)) {
            return true;
        }
        if self.state.new_pidns && self.init_alive() {
            let ns = |p: i32| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
            let theirs = ns(pid);
            return theirs.is_some() && theirs == ns(self.state.pid);
        }
        false
    }

    /// Wait for the init to end. Its exit status is known only to the
    /// process that created the container (the init's parent); any other
    /// process gets an error once the init is gone.
    pub(crate) fn wait_init(&self) -> Result<ExitStatus> {
        let pid = self.state.pid;
        if is_our_child(pid, self.state.pid_start) {
            let mut status = 0;
            loop {
                // SAFETY: waiting for our own child.
                let r = unsafe { libc::waitpid(pid, &mut status, 0) };
                if r == pid {
                    break;
                }
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::sys(format!("wait for init {pid}"), e));
                }
            }
            return Ok(if libc::WIFSIGNALED(status) {
                ExitStatus::Signaled(libc::WTERMSIG(status))
            } else {
                ExitStatus::Exited(libc::WEXITSTATUS(status))
            });
        }
        Err(Error::Unsupported(format!(
            "waiting for init {pid}: only the process that created container {:?} can",
            self.id
        )))
    }

    /// Kill everything, wait until it is gone, remove cgroup, overlay
    /// layers (unless kept) and state. Works whatever state the container
    /// is in, also after its creator crashed or its init was killed.
    pub(crate) fn destroy_all(&self) -> Result<()> {
        if !self.dir.exists() {
            // Destroyed already (by another handle or process).
            return Ok(());
        }
        let _lock = Lock::acquire(&self.dir)?;
        let pid = self.state.pid;
        if self.init_alive() {
            let _ = send(pid, libc::SIGKILL);
        }
        self.cgroup.kill_all()?;
        self.wait_gone()?;
        crate::linux::rootfs::detach(&self.dir)?;
        // Deleting a veth pair waits for RCU grace periods in the kernel
        // (3-15 ms under load): on a thread of its own, it overlaps the
        // cgroup and directory removals; joined before returning, so the
        // pair is gone when destroy is.
        let veth = self.state.veth.clone().map(|v| {
            let remove = move || crate::linux::net::veth::remove(&v);
            std::thread::Builder::new()
                .name("veth-remove".into())
                .stack_size(64 << 10)
                .spawn(remove.clone())
                .map_err(|_| remove)
        });
        let removed = self.cgroup.remove();
        match veth {
            Some(Ok(t)) => {
                let _ = t.join();
            }
            // No thread: here.
            Some(Err(remove)) => remove(),
            None => {}
        }
        removed?;
        if let Some(o) = &self.state.overlay {
            let _ = std::fs::remove_dir_all(&o.work);
            if !o.keep_upper {
                let _ = std::fs::remove_dir_all(&o.upper);
            } else if let Some(to) = &o.keep_at {
                let _ = std::fs::remove_dir_all(to);
                std::fs::rename(&o.upper, to)
                    .map_err(|e| Error::io("keep overlay upper", to, e))?;
            }
        }
        remove_state_dir(&self.dir)
    }
}

impl Container {
    /// After SIGKILL: wait until the init is gone, reaping it if it is our
    /// child. A pid-namespace init stays in its exit (sleeping) until every
    /// process of its namespace is reaped; if some are zombies of the
    /// caller's own (spawned processes not yet waited for), blocking here
    /// would deadlock, so after a short grace period a thread finishes the
    /// reaping and destroy goes on.
    fn wait_gone(&self) -> Result<()> {
        let pid = self.state.pid;
        let ours = is_our_child(pid, self.state.pid_start);
        let start = Instant::now();
        loop {
            if ours {
                // SAFETY: non-blocking reap of our own child.
                let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
                if r == pid || r < 0 {
                    return Ok(());
                }
            }
            if !self.init_alive() {
                if !ours {
                    return Ok(());
                }
                if start.elapsed() > REAP_GRACE {
                    std::thread::spawn(move || {
                        // SAFETY: blocking reap of our own exiting child.
                        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                    });
                    return Ok(());
                }
            }
            if start.elapsed() > GONE_TIMEOUT {
                return Err(Error::sys(
                    format!("destroy {:?}: init {pid} did not die", self.id),
                    std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
                ));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// Is `pid` (with this start time) a child of the calling process?
fn is_our_child(pid: i32, start: u64) -> bool {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    matches!(state::proc_stat(pid), Some(ProcStat { ppid, start: s, .. }) if ppid == me && s == start)
}

fn send(pid: i32, signal: i32) -> Result<()> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(Error::sys(
            format!("send signal {signal} to {pid}"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn remove_state_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove state directory", dir, e)),
    }
}
