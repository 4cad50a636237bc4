//! `containerv`: the runc-compatible OCI runtime CLI.
//!
//! Argument parsing and output formats only; every container operation is
//! a call into the `containerv` library (see docs/ARCHITECTURE.md, "OCI
//! runtime CLI"). Exit codes are runc's: 0 on success, 1 on any error, and
//! for a foreground `run` or `exec` the process's own code (128 + signal
//! when a signal ended it).

mod bundle;
mod cli;
mod commands;
mod console;
mod error;
mod fast;
mod log;
mod signal;
mod stats_json;

use clap::Parser;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = match fast::parse(&args) {
        Some(c) => c,
        None => match cli::Cli::try_parse() {
            Ok(c) => c,
            Err(e) => e.exit(),
        },
    };
    if cli.version {
        print!(
            "containerv version {}\ncommit: {}\nspec: {}\n",
            env!("CARGO_PKG_VERSION"),
            env!("CONTAINERV_COMMIT"),
            commands::SPEC_VERSION
        );
        return;
    }
    log::init(cli.log.as_deref(), cli.log_format, cli.debug);
    log::debug(|| format!("args: {:?}", std::env::args().collect::<Vec<_>>()));
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            log::error(&e.msg);
            1
        }
    };
    std::process::exit(code);
}
