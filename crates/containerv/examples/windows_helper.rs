//! A tiny program the Windows tests run inside containers (built by
//! `cargo test` as an example): it echoes its argv, exits with a code,
//! sleeps, copies stdin to stdout, starts a child, allocates memory or
//! spins a CPU, so the tests need no other Windows program.
//!
//! Usage: `windows_helper COMMAND [ARGS...]`, see `run` below.

#[cfg(windows)]
fn run(args: &[String]) -> i32 {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let num = |i: usize| -> u64 { args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0) };
    match args.first().map(String::as_str) {
        // Each argument on its own line, Debug-quoted.
        Some("echo-args") => {
            for a in &args[1..] {
                println!("{a:?}");
            }
            0
        }
        Some("exit") => num(1) as i32,
        Some("sleep") => {
            std::thread::sleep(Duration::from_millis(num(1)));
            0
        }
        Some("cat") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).unwrap();
            print!("{s}");
            eprint!("err:{}", s.len());
            0
        }
        Some("cwd") => {
            println!("{}", std::env::current_dir().unwrap().display());
            0
        }
        Some("env") => {
            println!("{}", std::env::var(&args[1]).unwrap_or_default());
            0
        }
        // Starts `sleep MS` as a child (which stays in the job), then sleeps.
        Some("spawn-child") => {
            let me = std::env::current_exe().unwrap();
            let mut c = std::process::Command::new(me)
                .args(["sleep", &num(1).to_string()])
                .spawn()
                .unwrap();
            println!("{}", c.id());
            std::io::stdout().flush().unwrap();
            let _ = c.wait();
            0
        }
        // Commits and touches MB megabytes, then holds them MS ms.
        Some("alloc") => {
            let mb = num(1) as usize;
            let mut v: Vec<u8> = Vec::new();
            if v.try_reserve_exact(mb << 20).is_err() {
                println!("alloc failed");
                return 3;
            }
            v.resize(mb << 20, 1);
            println!("allocated {}", v.len());
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_millis(num(2)));
            0
        }
        // Busy for MS ms of wall time.
        Some("spin") => {
            let end = Instant::now() + Duration::from_millis(num(1));
            let mut x = 0u64;
            while Instant::now() < end {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            std::hint::black_box(x);
            0
        }
        other => {
            eprintln!("windows_helper: unknown command {other:?}");
            2
        }
    }
}

fn main() {
    #[cfg(windows)]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        std::process::exit(run(&args));
    }
    #[cfg(not(windows))]
    eprintln!("windows_helper is a Windows-only test helper");
}
