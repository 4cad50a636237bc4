//! A Windows container: a named job object, a working directory, a state
//! file, and (when the spec has a command) an init process.

use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::JobObjects::IsProcessInJob;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcess, WaitForSingleObject, PROCESS_QUERY_INFORMATION,
    PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
};

use super::envblock::EnvBlock;
use super::job::Job;
use super::process::{signal_process, Process};
use super::spawn::{self, Prepared};
use super::stats::{self as job_stats, Samples};
use super::sys::{check, owned};
use crate::error::{Error, Result};
use crate::process::{ExitStatus, ProcessOptions};
use crate::stats::{ProcessInfo, Stats};

/// Exit code of the processes `destroy` ends (128 + SIGKILL, as on Linux).
pub(crate) const DESTROY_EXIT_CODE: u32 = 137;

/// What is kept on disk in `<root>\<id>\state.json`, so `Runtime::open`
/// in another process finds the container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub id: String,
    pub working_dir: PathBuf,
    /// The working directory was made by us (removed on destroy).
    pub owns_working_dir: bool,
    /// The container's environment entries (the spec's `process.env`).
    pub env: Vec<String>,
    /// Pid of the init, 0 without one.
    pub init_pid: u32,
}

/// The init process of a container created with a command.
#[derive(Debug)]
pub(crate) struct Init {
    pub process: Mutex<Process>,
    /// Its main thread while still suspended (`StartMode::OnStart`).
    pub pending: Mutex<Option<OwnedHandle>>,
}

/// A container on a job object. Dropping it closes its job handle: with
/// kill-on-close (the default) the container's processes end when the last
/// handle to the job, in any process, closes; its directory stays until
/// `destroy` (or a later `create` of the same id, which clears it).
#[derive(Debug)]
pub struct Container {
    pub(crate) state: State,
    pub(crate) dir: PathBuf,
    pub(crate) job: Job,
    pub(crate) init: Option<Init>,
    pub(crate) samples: Mutex<Samples>,
}

impl Container {
    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// Pid of the container's init, 0 when it has none (created without a
    /// command, or opened from another process).
    pub fn pid(&self) -> i32 {
        self.state.init_pid as i32
    }

    /// The container's working directory (the default working directory
    /// of its processes).
    pub fn working_dir(&self) -> &Path {
        &self.state.working_dir
    }

    /// The job object's name (`containerv-<id>`).
    pub fn job_name(&self) -> String {
        super::job::job_name(self.id())
    }

    /// Lets the init run (containers created with `StartMode::OnStart`).
    pub fn start(&self) -> Result<()> {
        let init = self.init.as_ref().ok_or_else(|| Error::InvalidState {
            id: self.id().to_string(),
            status: "without an init".into(),
            operation: "start",
        })?;
        let thread = lock(&init.pending)
            .take()
            .ok_or_else(|| Error::InvalidState {
                id: self.id().to_string(),
                status: "started".into(),
                operation: "start",
            })?;
        spawn::resume_thread(&thread)
    }

    /// Waits for the init to end (the container's own process).
    pub fn wait_init(&self) -> Result<ExitStatus> {
        let init = self.init.as_ref().ok_or_else(|| Error::InvalidState {
            id: self.id().to_string(),
            status: "without an init".into(),
            operation: "wait for the init",
        })?;
        lock(&init.process).wait()
    }

    /// Runs a process in the container: created suspended, put in the job,
    /// then resumed. `options.env` adds to the container's environment;
    /// `options.cwd` is relative to the working directory (default: it).
    pub fn spawn(&self, options: ProcessOptions) -> Result<Process> {
        if options.user.is_some() {
            return Err(Error::Unsupported(
                "user on Windows: processes run as the caller".into(),
            ));
        }
        let mut env = EnvBlock::from_host();
        env.extend(&self.state.env)?;
        env.extend(&options.env)?;
        let cwd = resolve_cwd(&self.state.working_dir, options.cwd.as_deref());
        let prepared = Prepared::new(&options.args, env, cwd)?;
        let s = spawn::spawn_in_job(
            &self.job,
            &prepared,
            [options.stdin, options.stdout, options.stderr],
            true,
        )?;
        let mut p = Process::new(s.pid, s.process);
        p.stdin = s.stdin;
        p.stdout = s.stdout;
        p.stderr = s.stderr;
        if options.wait {
            p.wait()?;
        }
        Ok(p)
    }

    /// Applies `signal` (see the `signal` module: 9/15 terminate with exit
    /// code 128 + signal) to process `pid`, which must be in the container.
    pub fn kill(&self, pid: i32, signal: i32) -> Result<()> {
        let not_ours = || {
            Error::option(
                "pid",
                pid.to_string(),
                format!("is not a process of container {:?}", self.id()),
            )
        };
        super::signal::action(signal)?;
        let upid = u32::try_from(pid).map_err(|_| not_ours())?;
        if !self.job.process_ids()?.contains(&upid) {
            return Err(not_ours());
        }
        // SAFETY: OpenProcess has no memory-safety preconditions.
        let h = unsafe {
            OpenProcess(
                PROCESS_TERMINATE | PROCESS_SYNCHRONIZE | PROCESS_QUERY_INFORMATION,
                0,
                upid,
            )
        };
        let h = owned(h, format!("OpenProcess {pid}"))?;
        // The pid may have been reused since the list: check the handle.
        let mut in_job = 0;
        // SAFETY: both handles are open; `in_job` is a valid out-pointer.
        let ok = unsafe { IsProcessInJob(h.as_raw_handle(), self.job.raw(), &mut in_job) };
        check(ok, format!("IsProcessInJob {pid}"))?;
        if in_job == 0 {
            return Err(not_ours());
        }
        signal_process(&h, upid, signal)
    }

    /// `signal` to the init, or with `all` to every process of the container.
    pub fn signal(&self, signal: i32, all: bool) -> Result<()> {
        if all {
            for pid in self.job.process_ids()? {
                match self.kill(pid as i32, signal) {
                    Ok(()) | Err(Error::InvalidOption { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(());
        }
        match &self.init {
            Some(init) => lock(&init.process).kill(signal),
            None => Err(Error::InvalidState {
                id: self.id().to_string(),
                status: "without an init".into(),
                operation: "signal the init",
            }),
        }
    }

    /// Copies a host file or directory into the container: to `dest`
    /// under its working directory (`/` or `\` separators; no `..`).
    pub fn upload(&self, host_src: &Path, dest: &Path) -> Result<()> {
        super::fs_copy::copy(
            host_src,
            &super::fs_copy::resolve(self.working_dir(), dest)?,
        )
    }

    /// Copies a file or directory of the container (under its working
    /// directory) out to `host_dest`.
    pub fn download(&self, src: &Path, host_dest: &Path) -> Result<()> {
        super::fs_copy::copy(
            &super::fs_copy::resolve(self.working_dir(), src)?,
            host_dest,
        )
    }

    /// Puts the calling process into the container's job (the seed's
    /// `containerv_join`): the job's limits apply to it and to what it
    /// starts from then on, and it ends with the container.
    pub fn join(&self) -> Result<()> {
        // SAFETY: GetCurrentProcess returns a pseudo handle with all access.
        self.job.assign(unsafe { GetCurrentProcess() })
    }

    /// One sample of the container's figures (see the `stats` module).
    pub fn stats(&self) -> Result<Stats> {
        job_stats::stats(&self.job, &mut lock(&self.samples))
    }

    /// The container's processes now.
    pub fn processes(&self) -> Result<Vec<ProcessInfo>> {
        job_stats::processes(&self.job, &mut lock(&self.samples))
    }

    /// Ends every process (`TerminateJobObject`, exit code 137), waits up to
    /// 5 s for them to be gone, closes the job and removes the container's
    /// directory (with its working directory unless the caller gave it).
    pub fn destroy(self) -> Result<()> {
        self.job.terminate(DESTROY_EXIT_CODE)?;
        wait_empty(&self.job, Duration::from_secs(5))?;
        drop(self.init);
        drop(self.job);
        remove_dir_retrying(&self.dir)?;
        Ok(())
    }
}

/// The working directory of a process: the container's, or `cwd` relative
/// to it; "/" and "" (the portable default) mean the container's.
pub(crate) fn resolve_cwd(working_dir: &Path, cwd: Option<&Path>) -> PathBuf {
    match cwd {
        None => working_dir.to_path_buf(),
        Some(c) if c.as_os_str().is_empty() || c == Path::new("/") => working_dir.to_path_buf(),
        Some(c) => working_dir.join(c),
    }
}

/// Waits until no process is left in the job (bounded by `limit`).
fn wait_empty(job: &Job, limit: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let pids = job.process_ids()?;
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            // SAFETY: OpenProcess has no memory-safety preconditions.
            let h = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
            if let Ok(h) = owned(h, "OpenProcess") {
                let left = limit.saturating_sub(start.elapsed()).as_millis() as u32;
                // SAFETY: the handle is open with SYNCHRONIZE.
                let r = unsafe { WaitForSingleObject(h.as_raw_handle(), left) };
                debug_assert!(r == WAIT_OBJECT_0 || r == WAIT_TIMEOUT || r == u32::MAX);
            }
        }
        if start.elapsed() >= limit {
            return Err(Error::sys(
                "destroy: wait for the job's processes to end",
                std::io::Error::from(std::io::ErrorKind::TimedOut),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Removes `dir`; retries for up to 2 s while files in it are still held by
/// ending processes (Windows refuses to delete open files).
pub(crate) fn remove_dir_retrying(dir: &Path) -> Result<()> {
    let start = Instant::now();
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if start.elapsed() > Duration::from_secs(2) => {
                return Err(Error::io("remove container directory", dir, e))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
