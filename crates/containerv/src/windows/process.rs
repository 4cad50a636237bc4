//! A process started in a container: its handle, its pipes, wait and kill.

use std::fs::File;
use std::os::windows::io::{AsRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, TerminateProcess, WaitForSingleObject, INFINITE,
};

use super::signal::{self, Action};
use super::sys::{check, last_error};
use crate::error::{Error, Result};
use crate::process::ExitStatus;

/// A process started by `spawn`. Dropping it does not end it (the job
/// does, with kill-on-close, when the container's last handle closes).
#[derive(Debug)]
pub struct Process {
    pid: u32,
    handle: OwnedHandle,
    status: Option<ExitStatus>,
    /// The caller's end of a `Stdio::Pipe` stdin.
    pub stdin: Option<File>,
    /// The caller's end of a `Stdio::Pipe` stdout.
    pub stdout: Option<File>,
    /// The caller's end of a `Stdio::Pipe` stderr.
    pub stderr: Option<File>,
}

impl Process {
    pub(crate) fn new(pid: u32, handle: OwnedHandle) -> Process {
        Process {
            pid,
            handle,
            status: None,
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Process id.
    pub fn pid(&self) -> i32 {
        self.pid as i32
    }

    /// Waits for it to end. Closes our end of its stdin pipe first (as
    /// `std::process::Child::wait` does), so a child reading stdin sees EOF.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        drop(self.stdin.take());
        // SAFETY: our process handle is open with SYNCHRONIZE.
        let r = unsafe { WaitForSingleObject(self.handle.as_raw_handle(), INFINITE) };
        if r != WAIT_OBJECT_0 {
            return Err(last_error(format!(
                "WaitForSingleObject on process {}",
                self.pid
            )));
        }
        let s = exit_status(&self.handle, self.pid)?;
        self.status = Some(s);
        Ok(s)
    }

    /// The exit status if it has ended, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        // SAFETY: our process handle is open with SYNCHRONIZE.
        match unsafe { WaitForSingleObject(self.handle.as_raw_handle(), 0) } {
            WAIT_OBJECT_0 => {
                let s = exit_status(&self.handle, self.pid)?;
                self.status = Some(s);
                Ok(Some(s))
            }
            WAIT_TIMEOUT => Ok(None),
            _ => Err(last_error(format!(
                "WaitForSingleObject on process {}",
                self.pid
            ))),
        }
    }

    /// "Sends" a signal: see the `signal` module for the mapping (9 and 15
    /// terminate with exit code 128 + signal).
    pub fn kill(&self, signal: i32) -> Result<()> {
        signal_process(&self.handle, self.pid, signal)
    }
}

/// Applies `signal` to an open process handle.
pub(crate) fn signal_process(handle: &OwnedHandle, pid: u32, signal: i32) -> Result<()> {
    match signal::action(signal)? {
        Action::Check => {
            // SAFETY: the handle is open with SYNCHRONIZE.
            if unsafe { WaitForSingleObject(handle.as_raw_handle(), 0) } == WAIT_OBJECT_0 {
                return Err(Error::sys(
                    format!("signal 0 to process {pid}"),
                    std::io::Error::other("the process has exited"),
                ));
            }
            Ok(())
        }
        Action::Terminate(code) => {
            // SAFETY: the handle is open with PROCESS_TERMINATE.
            let ok = unsafe { TerminateProcess(handle.as_raw_handle(), code) };
            if ok == 0 {
                // Terminating a process that already ended fails with
                // access denied; that is not an error for the caller.
                // SAFETY: the handle is open with SYNCHRONIZE.
                if unsafe { WaitForSingleObject(handle.as_raw_handle(), 0) } == WAIT_OBJECT_0 {
                    return Ok(());
                }
            }
            check(ok, format!("TerminateProcess {pid} (signal {signal})"))
        }
    }
}

fn exit_status(handle: &OwnedHandle, pid: u32) -> Result<ExitStatus> {
    let mut code = 0u32;
    // SAFETY: the handle is open with PROCESS_QUERY_(LIMITED_)INFORMATION.
    let ok = unsafe { GetExitCodeProcess(handle.as_raw_handle(), &mut code) };
    check(ok, format!("GetExitCodeProcess {pid}"))?;
    Ok(ExitStatus::Exited(code as i32))
}
