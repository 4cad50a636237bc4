//! `cv exec`: a process in a running container through the core library
//! (it joins the container's namespaces and cgroup; no agent inside),
//! from a sealed copy of `cv` (see `containerv::linux::exeseal`),
//! waited for and its exit code returned (`-d`: left running). docker's
//! `exec_create`/`exec_start` events before it runs, `exec_die` after
//! (not for `-d`: nothing waits for a detached exec).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use containerv::linux::relay;
use containerv::{ProcessOptions, Stdio, User};
use containerv_engine::events::exec::ExecEvents;
use containerv_engine::record::ContainerConfig;
use containerv_engine::tty::{proxy, window_size, ConsoleSocket, RawMode};
use containerv_engine::Engine;
use oci_spec::runtime::{BoxBuilder, UserBuilder};

use super::super::Context;

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background.
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// User (name|uid[:group|gid]).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

pub fn exec(ctx: &Context, a: ExecArgs) -> anyhow::Result<()> {
    // The process entering the container is our clone: run from a binary
    // no container process can write through (CVE-2019-5736). This starts
    // `cv` again with the same arguments; nothing ran before it.
    containerv::linux::exeseal::ensure_sealed()?;
    let e = ctx.engine()?;
    let id = e.store.resolve(&a.container)?;
    let config = e.store.load_config(&id)?;
    let c = e.core_for_exec(&id)?;
    let mut env = config.env.clone();
    for kv in &a.env {
        if !kv.contains('=') || kv.starts_with('=') {
            bail!("invalid -e {kv:?}: expected KEY=VALUE");
        }
        let key = kv.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    if a.tty {
        return exec_tty(&e, &config, &c, &a, env);
    }
    let stdin = if a.interactive && !a.detach {
        Stdio::Inherit
    } else {
        Stdio::Null
    };
    let out = || {
        if a.detach {
            Stdio::Null
        } else {
            Stdio::Inherit
        }
    };
    // Our terminal never reaches the container (it could type into our
    // shell with TIOCSTI): pipes relayed by us instead (see
    // `containerv::linux::relay`).
    let ([stdin, stdout, stderr], pipes) = relay::terminal_pipes([stdin, out(), out()])?;
    let opts = ProcessOptions {
        args: a.command.clone(),
        env,
        cwd: a
            .workdir
            .clone()
            .or(config.working_dir.clone())
            .map(PathBuf::from),
        user: a.user.clone().or(config.user.clone()).map(User::Name),
        stdin,
        stdout,
        stderr,
        wait: false,
    };
    let events = ExecEvents::start(e.store.root(), &config, &a.command);
    let mut p = c.spawn(opts)?;
    if a.detach {
        return Ok(());
    }
    let pipes = pipes.map(relay::PendingRelay::start).transpose()?;
    let st = p.wait()?;
    if let Some(r) = pipes {
        r.finish();
    }
    events.died(e.store.root(), &config, st.code());
    std::process::exit(st.code());
}

/// `exec -t`: the process gets a pty from the container's devpts; its
/// master comes back over a console socket and is proxied to our
/// terminal (in raw mode while attached).
fn exec_tty(
    e: &Engine,
    config: &ContainerConfig,
    c: &containerv::Container,
    a: &ExecArgs,
    env: Vec<String>,
) -> anyhow::Result<()> {
    let id = &config.id;
    let (workdir, user) = (config.working_dir.clone(), config.user.clone());
    let mut process = c
        .spec()
        .process()
        .clone()
        .ok_or_else(|| anyhow::anyhow!("container {id} has no process in its spec"))?;
    process.set_args(Some(a.command.clone()));
    process.set_env(Some(env));
    process.set_cwd(PathBuf::from(
        a.workdir.clone().or(workdir).unwrap_or_else(|| "/".into()),
    ));
    if let Some(u) = a.user.clone().or(user) {
        process.set_user(UserBuilder::default().username(u).build()?);
    }
    process.set_terminal(Some(true));
    if let Some((rows, cols)) = window_size() {
        process.set_console_size(Some(
            BoxBuilder::default()
                .height(u64::from(rows))
                .width(u64::from(cols))
                .build()?,
        ));
    }
    // Unix socket paths are short (108 bytes): not under the store.
    let sock = ConsoleSocket::listen(
        &std::env::temp_dir().join(format!("cv-tty-{}.sock", std::process::id())),
    )?;
    let io = containerv::linux::ProcessIo {
        console_socket: Some(sock.path().to_path_buf()),
        ..Default::default()
    };
    let events = ExecEvents::start(e.store.root(), config, &a.command);
    let mut p = c.exec(&process, io)?;
    let master = sock.receive()?;
    if a.detach {
        return Ok(());
    }
    let raw = window_size().and_then(|_| RawMode::stdin());
    proxy(master, a.interactive)?;
    let st = p.wait()?;
    drop(raw);
    events.died(e.store.root(), config, st.code());
    std::process::exit(st.code());
}
