//! OCI hooks: programs the runtime runs at fixed points of a container's
//! life, each given the container's state (JSON) on stdin.
//!
//! Where each kind runs (runtime spec, "Lifecycle"):
//! - `prestart` (deprecated) and `createRuntime`: during create, once the
//!   namespaces and mounts exist and before pivot_root, in the runtime's
//!   namespaces ([`run_hooks`]: a plain child process).
//! - `createContainer`: right after them, in the container's namespaces
//!   (joined like `exec` does; before pivot_root the path still resolves
//!   in the runtime's filesystem).
//! - `startContainer`: in `start`, before the program runs, in the
//!   container's namespaces after pivot_root (the path is the container's).
//! - `poststart` / `poststop`: the caller runs them ([`Container::run_hooks`],
//!   [`Container::destroy_with_poststop`]) after start / after delete.
//!
//! A hook that exits non-zero or outlives its `timeout` (then SIGKILLed) is
//! an error naming the kind, the path, the status and what it printed.

use std::io::{Read, Seek, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, ProcessBuilder, Spec, UserBuilder};

use super::cgroups::CgroupManager;
use super::{exec, Container, ContainerState, Status};
use crate::error::{Error, Result};
use crate::process::{ExitStatus, Stdio};

/// Output kept from a failing hook for the error message.
const OUTPUT_CAP: usize = 2048;

/// The six kinds of hooks of the runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Deprecated; runs with `CreateRuntime`, before it.
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        })
    }
}

/// The spec's hooks of one kind (empty if none).
pub(crate) fn of_kind(spec: &Spec, kind: HookKind) -> Vec<Hook> {
    let Some(h) = spec.hooks().as_ref() else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let list = match kind {
        HookKind::Prestart => h.prestart(),
        HookKind::CreateRuntime => h.create_runtime(),
        HookKind::CreateContainer => h.create_container(),
        HookKind::StartContainer => h.start_container(),
        HookKind::Poststart => h.poststart(),
        HookKind::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

const ALL: [HookKind; 6] = [
    HookKind::Prestart,
    HookKind::CreateRuntime,
    HookKind::CreateContainer,
    HookKind::StartContainer,
    HookKind::Poststart,
    HookKind::Poststop,
];

/// Checks before anything is created: absolute paths, positive timeouts,
/// KEY=VALUE environment.
pub(crate) fn validate(spec: &Spec) -> Result<()> {
    for kind in ALL {
        for h in of_kind(spec, kind) {
            let path = h.path();
            if !path.is_absolute() {
                return Err(Error::InvalidSpec(format!(
                    "hooks.{kind}: path {:?} is not absolute",
                    path.display()
                )));
            }
            if let Some(t) = h.timeout() {
                if t <= 0 {
                    return Err(Error::InvalidSpec(format!(
                        "hooks.{kind} {}: timeout {t} must be greater than zero",
                        path.display()
                    )));
                }
            }
            for e in h.env().iter().flatten() {
                if !e.contains('=') {
                    return Err(Error::InvalidSpec(format!(
                        "hooks.{kind} {}: env entry {e:?} is not KEY=VALUE",
                        path.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The OCI state document a hook reads on stdin.
pub(crate) fn state_json(st: &ContainerState) -> Vec<u8> {
    let v = serde_json::json!({
        "ociVersion": "1.2.0",
        "id": st.id,
        "status": st.status,
        "pid": st.pid,
        "bundle": st.bundle.as_deref().map(|b| b.display().to_string()).unwrap_or_default(),
        "annotations": st.annotations,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Run `hooks` (of `kind`) one after the other in the caller's namespaces,
/// each with `state` as JSON on stdin. Stops at the first failure.
pub fn run_hooks(kind: HookKind, hooks: &[Hook], state: &ContainerState) -> Result<()> {
    let json = state_json(state);
    for h in hooks {
        run_on_host(kind, h, &json)?;
    }
    Ok(())
}

/// Run `hooks` inside the container whose init is `init_pid`: joined like
/// `exec` (cgroup and every namespace), as root with the runtime's
/// capabilities.
pub(crate) fn run_in_container(
    kind: HookKind,
    hooks: &[Hook],
    init_pid: i32,
    cgroup: &dyn CgroupManager,
    state: &ContainerState,
) -> Result<()> {
    let json = state_json(state);
    for h in hooks {
        let what = describe(kind, h);
        let out = memfd(&what)?;
        let mut args = vec![h.path().display().to_string()];
        args.extend(h.args().iter().flatten().skip(1).cloned());
        let mut p = ProcessBuilder::default()
            .args(args)
            .env(h.env().clone().unwrap_or_default())
            .cwd("/")
            .user(
                UserBuilder::default()
                    .uid(0u32)
                    .gid(0u32)
                    .build()
                    .map_err(spec_err)?,
            )
            .build()
            .map_err(spec_err)?;
        p.set_capabilities(None);
        p.set_rlimits(None);
        p.set_no_new_privileges(None);
        let io = super::ProcessIo {
            stdin: Stdio::Pipe,
            stdout: Stdio::Fd(dup(&out, &what)?),
            stderr: Stdio::Fd(dup(&out, &what)?),
            ..Default::default()
        };
        let mut proc_ = exec::exec(init_pid, cgroup, &p, io).map_err(|e| Error::Setup {
            step: what.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if let Some(mut stdin) = proc_.stdin.take() {
            // A hook need not read its stdin: a broken pipe is fine.
            let _ = stdin.write_all(&json);
        }
        let deadline = h
            .timeout()
            .map(|t| Instant::now() + Duration::from_secs(t as u64));
        let status = loop {
            if let Some(s) = proc_.try_wait()? {
                break Some(s);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = proc_.kill(libc::SIGKILL);
                let _ = proc_.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        check(&what, h, status, out)?;
    }
    Ok(())
}

fn spec_err(e: oci_spec::OciSpecError) -> Error {
    Error::InvalidSpec(e.to_string())
}

fn describe(kind: HookKind, h: &Hook) -> String {
    format!("{kind} hook {}", h.path().display())
}

/// One hook as a child of ours in our namespaces.
fn run_on_host(kind: HookKind, h: &Hook, json: &[u8]) -> Result<()> {
    let what = describe(kind, h);
    let out = memfd(&what)?;
    let mut cmd = std::process::Command::new(h.path());
    let args = h.args().clone().unwrap_or_default();
    if let Some(argv0) = args.first() {
        cmd.arg0(argv0);
    }
    cmd.args(args.iter().skip(1));
    cmd.env_clear();
    for e in h.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    // Its own process group, so a timeout kills whatever it started too.
    cmd.process_group(0);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::from(dup(&out, &what)?))
        .stderr(std::fs::File::from(dup(&out, &what)?));
    let mut child = cmd.spawn().map_err(|e| Error::Setup {
        step: what.clone(),
        source: e,
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(json);
    }
    let deadline = h
        .timeout()
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                use std::os::unix::process::ExitStatusExt;
                break Some(match s.signal() {
                    Some(sig) => ExitStatus::Signaled(sig),
                    None => ExitStatus::Exited(s.code().unwrap_or(0)),
                });
            }
            Ok(None) => {}
            Err(e) => return Err(Error::sys(format!("wait for {what}"), e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // SAFETY: kill(2) of the process group led by our unreaped child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    check(&what, h, status, out)
}

/// `None` status: timed out (and killed).
fn check(what: &str, h: &Hook, status: Option<ExitStatus>, out: OwnedFd) -> Result<()> {
    if status.is_some_and(|s| s.success()) {
        return Ok(());
    }
    let mut f = std::fs::File::from(out);
    let mut text = Vec::new();
    let _ = f.rewind();
    let _ = f.take(OUTPUT_CAP as u64).read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let msg = match status {
        None => format!(
            "timed out after {} s and was killed",
            h.timeout().unwrap_or(0)
        ),
        Some(s) => format!("failed ({s})"),
    };
    let msg = if text.is_empty() {
        msg
    } else {
        format!("{msg}: {text}")
    };
    let kind = if status.is_none() {
        std::io::ErrorKind::TimedOut
    } else {
        std::io::ErrorKind::Other
    };
    Err(Error::Setup {
        step: what.to_string(),
        source: std::io::Error::new(kind, msg),
    })
}

/// An anonymous file collecting a hook's output (never blocks the hook,
/// unlike a pipe nobody drains).
fn memfd(what: &str) -> Result<OwnedFd> {
    // SAFETY: memfd_create with a static name; the fd is owned below.
    let fd = unsafe { libc::memfd_create(c"containerv-hook".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::sys(
            format!("memfd for {what}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn dup(fd: &OwnedFd, what: &str) -> Result<OwnedFd> {
    fd.try_clone()
        .map_err(|e| Error::sys(format!("dup output of {what}"), e))
}

/// The state a hook sees while the container is being created.
pub(crate) fn creating_state(
    id: &str,
    pid: i32,
    bundle: Option<&Path>,
    spec: &Spec,
) -> ContainerState {
    ContainerState {
        id: id.to_string(),
        pid,
        status: Status::Creating,
        bundle: bundle.map(Path::to_path_buf),
        rootfs: Default::default(),
        created: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
    }
}

impl Container {
    /// The spec's hooks of `kind`.
    pub fn hooks(&self, kind: HookKind) -> Vec<Hook> {
        of_kind(self.spec(), kind)
    }

    /// Run the spec's hooks of `kind` with the container's current state.
    /// `Poststart` (and `Poststop`) run in the caller's namespaces — the
    /// OCI CLI calls this after `start`; `CreateContainer` and
    /// `StartContainer` hooks run inside the container. `create` and
    /// `start` run the create-time and start-time kinds themselves.
    pub fn run_hooks(&self, kind: HookKind) -> Result<()> {
        let hooks = self.hooks(kind);
        if hooks.is_empty() {
            return Ok(());
        }
        let mut st = self.current_state();
        if kind == HookKind::Poststart {
            // The runtime spec's (and runc's) status for poststart, even
            // when the program has already exited.
            st.status = Status::Running;
            st.pid = self.pid();
        }
        match kind {
            HookKind::CreateContainer | HookKind::StartContainer => {
                run_in_container(kind, &hooks, self.pid(), self.cgroup.as_ref(), &st)
            }
            _ => run_hooks(kind, &hooks, &st),
        }
    }

    /// Destroy the container, then run its `poststop` hooks with its last
    /// state (status "stopped"), as the runtime spec's delete does. The
    /// container is gone even when a hook fails (the error says which).
    pub fn destroy_with_poststop(self) -> Result<()> {
        match self.destroy_then_poststop()? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// [`Container::destroy_with_poststop`] with a failing hook kept apart
    /// from a failing destroy: `Ok(Some(e))` means the container is gone
    /// and a hook failed (the runtime spec makes that a warning).
    pub fn destroy_then_poststop(self) -> Result<Option<Error>> {
        let hooks = self.hooks(HookKind::Poststop);
        let mut st = self.current_state();
        self.destroy_all()?;
        st.status = Status::Stopped;
        st.pid = 0;
        Ok(run_hooks(HookKind::Poststop, &hooks, &st).err())
    }
}
