//! exec: a process in a running container, from `--process FILE` (an OCI
//! process JSON, what podman and containerd send) or from arguments on top
//! of the container's own process (its env, user, capabilities, rlimits),
//! as runc builds it.

use std::path::Path;

use containerv::linux::{relay, ProcessIo};
use containerv::{Status, Stdio};
use oci_spec::runtime::{Capability, Process, UserBuilder};

use super::{open, seal, status};
use crate::cli::{Cli, ExecArgs};
use crate::error::{fail, Fail, Result};
use crate::{console, log, signal};

pub fn exec(cli: &Cli, a: &ExecArgs) -> Result<i32> {
    seal()?;
    let c = open(cli, &a.id)?;
    match status(&c)? {
        Status::Stopped => return fail("cannot exec in a stopped container"),
        Status::Paused if !a.ignore_paused => {
            return fail("cannot exec in a paused container (use --ignore-paused)")
        }
        _ => {}
    }
    let mut process = match &a.process {
        Some(f) => read_process(f)?,
        None => from_args(c.spec().process().as_ref(), a)?,
    };
    let terminal = process.terminal().unwrap_or(false);
    let (console_socket, relay) =
        console::socket_for(terminal, a.console_socket.as_deref(), a.detach)?;
    if relay.is_some() {
        console::initial_size(&mut process);
    }
    // A foreground process without a terminal never gets ours (see
    // `containerv::linux::relay`): pipes we relay instead.
    let ([stdin, stdout, stderr], pipes) = if a.detach || terminal {
        ([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit], None)
    } else {
        relay::terminal_pipes([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit])?
    };
    let io = ProcessIo {
        stdin,
        stdout,
        stderr,
        console_socket,
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
    };
    let mut p = c.exec(&process, io)?;
    log::debug(|| format!("exec in {}: pid {}", a.id, p.pid()));
    if a.detach {
        return Ok(0);
    }
    let pipes = pipes.map(relay::PendingRelay::start).transpose()?;
    signal::forward_to(p.pid());
    if let Some(l) = relay {
        // The process runs; without its terminal it gets SIGHUP when we
        // go, as from any closed terminal.
        let master = l.take_master()?;
        drop(l);
        console::relay(master)?;
    }
    let code = p.wait()?.code();
    if let Some(r) = pipes {
        r.finish();
    }
    Ok(code)
}

/// An OCI process JSON file (`runc exec --process`).
fn read_process(path: &Path) -> Result<Process> {
    let text = std::fs::read(path)
        .map_err(|e| Fail::new(format!("read process file {}: {e}", path.display())))?;
    let p: Process = serde_json::from_slice(&text).map_err(|e| {
        Fail::new(format!(
            "process file {} is not a valid OCI process: {e}",
            path.display()
        ))
    })?;
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return fail(format!(
            "process file {}: args must not be empty",
            path.display()
        ));
    }
    Ok(p)
}

/// The container's process with this command and the exec flags applied.
fn from_args(base: Option<&Process>, a: &ExecArgs) -> Result<Process> {
    if a.command.is_empty() {
        return fail("exec: no command given (args after the container id, or --process FILE)");
    }
    let mut p = base.cloned().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    p.set_console_size(None);
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &a.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(u) = &a.user {
        let mut b = UserBuilder::default();
        let (uid, gid) = u.split_once(':').unwrap_or((u, ""));
        match uid.parse::<u32>() {
            Ok(uid) => {
                let gid = if gid.is_empty() {
                    Ok(0)
                } else {
                    gid.parse::<u32>()
                };
                let gid =
                    gid.map_err(|_| Fail::new(format!("--user {u:?}: gid is not a number")))?;
                b = b.uid(uid).gid(gid);
            }
            Err(_) => b = b.username(u.clone()),
        }
        if !a.additional_gids.is_empty() {
            b = b.additional_gids(a.additional_gids.clone());
        }
        p.set_user(
            b.build()
                .map_err(|e| Fail::new(format!("--user {u:?}: {e}")))?,
        );
    } else if !a.additional_gids.is_empty() {
        let mut u = p.user().clone();
        u.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(u);
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.cap {
            let cap: Capability =
                serde_json::from_value(serde_json::Value::String(name.clone()))
                    .map_err(|_| Fail::new(format!("--cap: unknown capability {name:?}")))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}
