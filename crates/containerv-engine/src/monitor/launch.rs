//! Starting a monitor: `cv` execs itself as `cv __monitor STORE RUNTIME ID
//! 3 [4]` in a new session, with fd 3 the write end of a "ready" pipe (and
//! fd 4 the caller's stdin for an attached `-i`). The monitor forks again
//! at once (see [`super::main`]); the launcher reaps the intermediate,
//! then reads the pipe: one line when the container runs or failed to
//! start, one more with the exit code when it is finally down.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use containerv::linux::relay;

use super::fd::pipe;
use crate::error::{Error, Result};

/// The hidden subcommand the monitor runs as.
pub const MONITOR_ARG: &str = "__monitor";

/// Last argument of a replacement monitor (see [`super::adopt`]).
pub const ADOPT_ARG: &str = "adopt";

/// Parses the monitor's own command line (after [`MONITOR_ARG`]).
pub fn parse_args(args: &[OsString]) -> Option<super::MonitorArgs> {
    let (adopt, args) = match args {
        [rest @ .., last] if last == ADOPT_ARG => (true, rest),
        _ => (false, args),
    };
    let [store, runtime, id, ready, stdin] = args else {
        return None;
    };
    let fd = |s: &OsString| s.to_str().and_then(|s| s.parse::<RawFd>().ok());
    Some(super::MonitorArgs {
        store_root: store.into(),
        runtime_root: runtime.into(),
        id: id.to_str()?.to_string(),
        ready_fd: fd(ready),
        stdin_fd: fd(stdin),
        adopt,
    })
}

/// A started monitor, seen from the launcher.
pub struct Launched {
    pipe: BufReader<File>,
    /// Our terminal into the container's stdin while attached.
    _stdin_relay: Option<relay::Relay>,
}

/// Starts the monitor of container `id`. `attach_stdin`: hand our stdin
/// to the container.
pub fn launch(
    exe: &Path,
    store_root: &Path,
    runtime_root: &Path,
    id: &str,
    log: &Path,
    attach_stdin: bool,
    adopt: bool,
) -> Result<Launched> {
    let (r, w) = pipe().map_err(|e| Error::sys("ready pipe", e))?;
    // Our terminal never reaches the container (it could type into our
    // shell with TIOCSTI): a pipe we relay instead (see
    // `containerv::linux::relay`), for as long as we are attached.
    let mut pending = None;
    let stdin_copy: Option<File> = if !attach_stdin {
        None
    } else if let ([containerv::Stdio::Fd(r), _, _], p @ Some(_)) = relay::terminal_pipes([
        containerv::Stdio::Inherit,
        containerv::Stdio::Null,
        containerv::Stdio::Null,
    ])? {
        pending = p;
        Some(File::from(r))
    } else {
        // SAFETY: dup of our stdin, CLOEXEC, owned by the File.
        let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
        // SAFETY: a fresh descriptor from the fcntl above, owned by the File.
        (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
    };
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io("open", log, e))?;
    let ready_fd = w.as_raw_fd();
    let stdin_fd = stdin_copy.as_ref().map(|f| f.as_raw_fd());
    // The small `cv-monitor` beside `exe` if there is one (built with
    // it), else `exe __monitor`.
    // `CV_MONITOR_BUILTIN=1` always uses `exe __monitor` (the tests do:
    // cargo does not rebuild `cv-monitor` with `cv`).
    let small = exe.with_file_name("cv-monitor");
    let builtin = std::env::var_os("CV_MONITOR_BUILTIN").is_some_and(|v| v == "1");
    let mut cmd = if small.is_file() && !builtin {
        Command::new(&small)
    } else {
        let mut c = Command::new(exe);
        c.arg(MONITOR_ARG);
        c
    };
    cmd.arg(store_root)
        .arg(runtime_root)
        .arg(id)
        .arg("3")
        .arg(if stdin_fd.is_some() { "4" } else { "-" })
        .args(adopt.then_some(ADOPT_ARG))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    // SAFETY: only async-signal-safe calls (setsid, fcntl, dup2, close).
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            // Move both out of the way first: either may be 3 or 4 now.
            let mut moved = [(-1, 3), (-1, 4)];
            for (slot, from) in moved.iter_mut().zip([Some(ready_fd), stdin_fd]) {
                if let Some(f) = from {
                    slot.0 = libc::fcntl(f, libc::F_DUPFD, 10);
                    if slot.0 < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            for (tmp, to) in moved {
                if tmp >= 0 {
                    if libc::dup2(tmp, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(tmp);
                }
            }
            // Nothing else of the caller's reaches the monitor: a
            // descriptor it inherited (`cv run -d … 9>&1 | cat`) would
            // keep the caller's pipe open for the container's lifetime.
            // Marked close-on-exec rather than closed, so std's own
            // exec-error pipe keeps working.
            mark_cloexec_from(if stdin_fd.is_some() { 5 } else { 4 });
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start the monitor", exe, e))?;
    let _ = child.wait();
    drop(w);
    drop(stdin_copy);
    let stdin_relay = match pending.map(relay::PendingRelay::start) {
        Some(Ok(r)) => Some(r),
        // The container then reads an empty stdin.
        _ => None,
    };
    Ok(Launched {
        pipe: BufReader::new(r),
        _stdin_relay: stdin_relay,
    })
}

/// Marks every descriptor from `first` up close-on-exec. Runs between
/// fork and exec: system calls only, no allocation.
fn mark_cloexec_from(first: u32) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range(2) on our own descriptor table; with
    // CLOSE_RANGE_CLOEXEC it only sets flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return;
    }
    // Kernels before 5.11: one by one, up to the descriptor limit.
    // SAFETY: sysconf and fcntl on descriptors of this process.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max <= 0 { 65_536 } else { max.min(1 << 20) } as i32;
    for fd in first as i32..max {
        // SAFETY: as above; EBADF for unused numbers is fine.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

impl Launched {
    fn next(&mut self) -> Option<serde_json::Value> {
        let mut line = String::new();
        match self.pipe.read_line(&mut line) {
            Ok(n) if n > 0 => serde_json::from_str(&line).ok(),
            _ => None,
        }
    }

    /// Waits until the container runs; its failure to start is the error.
    pub fn wait_ready(&mut self, id: &str) -> Result<()> {
        match self.next() {
            Some(v) if v.get("ok").is_some() => Ok(()),
            Some(v) => Err(Error::StartFailed {
                id: id.to_string(),
                reason: v
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("unknown error")
                    .to_string(),
            }),
            None => Err(Error::StartFailed {
                id: id.to_string(),
                reason: "the monitor ended without reporting (see monitor.log)".into(),
            }),
        }
    }

    /// Waits for the container's final exit code (`None` if the monitor
    /// died first).
    pub fn wait_exit(&mut self) -> Option<i32> {
        loop {
            let v = self.next()?;
            if let Some(c) = v.get("exit").and_then(|c| c.as_i64()) {
                return Some(c as i32);
            }
        }
    }

    /// The pipe, for polling alongside other work.
    pub fn fd(&self) -> RawFd {
        self.pipe.get_ref().as_raw_fd()
    }
}

/// The monitor's log file of a container directory.
pub fn monitor_log(dir: &Path) -> PathBuf {
    dir.join("monitor.log")
}
