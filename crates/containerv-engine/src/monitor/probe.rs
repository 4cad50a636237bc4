//! One health probe in flight: the check command spawned in the container
//! (stdout and stderr into one pipe), its output collected from the
//! monitor's poll loop, killed when its timeout passes.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use chrono::{DateTime, Utc};
use containerv::{Container, Process, ProcessOptions, Stdio};

use super::fd::{pipe, read_some, set_nonblocking, ReadOutcome};
use crate::health::{HealthConfig, ProbeResult, MAX_OUTPUT_LEN};

pub struct Probe {
    process: Option<Process>,
    out: File,
    buf: Vec<u8>,
    started: DateTime<Utc>,
    pub deadline: Instant,
    pub eof: bool,
}

impl Probe {
    /// Starts the check. An error to start is itself a failed result.
    pub fn start(c: &Container, hc: &HealthConfig) -> Result<Probe, ProbeResult> {
        let started = Utc::now();
        let fail = |msg: String| ProbeResult::new(started, Utc::now(), -1, msg.as_bytes());
        let (r, w) = pipe().map_err(|e| fail(format!("pipe: {e}")))?;
        let w2 = w.try_clone().map_err(|e| fail(format!("dup: {e}")))?;
        let opts = ProcessOptions {
            args: hc.argv(),
            stdin: Stdio::Null,
            stdout: Stdio::Fd(OwnedFd::from(w)),
            stderr: Stdio::Fd(OwnedFd::from(w2)),
            ..Default::default()
        };
        let process = c.spawn(opts).map_err(|e| fail(e.to_string()))?;
        set_nonblocking(r.as_raw_fd());
        Ok(Probe {
            process: Some(process),
            out: r,
            buf: Vec::new(),
            started,
            deadline: Instant::now() + hc.timeout,
            eof: false,
        })
    }

    pub fn fd(&self) -> RawFd {
        if self.eof {
            -1
        } else {
            self.out.as_raw_fd()
        }
    }

    /// Reads what the probe wrote.
    pub fn read(&mut self) {
        let mut chunk = [0u8; 4096];
        loop {
            match read_some(&mut self.out, &mut chunk) {
                ReadOutcome::Data(n) => {
                    if self.buf.len() < MAX_OUTPUT_LEN {
                        self.buf.extend_from_slice(&chunk[..n]);
                    }
                }
                ReadOutcome::WouldBlock => return,
                ReadOutcome::Eof => {
                    self.eof = true;
                    return;
                }
            }
        }
    }

    /// The result once the probe has ended (after its output closed).
    pub fn try_finish(&mut self) -> Option<ProbeResult> {
        let p = self.process.as_mut()?;
        match p.try_wait() {
            Ok(Some(st)) => {
                self.process = None;
                Some(ProbeResult::new(
                    self.started,
                    Utc::now(),
                    st.code(),
                    &self.buf,
                ))
            }
            Ok(None) => None,
            Err(e) => {
                self.process = None;
                Some(ProbeResult::new(
                    self.started,
                    Utc::now(),
                    -1,
                    e.to_string().as_bytes(),
                ))
            }
        }
    }

    /// Kills a probe past its deadline and returns docker's timeout result.
    pub fn time_out(&mut self, hc: &HealthConfig) -> ProbeResult {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill(libc::SIGKILL);
            let _ = p.wait();
        }
        ProbeResult::timed_out(self.started, Utc::now(), hc.timeout)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill(libc::SIGKILL);
            let _ = p.wait();
        }
    }
}
