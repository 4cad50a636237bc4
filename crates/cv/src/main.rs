//! `cv`: the docker-like containerv CLI. Argument parsing and output
//! formats only; the work is done by the library crates (images by
//! `containerv-image`). One module per command group under `commands/`;
//! container commands are added beside the image ones.

mod commands;
mod output;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cv", version, about = "containerv engine CLI")]
struct Cli {
    /// Image store root (default $CONTAINERV_IMAGE_ROOT or /var/lib/containerv/images).
    #[arg(long, global = true)]
    image_root: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Top(commands::image::TopLevel),
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: commands::image::ImageCmd,
    },
    /// System-wide information.
    System {
        #[command(subcommand)]
        cmd: commands::system::SystemCmd,
    },
}

fn main() {
    let cli = Cli::parse();
    let ctx = commands::Context {
        image_root: cli.image_root,
    };
    let r = match cli.cmd {
        Cmd::Top(c) => commands::image::run_top(&ctx, c),
        Cmd::Image { cmd } => commands::image::run(&ctx, cmd),
        Cmd::System { cmd } => commands::system::run(&ctx, cmd),
    };
    if let Err(e) = r {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}
