//! `cv exec`: a process in a running container through the core library
//! (it joins the container's namespaces and cgroup; no agent inside),
//! waited for and its exit code returned (`-d`: left running).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use containerv::{ProcessOptions, Stdio, User};

use super::super::Context;

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background.
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY (not supported yet: refused).
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
    if a.tty {
        bail!("exec -t: terminals for exec are not supported by cv yet");
    }
    let e = ctx.engine()?;
    let id = e.store.resolve(&a.container)?;
    let config = e.store.load_config(&id)?;
    let c = e.core(&id)?;
    let mut env = config.env.clone();
    for kv in &a.env {
        if !kv.contains('=') || kv.starts_with('=') {
            bail!("invalid -e {kv:?}: expected KEY=VALUE");
        }
        let key = kv.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    let opts = ProcessOptions {
        args: a.command.clone(),
        env,
        cwd: a
            .workdir
            .clone()
            .or(config.working_dir.clone())
            .map(PathBuf::from),
        user: a.user.clone().or(config.user.clone()).map(User::Name),
        stdin: if a.interactive && !a.detach {
            Stdio::Inherit
        } else {
            Stdio::Null
        },
        stdout: if a.detach {
            Stdio::Null
        } else {
            Stdio::Inherit
        },
        stderr: if a.detach {
            Stdio::Null
        } else {
            Stdio::Inherit
        },
        wait: false,
    };
    let mut p = c.spawn(opts)?;
    if a.detach {
        return Ok(());
    }
    let st = p.wait()?;
    std::process::exit(st.code());
}
