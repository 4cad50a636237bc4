//! `cv`: the docker-like containerv CLI. Argument parsing and output
//! formats only; the work is done by the library crates (images by
//! `containerv-image`, containers by `containerv-engine`). One module per
//! command group under `commands/`.
//!
//! `cv __monitor …` is the hidden entry point of a container's monitor
//! process (see `containerv_engine::monitor`); it is dispatched before any
//! argument parsing so the monitor starts small and single-threaded.

mod commands;
mod diag;
mod exit;
mod output;
use containerv_engine::template;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use containerv_engine::monitor::{self, launch::MONITOR_ARG};

#[derive(Parser)]
#[command(name = "cv", version, about = "containerv engine CLI")]
struct Cli {
    /// Image store root (default $CONTAINERV_IMAGE_ROOT, the config file's
    /// storage.image-root, or /var/lib/containerv/images).
    #[arg(long, global = true)]
    image_root: Option<PathBuf>,
    /// Container state root (default $CONTAINERV_ROOT, the config file's
    /// storage.root, or /var/lib/containerv/engine).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// The engine's configuration file (default $CONTAINERV_CONFIG_FILE or
    /// /etc/containerv/engine.toml).
    #[arg(long, global = true)]
    config_file: Option<PathBuf>,
    /// Set the logging level ("debug", "info", "warn", "error", "fatal").
    #[arg(short = 'l', long, default_value = "info", value_parser = diag::parse_level)]
    log_level: diag::Level,
    /// Enable debug mode (the same as --log-level debug).
    #[arg(short = 'D', long)]
    debug: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Top(commands::image::TopLevel),
    #[command(flatten)]
    Containers(commands::container::TopLevel),
    #[command(flatten)]
    About(commands::about::TopLevel),
    #[command(flatten)]
    Login(commands::login::TopLevel),
    /// Manage containers.
    Container {
        #[command(subcommand)]
        cmd: commands::container::ContainerCmd,
    },
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: commands::image::ImageCmd,
    },
    /// Manage volumes.
    Volume {
        #[command(subcommand)]
        cmd: commands::volume::VolumeCmd,
    },
    /// Manage networks.
    Network {
        #[command(subcommand)]
        cmd: commands::network::NetworkCmd,
    },
    /// System-wide information.
    System {
        #[command(subcommand)]
        cmd: commands::system::SystemCmd,
    },
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == MONITOR_ARG) {
        match monitor::launch::parse_args(&args[2..]) {
            Some(m) => {
                // Its stderr is the container's monitor.log.
                diag::init_monitor();
                monitor::main(m)
            }
            None => {
                eprintln!("cv: bad {MONITOR_ARG} arguments");
                std::process::exit(2);
            }
        }
    }
    if args
        .get(1)
        .is_some_and(|a| a == containerv_engine::network::dns::DNS_ARG)
    {
        match args.get(2) {
            Some(root) => containerv_engine::network::dns::main(std::path::Path::new(root)),
            None => std::process::exit(2),
        }
    }
    if !is_service(&args) {
        default_sigpipe();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // --help and --version print and exit 0; a bad flag or argument is
        // cv's own failure: docker's 125.
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            std::process::exit(exit::CV_FAILED);
        }
        Err(e) => e.exit(),
    };
    diag::init(if cli.debug {
        diag::Level::DEBUG
    } else {
        cli.log_level
    });
    let ctx = commands::Context {
        image_root: cli.image_root,
        root: cli.root,
        config_file: cli.config_file,
    };
    // docker's exit codes for a `run`/`create` that failed.
    let kind = match &cli.cmd {
        Cmd::Containers(c) => commands::container::kind(c),
        Cmd::Container {
            cmd: commands::container::ContainerCmd::Common(c),
        } => commands::container::kind(c),
        _ => exit::Kind::Other,
    };
    let r = match cli.cmd {
        Cmd::Top(c) => commands::image::run_top(&ctx, c),
        Cmd::Containers(c) => commands::container::run_top(&ctx, c),
        Cmd::About(c) => commands::about::run(&ctx, c),
        Cmd::Login(c) => commands::login::run(c),
        Cmd::Container { cmd } => commands::container::run_container(&ctx, cmd),
        Cmd::Image { cmd } => commands::image::run(&ctx, cmd),
        Cmd::System { cmd } => commands::system::run(&ctx, cmd),
        Cmd::Volume { cmd } => commands::volume::run(&ctx, cmd),
        Cmd::Network { cmd } => commands::network::run(&ctx, cmd),
    };
    if let Err(e) = r {
        if let Some(s) = e.downcast_ref::<exit::StatusError>() {
            eprintln!("{s}");
            std::process::exit(s.code);
        }
        let msg = diag::chain(&e);
        eprintln!("Error: {msg}");
        std::process::exit(exit::code(kind, &msg));
    }
}

/// Whether this is the long-running API service, which must survive a
/// client that hangs up.
fn is_service(args: &[std::ffi::OsString]) -> bool {
    args.get(1).is_some_and(|a| a == "system") && args.get(2).is_some_and(|a| a == "service")
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`cv ps | head
/// -1`) fails with EPIPE and `println!` panics. Docker (Go) dies of the
/// signal quietly instead, as every Unix filter does: so does `cv`.
fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL at start-up, with
    // no other threads yet; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
