//! `cv-monitor STORE RUNTIME ID READY_FD STDIN_FD`: the per-container
//! monitor (see `containerv_engine::monitor`) as a small program of its
//! own, so 50 running containers cost 50 small processes, not 50 copies of
//! the whole CLI's start-up (TLS libraries, argument parser).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // The engine's DNS server (started by a monitor, so from this program
    // when the monitor is this program).
    if let [a, root] = &args[..] {
        if a == containerv_engine::network::dns::DNS_ARG {
            containerv_engine::network::dns::main(std::path::Path::new(root));
        }
    }
    match containerv_engine::monitor::launch::parse_args(&args) {
        Some(m) => containerv_engine::monitor::main(m),
        None => {
            eprintln!("usage: cv-monitor STORE RUNTIME ID READY_FD STDIN_FD");
            std::process::exit(2);
        }
    }
}
