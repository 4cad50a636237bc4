//! Run one command in a fresh container made from a rootfs directory, print
//! how it ended, and clean up.
//!
//! ```sh
//! sudo cargo run --release -p containerv --example run -- \
//!     [--memory 256M] [--cpus 0.5] [--pids 64] [--root /run/containerv] \
//!     ROOTFS COMMAND [ARG...]
//! ```

#[cfg(target_os = "linux")]
fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("run: {e}");
            std::process::exit(125);
        }
    }
}

#[cfg(target_os = "linux")]
fn run() -> Result<i32, Box<dyn std::error::Error>> {
    use containerv::{ContainerOptions, ProcessOptions, Runtime};

    let mut args = std::env::args().skip(1);
    let mut opts = ContainerOptions::new();
    let mut root = containerv::linux::DEFAULT_ROOT.to_string();
    let mut positional = Vec::new();
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--memory" => opts = opts.memory(&value("--memory")?),
            "--cpus" => opts = opts.cpus(&value("--cpus")?),
            "--pids" => {
                let v = value("--pids")?;
                opts = opts.pids(
                    v.parse()
                        .map_err(|_| format!("--pids {v:?}: not a number"))?,
                )
            }
            "--root" => root = value("--root")?,
            "-h" | "--help" => {
                println!("usage: run [--memory M] [--cpus C] [--pids N] [--root DIR] ROOTFS COMMAND [ARG...]");
                return Ok(0);
            }
            _ => {
                positional.push(a);
                positional.extend(args.by_ref());
            }
        }
    }
    if positional.len() < 2 {
        return Err(
            "usage: run [--memory M] [--cpus C] [--pids N] [--root DIR] ROOTFS COMMAND [ARG...]"
                .into(),
        );
    }
    let command = positional.split_off(1);
    let rt = Runtime::new(&root)?;
    let id = format!("run-{}", std::process::id());
    let c = rt.create(&id, &opts.rootfs(&positional[0]))?;
    let status = c
        .spawn(ProcessOptions::new(command))
        .and_then(|mut p| p.wait());
    c.destroy()?;
    let status = status?;
    eprintln!("{status}");
    Ok(status.code())
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("run: this example is for Linux");
    std::process::exit(125);
}
