//! create, start, run, kill, delete, pause, resume: the OCI lifecycle,
//! with runc's checks and runc's words for a command that does not fit
//! the container's status.

use containerv::linux::relay::{self, PendingRelay};
use containerv::linux::HookKind;
use containerv::{CgroupDriver, Container, CreateConfig, InitKind, StartMode, Status, Stdio};

use super::{open, require_alive, runtime, seal, status};
use crate::cli::{Cli, CreateArgs, RunArgs};
use crate::error::{fail, Result};
use crate::{bundle, console, log, signal};

/// What [`make`] made: the container, whether it runs, for a foreground
/// `run` with a terminal and no console socket the socket its pty master
/// waits on (see [`console`]), and for one without a terminal the pipes
/// that stand for our terminal streams.
struct Made {
    c: Container,
    running: bool,
    console: Option<console::Listener>,
    pipes: Option<PendingRelay>,
}

/// Make the container: its program set up and waiting for `start`, or
/// with `run_now` already running when that changes nothing observable
/// (the spec has no hooks: no poststart or startContainer to order).
fn make(cli: &Cli, a: &CreateArgs, run_now: bool, detach: bool) -> Result<Made> {
    seal()?;
    let dir = bundle::dir(a.bundle.as_deref())?;
    let mut spec = bundle::load_spec(&dir)?;
    log::debug(|| format!("create {} from bundle {}", a.id, dir.display()));
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let (console_socket, relay) =
        console::socket_for(terminal, a.console_socket.as_deref(), detach)?;
    if relay.is_some() {
        if let Some(p) = spec.process_mut() {
            console::initial_size(p);
        }
    }
    let now = run_now && spec.hooks().is_none();
    // A foreground process without a terminal never gets ours (see
    // `containerv::linux::relay`): pipes we relay instead.
    let ([stdin, stdout, stderr], pipes) = if detach || terminal {
        ([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit], None)
    } else {
        relay::terminal_pipes([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit])?
    };
    let config = CreateConfig {
        init: InitKind::SpecProcess,
        start: if now {
            StartMode::Immediately
        } else {
            StartMode::OnStart
        },
        bundle: Some(dir),
        stdin,
        stdout,
        stderr,
        console_socket,
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        cgroup_driver: if cli.systemd_cgroup {
            CgroupDriver::Systemd
        } else {
            CgroupDriver::Cgroupfs
        },
        ..Default::default()
    };
    let c = runtime(cli)?.create_from_spec(&a.id, spec, config)?;
    Ok(Made {
        c,
        running: now,
        console: relay,
        pipes,
    })
}

pub fn create(cli: &Cli, a: &CreateArgs) -> Result<i32> {
    make(cli, a, false, true)?;
    Ok(0)
}

/// Release the program of a created container, then run poststart hooks
/// (a failing poststart hook is a warning, as the runtime spec says).
fn start_created(c: &Container) -> Result<()> {
    match status(c)? {
        Status::Created => {}
        Status::Stopped => return fail("cannot start a container that has stopped"),
        _ => return fail("cannot start an already running container"),
    }
    c.start()?;
    if let Err(e) = c.run_hooks(HookKind::Poststart) {
        log::error(&format!("warning: {e}"));
    }
    Ok(())
}

pub fn start(cli: &Cli, id: &str) -> Result<i32> {
    start_created(&open(cli, id)?)?;
    Ok(0)
}

pub fn run(cli: &Cli, a: &RunArgs) -> Result<i32> {
    let Made {
        c,
        running,
        console: relay,
        pipes,
    } = make(cli, &a.create, true, a.detach)?;
    let master = match relay.as_ref().map(console::Listener::take_master) {
        Some(Err(e)) => {
            let _ = c.destroy();
            return Err(e);
        }
        m => m.transpose()?,
    };
    drop(relay);
    if running {
        log::debug(|| format!("{} started at create (no hooks)", a.create.id));
    } else if let Err(e) = start_created(&c) {
        let _ = c.destroy();
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let pipes = match pipes.map(PendingRelay::start).transpose() {
        Ok(p) => p,
        Err(e) => {
            let _ = c.destroy();
            return Err(e.into());
        }
    };
    signal::forward_to(c.pid());
    if let Some(m) = master {
        console::relay(m)?;
    }
    let st = c.wait()?;
    if let Some(p) = pipes {
        p.finish();
    }
    log::debug(|| format!("container {} {st}", a.create.id));
    if !a.keep {
        destroy(c)?;
    }
    Ok(st.code())
}

pub fn kill(cli: &Cli, id: &str, sig: &str, all: bool) -> Result<i32> {
    let sig = signal::parse(sig)?;
    let c = open(cli, id)?;
    require_alive(&c)?;
    match c.signal(sig, all) {
        Ok(()) => Ok(0),
        // It died between the check and the signal.
        Err(_) if status(&c)? == Status::Stopped => fail("container not running"),
        Err(e) => Err(e.into()),
    }
}

pub fn delete(cli: &Cli, id: &str, force: bool) -> Result<i32> {
    let c = match open(cli, id) {
        Ok(c) => c,
        // runc: deleting what is not there is fine with --force.
        Err(_) if force && !cli.root.join(id).exists() => return Ok(0),
        Err(e) => return Err(e),
    };
    match status(&c)? {
        Status::Stopped | Status::Created => {}
        Status::Paused if force => {
            // Thaw first so the SIGKILL is delivered.
            let _ = c.resume();
        }
        s if force => log::debug(|| format!("force-deleting {s} container {id}")),
        s => {
            return fail(format!(
                "cannot delete container {id} that is not stopped: {s}"
            ))
        }
    }
    destroy(c)?;
    Ok(0)
}

/// Destroy, then the poststop hooks: a failing hook is a warning ("the
/// runtime MUST log a warning"), the container is gone either way.
fn destroy(c: Container) -> Result<()> {
    if let Some(e) = c.destroy_then_poststop()? {
        log::error(&format!("warning: {e}"));
    }
    Ok(())
}

pub fn pause(cli: &Cli, id: &str) -> Result<i32> {
    let c = open(cli, id)?;
    if status(&c)? != Status::Running {
        return fail("container not running");
    }
    c.pause()?;
    Ok(0)
}

pub fn resume(cli: &Cli, id: &str) -> Result<i32> {
    let c = open(cli, id)?;
    if status(&c)? != Status::Paused {
        return fail("container not paused");
    }
    c.resume()?;
    Ok(0)
}
