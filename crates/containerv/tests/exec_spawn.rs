//! spawn / exec into real containers (root, real kernel, busybox rootfs):
//! many spawns in parallel, exit codes and signals, what the process sees
//! (hostname, processes, env, cwd, user), and its stdio.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};

use containerv::{Container, ContainerOptions, ExitStatus, ProcessOptions, Runtime, Stdio, User};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, processes_mentioning, require_root, temp_root, unique_id,
    TempRoot,
};

struct Box_ {
    rt: Runtime,
    root: TempRoot,
    id: String,
    c: Option<Container>,
}

impl Box_ {
    fn new(prefix: &str) -> Box_ {
        require_root();
        let root = temp_root();
        let rt = Runtime::new(root.path()).unwrap();
        let id = unique_id(prefix);
        let opts = ContainerOptions::new()
            .rootfs(busybox_rootfs())
            .hostname("exec-box")
            .env("CV_FROM_CONTAINER", "yes");
        let c = rt.create(&id, &opts).unwrap();
        Box_ {
            rt,
            root,
            id,
            c: Some(c),
        }
    }

    fn c(&self) -> &Container {
        self.c.as_ref().unwrap()
    }

    /// Run `sh -c script` and return (stdout, stderr, status).
    fn sh(&self, opts: ProcessOptions) -> (String, String, ExitStatus) {
        let mut opts = opts;
        opts.stdout = Stdio::Pipe;
        opts.stderr = Stdio::Pipe;
        let mut p = self.c().spawn(opts).unwrap();
        let (mut out, mut err) = (String::new(), String::new());
        p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        p.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (out, err, p.wait().unwrap())
    }

    /// Only the init is left in the container's cgroup.
    fn only_init_left(&self) {
        let pids = processes_mentioning(&self.id);
        assert_eq!(pids, vec![self.c().pid()], "processes left in {}", self.id);
    }
}

impl Drop for Box_ {
    fn drop(&mut self) {
        if let Some(c) = self.c.take() {
            c.destroy().unwrap();
            assert_no_leftovers(self.root.path(), &self.id);
        }
        let _ = &self.rt;
    }
}

fn sh(script: &str) -> ProcessOptions {
    ProcessOptions::new(["sh", "-c", script])
}

#[test]
fn parallel_spawns_report_every_status() {
    let b = Box_::new("exec-par");
    std::thread::scope(|s| {
        for t in 0..8 {
            let c = b.c();
            s.spawn(move || {
                for i in 0..25 {
                    let mut p = if i % 2 == 0 {
                        c.spawn(ProcessOptions::new(["/bin/true"])).unwrap()
                    } else {
                        let code = (t * 25 + i) % 100;
                        c.spawn(sh(&format!("exit {code}"))).unwrap()
                    };
                    let want = if i % 2 == 0 { 0 } else { (t * 25 + i) % 100 };
                    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(want));
                }
            });
        }
    });
    b.only_init_left();
}

#[test]
fn exit_codes_and_signals() {
    let b = Box_::new("exec-sig");
    assert_eq!(b.sh(sh("exit 3")).2, ExitStatus::Exited(3));
    assert_eq!(b.sh(sh("kill -9 $$")).2, ExitStatus::Signaled(9));
    let mut p = b.c().spawn(ProcessOptions::new(["sleep", "60"])).unwrap();
    p.kill(libc::SIGTERM).unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Signaled(libc::SIGTERM));
    // Waiting again gives the same; a reaped process is not signalled.
    assert_eq!(p.wait().unwrap(), ExitStatus::Signaled(libc::SIGTERM));
    assert!(p.kill(libc::SIGTERM).is_err());
    // The wait flag returns it already exited.
    let mut o = sh("exit 5");
    o.wait = true;
    let mut p = b.c().spawn(o).unwrap();
    assert_eq!(p.try_wait().unwrap(), Some(ExitStatus::Exited(5)));
    b.only_init_left();
}

#[test]
fn sees_the_container() {
    let b = Box_::new("exec-view");
    let (out, err, st) = b.sh(sh("hostname; ps -o pid | tail -n +2 | wc -l; echo $$"));
    assert_eq!(st, ExitStatus::Exited(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "exec-box");
    // init, sh, ps, tail, wc at most: never the host's processes.
    let n: usize = lines[1].trim().parse().unwrap();
    assert!((2..=5).contains(&n), "{out}");
    let pid: i32 = lines[2].parse().unwrap();
    assert!(pid > 1 && pid < 50, "pid inside the container: {pid}");

    // env: the container's by default, the caller's when given.
    let (out, _, _) = b.sh(sh("echo $CV_FROM_CONTAINER; echo $PATH"));
    assert!(out.starts_with("yes\n"), "{out}");
    let mut o = sh("echo $FOO-$CV_FROM_CONTAINER");
    o.env = vec!["FOO=bar".into()];
    assert_eq!(b.sh(o).0, "bar-\n");

    // cwd.
    let mut o = sh("pwd");
    o.cwd = Some("/tmp".into());
    assert_eq!(b.sh(o).0, "/tmp\n");
    assert_eq!(b.sh(sh("pwd")).0, "/\n");

    // user by name (groups from the container's /etc/group), and by ids.
    let mut o = sh("id -u; id -g; id -G; echo $HOME");
    o.user = Some(User::Name("app".into()));
    let (out, err, st) = b.sh(o);
    assert_eq!(st, ExitStatus::Exited(0), "{err}");
    assert_eq!(out, "1000\n1000\n1000 10\n/home/app\n");
    let mut o = sh("id -u; id -G");
    o.user = Some(User::Id {
        uid: 65534,
        gid: 65534,
        additional_gids: vec![10, 20],
    });
    assert_eq!(b.sh(o).0, "65534\n65534 10 20\n");
    let mut o = sh("id -u; id -g");
    o.user = Some(User::Name("nobody:wheel".into()));
    assert_eq!(b.sh(o).0, "65534\n10\n");
    b.only_init_left();
}

#[test]
fn stdio_pipes_files_and_null() {
    let b = Box_::new("exec-io");
    let (out, err, _) = b.sh(sh("echo to-out; echo to-err >&2"));
    assert_eq!((out.as_str(), err.as_str()), ("to-out\n", "to-err\n"));

    // stdin pipe in, stdout pipe out.
    let mut o = ProcessOptions::new(["tr", "a-z", "A-Z"]);
    o.stdin = Stdio::Pipe;
    o.stdout = Stdio::Pipe;
    let mut p = b.c().spawn(o).unwrap();
    p.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let mut s = String::new();
    p.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "HELLO\n");
    assert!(p.wait().unwrap().success());

    // Files on the host (appended to), and /dev/null for stdin.
    let dir = tempfile::tempdir().unwrap();
    let (fo, fe) = (dir.path().join("out"), dir.path().join("err"));
    std::fs::write(&fo, "before\n").unwrap();
    for _ in 0..2 {
        let mut o = sh("cat; echo out; echo err >&2");
        o.stdin = Stdio::Null;
        o.stdout = Stdio::File(fo.clone());
        o.stderr = Stdio::File(fe.clone());
        o.wait = true;
        let mut p = b.c().spawn(o).unwrap();
        assert!(p.wait().unwrap().success());
    }
    assert_eq!(std::fs::read_to_string(&fo).unwrap(), "before\nout\nout\n");
    assert_eq!(std::fs::read_to_string(&fe).unwrap(), "err\nerr\n");

    // Null stdout: nothing comes back, the program still runs.
    let mut o = sh("echo lost; exit 4");
    o.stdout = Stdio::Null;
    o.wait = true;
    assert_eq!(
        b.c().spawn(o).unwrap().wait().unwrap(),
        ExitStatus::Exited(4)
    );
    b.only_init_left();
}

#[test]
fn oci_exec_uses_the_process_as_given() {
    let b = Box_::new("exec-oci");
    let process = oci_spec::runtime::ProcessBuilder::default()
        .args(vec!["sh".to_string(), "-c".into(), "echo $X; umask".into()])
        .env(vec!["X=1".to_string(), "PATH=/bin".into()])
        .cwd("/")
        .user(
            oci_spec::runtime::UserBuilder::default()
                .uid(1000u32)
                .gid(1000u32)
                .umask(0o077u32)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let io = containerv::linux::ProcessIo {
        stdout: Stdio::Pipe,
        ..Default::default()
    };
    let mut p = b.c().exec(&process, io).unwrap();
    let mut s = String::new();
    p.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "1\n0077\n");
    assert!(p.wait().unwrap().success());
}

/// Latency of one spawn + wait of `/bin/true` (the figure in
/// docs/BENCHMARKS.md). Run: `cargo test --release -p containerv --test
/// exec_spawn -- --ignored --nocapture spawn_latency`.
#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn spawn_latency() {
    let b = Box_::new("exec-bench");
    let n = 500;
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            let mut p = b.c().spawn(ProcessOptions::new(["/bin/true"])).unwrap();
            assert!(p.wait().unwrap().success());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = times.iter().sum::<f64>() / n as f64;
    println!(
        "spawn+wait /bin/true x{n}: mean {mean:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
        times[n / 2],
        times[n * 99 / 100]
    );
}
