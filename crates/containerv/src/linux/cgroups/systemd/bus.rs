//! systemd's manager on the system bus (org.freedesktop.systemd1), through
//! zbus's blocking API: the four calls the driver needs, each waiting for
//! its job as runc does (`JobRemoved` with result "done", 30 s at most).
//!
//! The connection is made only when a container uses the systemd driver,
//! so the cgroupfs path pays nothing for it (no socket, no thread).

use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::OwnedObjectPath;

use super::props::Prop;
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const IFACE: &str = "org.freedesktop.systemd1.Manager";
/// How long a job may take (runc: 30 s).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

fn err(what: impl std::fmt::Display) -> Error {
    Error::Cgroup {
        path: "systemd".into(),
        message: what.to_string(),
    }
}

/// The D-Bus error name of a failed call, if it is one.
fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        zbus::Error::FDO(fdo) => match **fdo {
            zbus::fdo::Error::ServiceUnknown(_) => {
                Some("org.freedesktop.DBus.Error.ServiceUnknown")
            }
            _ => None,
        },
        _ => None,
    }
}

/// Runs `f` in a forked child and returns its result (errors as text):
/// zbus's threads and sockets live and die there, and the caller stays
/// single-threaded (it clones the container's init afterwards).
pub(crate) fn in_child(f: impl FnOnce() -> Result<()>) -> Result<()> {
    use std::io::{Read, Write};
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the two-element array; the result is checked.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::sys("pipe", std::io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned here.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the caller is single-threaded (see the module docs), so the
    // child may allocate and start threads; it leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::sys("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(rd);
        let msg = match f() {
            Ok(()) => String::new(),
            Err(Error::Cgroup { message, .. }) => format!("C{message}"),
            Err(e) => format!("E{e}"),
        };
        let mut w = std::fs::File::from(wr);
        let _ = w.write_all(msg.as_bytes());
        drop(w);
        // SAFETY: ends the child without running the parent's exit code.
        unsafe { libc::_exit(0) };
    }
    drop(wr);
    let mut out = String::new();
    let read = std::fs::File::from(rd).read_to_string(&mut out);
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    read.map_err(|e| Error::sys("read the D-Bus helper's answer", e))?;
    if !libc::WIFEXITED(status) {
        return Err(err(format!(
            "the D-Bus helper process died (wait status {status})"
        )));
    }
    match out.split_at_checked(1) {
        None => Ok(()),
        Some(("C", m)) => Err(err(m)),
        Some((_, m)) => Err(Error::Cgroup {
            path: "systemd".into(),
            message: m.to_string(),
        }),
    }
}

/// A connection to systemd's manager.
pub(crate) struct Systemd1 {
    mgr: Proxy<'static>,
}

impl Systemd1 {
    /// Connects to the system bus and checks that systemd answers there.
    pub fn connect() -> Result<Systemd1> {
        let conn = Connection::system().map_err(|e| {
            err(format!(
                "the systemd cgroup driver (--systemd-cgroup) needs systemd on the D-Bus system bus, \
                 which cannot be reached ({e}); is this host running systemd as pid 1 and dbus?"
            ))
        })?;
        let mgr = Proxy::new_owned(conn, DEST, PATH, IFACE)
            .map_err(|e| err(format!("systemd manager proxy: {e}")))?;
        // Job signals are only sent to subscribers.
        mgr.call::<_, _, ()>("Subscribe", &()).map_err(|e| {
            err(format!(
                "the systemd cgroup driver (--systemd-cgroup) needs systemd on the D-Bus system bus, \
                 which does not answer there ({e}); is this host running systemd as pid 1?"
            ))
        })?;
        Ok(Systemd1 { mgr })
    }

    /// StartTransientUnit(unit, "replace", props) and wait for its job.
    pub fn start_transient(&self, unit: &str, props: &[Prop]) -> Result<()> {
        let aux: Vec<(&str, Vec<Prop>)> = Vec::new();
        let call = || -> std::result::Result<OwnedObjectPath, zbus::Error> {
            self.mgr
                .call("StartTransientUnit", &(unit, "replace", props, &aux))
        };
        self.with_job(unit, "start", || match call() {
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.UnitExists") => {
                // A failed unit of that name stays loaded until reset
                // (runc resets it and tries once more).
                let _ = self.mgr.call::<_, _, ()>("ResetFailedUnit", &(unit,));
                call().map_err(|e| match error_name(&e) {
                    Some("org.freedesktop.systemd1.UnitExists") => err(format!(
                        "unit {unit} already exists (another container with the same cgroupsPath?)"
                    )),
                    _ => err(format!("StartTransientUnit {unit}: {e}")),
                })
            }
            r => r.map_err(|e| err(format!("StartTransientUnit {unit}: {e}"))),
        })
    }

    /// SetUnitProperties(unit, runtime=true, props).
    pub fn set_properties(&self, unit: &str, props: &[Prop]) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        self.mgr
            .call::<_, _, ()>("SetUnitProperties", &(unit, true, props))
            .map_err(|e| err(format!("SetUnitProperties {unit}: {e}")))
    }

    /// StopUnit(unit) and wait; a unit that is gone already is fine. Then
    /// ResetFailedUnit, so a failed scope does not stay loaded.
    pub fn stop(&self, unit: &str) -> Result<()> {
        let r = self.with_job(unit, "stop", || {
            self.mgr
                .call::<_, _, OwnedObjectPath>("StopUnit", &(unit, "replace"))
                .map_err(|e| match error_name(&e) {
                    Some("org.freedesktop.systemd1.NoSuchUnit") => Error::NotFound(unit.into()),
                    _ => err(format!("StopUnit {unit}: {e}")),
                })
        });
        let _ = self.mgr.call::<_, _, ()>("ResetFailedUnit", &(unit,));
        match r {
            Err(Error::NotFound(_)) => Ok(()),
            r => r,
        }
    }

    /// Whether systemd has a unit of that name loaded.
    pub fn unit_loaded(&self, unit: &str) -> Result<bool> {
        match self.mgr.call::<_, _, OwnedObjectPath>("GetUnit", &(unit,)) {
            Ok(_) => Ok(true),
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => Ok(false),
            Err(e) => Err(err(format!("GetUnit {unit}: {e}"))),
        }
    }

    /// Runs `submit` (which returns a job path) and waits for that job's
    /// JobRemoved signal: "done" is success, any other result an error.
    fn with_job(
        &self,
        unit: &str,
        what: &str,
        submit: impl FnOnce() -> Result<OwnedObjectPath>,
    ) -> Result<()> {
        // Listen before submitting, so the signal cannot be missed.
        let signals = self
            .mgr
            .receive_signal("JobRemoved")
            .map_err(|e| err(format!("listening for systemd's JobRemoved: {e}")))?;
        let job = submit()?;
        let (tx, rx) = mpsc::channel();
        let want = job.clone();
        // The iterator blocks; a thread lets us give up after the timeout
        // (it ends at the job's signal, or with the process).
        std::thread::Builder::new()
            .name("systemd-job".into())
            .spawn(move || {
                for msg in signals {
                    let Ok((_, path, _, result)) = msg
                        .body()
                        .deserialize::<(u32, OwnedObjectPath, String, String)>()
                    else {
                        continue;
                    };
                    if path == want {
                        let _ = tx.send(result);
                        return;
                    }
                }
            })
            .map_err(|e| err(format!("thread: {e}")))?;
        match rx.recv_timeout(JOB_TIMEOUT) {
            Ok(r) if r == "done" => Ok(()),
            Ok(r) => Err(err(format!(
                "systemd's {what} job for {unit} ended with result \"{r}\" (see `journalctl -u {unit}`)"
            ))),
            Err(_) => Err(err(format!(
                "systemd's {what} job for {unit} ({}) did not finish within {} s",
                job.as_str(),
                JOB_TIMEOUT.as_secs()
            ))),
        }
    }
}
