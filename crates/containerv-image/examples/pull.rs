//! `pull [--no-unpack] ROOT REFERENCE`: the library call behind
//! `cv pull -q` (open the store at ROOT, pull quietly), as a program of its
//! own so the pull benchmark and profiling need only this crate built.
//! `--no-unpack` stores the verified blobs only (skopeo copy's job).

use containerv_image::registry::{ProgressMode, PullOptions};
use containerv_image::ImageStore;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let no_unpack = args.len() > 1 && args[1] == "--no-unpack";
    if no_unpack {
        args.remove(1);
    }
    if args.len() != 3 {
        eprintln!("usage: pull [--no-unpack] ROOT REFERENCE");
        std::process::exit(2);
    }
    let opts = PullOptions {
        progress: ProgressMode::Quiet,
        no_unpack,
        ..Default::default()
    };
    match ImageStore::open(&args[1]).and_then(|s| s.pull(&args[2], &opts)) {
        Ok(r) => println!("{}", r.reference),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
