//! containerv vs crun vs runc, side by side, in one run, on the same
//! busybox bundle (issue 4, item 5):
//!
//! - `run` of /bin/true (wall time per run, and the runtime process's peak
//!   RSS from wait4's rusage);
//! - create + start + delete -f of /bin/true;
//! - `state` of a running container;
//! - 50 `run -d` of sleep started at once (wall time until all returned),
//!   then their teardown;
//! - `containerv-ro`: the same binary on a read-only mount, which needs no
//!   re-exec from a sealed copy: its difference to `containerv-hidden`
//!   is the cost of the CVE-2019-5736 protection;
//! - scale check: 500 sleeping containers running at the same time (8
//!   starters in parallel), counted with `list -q`, torn down with
//!   `delete -f`, then checked: no state, cgroup or process left.
//!
//! crun 1.8 refuses this host's hybrid cgroups unless
//! /sys/fs/cgroup/unified/cgroup.controllers is hidden: crun (and
//! containerv-ro) are spawned from a thread that has its own mount
//! namespace with an empty file bound over it (and the read-only bind). The benchmark is the subreaper of every container
//! (as conmon and containerd's shim are) and reaps them between phases.
//!
//! - `containerv-hidden`: the `containerv` binary spawned like
//!   `containerv-ro` and crun (below), so `containerv-hidden` minus
//!   `containerv-ro` is the protection's cost like for like (with the v2
//!   controllers file hidden the runtime skips the hybrid host's unified
//!   hierarchy, which makes `containerv-ro` alone look cheaper than the
//!   re-exec is);
//! - `containerv-base` (with `--baseline PATH`): another containerv
//!   binary, e.g. the one before a change, in the same run.
//!
//! ```text
//! scripts/build-runtime        # the installed (static) binary; optional
//! cargo build --release -p containerv-runtime --bins --examples
//! sudo target/release/examples/bench_runtimes [--iterations 100] [--scale 500] [--only containerv,crun,runc] [--baseline OLD-BINARY]
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

type Spawn = (Command, mpsc::Sender<std::io::Result<u32>>);

/// One runtime under test.
struct Runtime {
    name: &'static str,
    bin: PathBuf,
    root: PathBuf,
    /// Spawn through the thread with cgroup.controllers hidden (crun).
    hidden: Option<mpsc::Sender<Spawn>>,
}

/// How one command ended: wall time, peak RSS (KiB), success.
struct Ran {
    wall: Duration,
    rss_kib: i64,
    ok: bool,
}

impl Runtime {
    fn command(&self, args: &[&str], bundle: &Path) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root")
            .arg(&self.root)
            .args(args)
            .current_dir(bundle)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Run `args` and wait for it with wait4 (its rusage: peak RSS).
    fn run(&self, args: &[&str], bundle: &Path) -> Ran {
        let cmd = self.command(args, bundle);
        let t = Instant::now();
        let pid = match &self.hidden {
            None => {
                let mut cmd = cmd;
                cmd.spawn().map(|c| c.id())
            }
            Some(tx) => {
                let (rtx, rrx) = mpsc::channel();
                tx.send((cmd, rtx)).expect("spawner thread");
                rrx.recv().expect("spawner thread")
            }
        }
        .unwrap_or_else(|e| panic!("spawn {}: {e}", self.name));
        let mut status = 0;
        // SAFETY: zeroed rusage is a valid out value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waiting for our own child with valid out pointers.
        let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut ru) };
        assert_eq!(r, pid as i32, "wait4 {}", self.name);
        Ran {
            wall: t.elapsed(),
            rss_kib: ru.ru_maxrss,
            ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        }
    }

    fn must(&self, args: &[&str], bundle: &Path) -> Ran {
        let r = self.run(args, bundle);
        assert!(r.ok, "{} {args:?} failed", self.name);
        r
    }

    /// Container ids `list -q` reports.
    fn list(&self) -> Vec<String> {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(["list", "-q"]);
        let out = match &self.hidden {
            None => c.output().expect("list"),
            Some(_) => {
                // crun reads no cgroup for list: the host namespace is fine.
                c.output().expect("list")
            }
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// A thread in its own mount namespace where cgroup.controllers of the
/// unified hierarchy is hidden; it spawns what it is sent.
fn hidden_spawner(empty: PathBuf, ro_dir: PathBuf) -> mpsc::Sender<Spawn> {
    let (tx, rx) = mpsc::channel::<Spawn>();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let target = std::ffi::CString::new("/sys/fs/cgroup/unified/cgroup.controllers").unwrap();
        let src = std::ffi::CString::new(empty.as_os_str().as_encoded_bytes()).unwrap();
        let ro = std::ffi::CString::new(ro_dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: unshare/mount on this thread only, valid C strings.
        let ok = unsafe {
            libc::unshare(libc::CLONE_NEWNS) == 0
                && libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) == 0
                && (!Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
                    || libc::mount(
                        src.as_ptr(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    ) == 0)
                // The copy of containerv here runs from a read-only mount:
                // it needs no re-exec from a sealed copy.
                && libc::mount(
                    ro.as_ptr(),
                    ro.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) == 0
                && libc::mount(
                    std::ptr::null(),
                    ro.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                    std::ptr::null(),
                ) == 0
        };
        ready_tx.send(ok).unwrap();
        for (mut cmd, reply) in rx {
            let _ = reply.send(cmd.spawn().map(|c| c.id()));
        }
    });
    assert!(
        ready_rx.recv().unwrap(),
        "could not hide cgroup.controllers for crun or bind the read-only copy"
    );
    tx
}

/// Reap every exited child (container inits re-parented to us). Only
/// called when no runtime command of ours is outstanding.
fn reap_all() {
    // SAFETY: non-blocking waitpid for any child.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn write_bundle(dir: &Path, containerv: &Path, args: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let _ = std::fs::remove_file(dir.join("config.json"));
    let st = Command::new(containerv)
        .args(["spec", "--bundle"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
    let p = dir.join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    // crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified").
    c["ociVersion"] = "1.0.2-dev".into();
    c["process"]["terminal"] = false.into();
    c["process"]["args"] = serde_json::json!(args);
    c["root"]["path"] = containerv_testutil::busybox_rootfs()
        .to_str()
        .unwrap()
        .into();
    std::fs::write(&p, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
}

#[derive(Default)]
struct Row {
    run_ms: f64,
    run_p90_ms: f64,
    run_rss_kib: i64,
    create_rss_kib: i64,
    lifecycle_ms: f64,
    state_ms: f64,
    fifty_ms: f64,
    fifty_teardown_ms: f64,
    scale_start_s: f64,
    scale_running: usize,
    scale_teardown_s: f64,
    scale_clean: bool,
}

/// Whether an ELF64 file has a PT_INTERP program header (a dynamic loader).
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let o = phoff + i * size;
        u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 3
    })
}

fn main() {
    let mut iterations = 100usize;
    let mut scale = 500usize;
    let mut only: Option<Vec<String>> = None;
    // Another containerv binary (e.g. before a change) as its own row,
    // `containerv-base`, in the same run.
    let mut baseline: Option<PathBuf> = None;
    // target/release/examples/bench_runtimes: the static build of
    // scripts/build-runtime (what is installed) when there is one, else
    // the default dynamic build beside this example.
    let release = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let installed = release.join("../x86_64-unknown-linux-gnu/release/containerv");
    let mut containerv = if installed.exists() {
        installed
    } else {
        release.join("containerv")
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" => iterations = args.next().unwrap().parse().unwrap(),
            "--scale" => scale = args.next().unwrap().parse().unwrap(),
            "--only" => only = Some(args.next().unwrap().split(',').map(String::from).collect()),
            "--containerv" => containerv = PathBuf::from(args.next().unwrap()),
            "--baseline" => baseline = Some(PathBuf::from(args.next().unwrap())),
            _ => panic!("unknown argument {a}"),
        }
    }
    assert!(
        containerv.exists(),
        "{} missing: build it with --release first",
        containerv.display()
    );
    let containerv = containerv.canonicalize().unwrap();
    // The ELF header and program headers only: the runtimes are spawned
    // with fork here, so a child's peak RSS starts at this process's.
    let mut head = vec![0u8; 4096];
    {
        use std::io::Read;
        let n = std::fs::File::open(&containerv)
            .unwrap()
            .read(&mut head)
            .unwrap();
        head.truncate(n);
    }
    let dynamic = has_interpreter(&head);
    println!(
        "containerv binary: {} ({})",
        containerv.display(),
        if dynamic { "dynamic" } else { "static" }
    );
    // A child's peak RSS counts from this process's RSS at the fork.
    let own = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    println!("benchmark process RSS: {own} (a peak RSS below it would read as it)");
    assert_eq!(
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );

    let work = std::env::temp_dir().join(format!("containerv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let empty = work.join("empty");
    std::fs::write(&empty, "").unwrap();
    let b_true = work.join("bundle-true");
    let b_sleep = work.join("bundle-sleep");
    write_bundle(&b_true, &containerv, &["true"]);
    write_bundle(&b_sleep, &containerv, &["sleep", "1000"]);

    // The same binary on a read-only mount (in the spawner's private
    // mount namespace): it skips the re-exec every entry into a container
    // otherwise makes (see containerv::linux::exeseal), so the difference
    // of its row to containerv's is what the sealing costs.
    let ro_dir = work.join("ro");
    std::fs::create_dir_all(&ro_dir).unwrap();
    std::fs::copy(&containerv, ro_dir.join("containerv")).unwrap();
    let mut all = vec![
        ("containerv", containerv.clone(), false),
        ("containerv-ro", ro_dir.join("containerv"), true),
        ("containerv-hidden", containerv.clone(), true),
        ("crun", PathBuf::from("/usr/bin/crun"), true),
        ("runc", PathBuf::from("/usr/sbin/runc"), false),
    ];
    if let Some(b) = baseline {
        all.insert(1, ("containerv-base", b.canonicalize().unwrap(), false));
    }
    let spawner = hidden_spawner(empty.clone(), ro_dir.clone());
    let runtimes: Vec<Runtime> = all
        .into_iter()
        .filter(|(n, _, _)| only.as_ref().is_none_or(|o| o.iter().any(|x| x == n)))
        .map(|(name, bin, hidden)| Runtime {
            name,
            bin,
            root: work.join(format!("root-{name}")),
            hidden: hidden.then(|| spawner.clone()),
        })
        .collect();
    for rt in &runtimes {
        std::fs::create_dir_all(&rt.root).unwrap();
    }
    let prefix = format!("cvbench{}", std::process::id());
    let mut rows = Vec::new();

    // Phases 1 and 2 interleave the runtimes iteration by iteration, so
    // load from other work on the machine hits all of them alike.
    let n = runtimes.len();
    for rt in &runtimes {
        // Warm-up (page cache, first cgroup creation).
        rt.must(&["run", &format!("{prefix}-warm-{}", rt.name)], &b_true);
    }
    let mut run_walls = vec![Vec::new(); n];
    let mut run_rss = vec![Vec::new(); n];
    let mut life_walls = vec![Vec::new(); n];
    let mut create_rss = vec![Vec::new(); n];
    for i in 0..iterations {
        // The runtime that goes first rotates: a runtime's teardown leaves
        // work the kernel finishes later (RCU grace periods of its
        // namespaces and mounts), paid by whichever process runs next. In a
        // fixed order the one after runc paid for runc every time
        // (containerv 15.1 ms after runc, 10.6 ms without runc in the run).
        for j in 0..n {
            let k = (i + j) % n;
            let rt = &runtimes[k];
            // 1. run /bin/true.
            let r = rt.must(&["run", &format!("{prefix}-run{i}")], &b_true);
            run_walls[k].push(r.wall);
            run_rss[k].push(r.rss_kib);
            // 2. create + start + delete -f.
            let id = format!("{prefix}-life{i}");
            let c = rt.must(&["create", &id], &b_true);
            let s = rt.must(&["start", &id], &b_true);
            let d = rt.must(&["delete", "-f", &id], &b_true);
            life_walls[k].push(c.wall + s.wall + d.wall);
            create_rss[k].push(c.rss_kib);
            reap_all();
        }
    }

    for (k, rt) in runtimes.iter().enumerate() {
        let mut row = Row::default();
        eprintln!("== {}", rt.name);
        row.run_ms = ms(median(&mut run_walls[k]));
        row.run_p90_ms = ms(run_walls[k][run_walls[k].len() * 9 / 10]);
        run_rss[k].sort();
        row.run_rss_kib = run_rss[k][run_rss[k].len() / 2];
        row.lifecycle_ms = ms(median(&mut life_walls[k]));
        create_rss[k].sort();
        row.create_rss_kib = create_rss[k][create_rss[k].len() / 2];

        // 3. state of a running container.
        let id = format!("{prefix}-state");
        rt.must(&["run", "-d", &id], &b_sleep);
        let mut walls: Vec<_> = (0..iterations)
            .map(|_| rt.must(&["state", &id], &b_sleep).wall)
            .collect();
        row.state_ms = ms(median(&mut walls));
        rt.must(&["delete", "-f", &id], &b_sleep);
        reap_all();

        // 4. 50 at once.
        // `cmd ID` for 50 ids, all at once; the wall time until all returned.
        let fifty = |cmd: &[&str]| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for i in 0..50 {
                    let id = format!("{prefix}-fifty{i}");
                    let b = &b_sleep;
                    s.spawn(move || rt.must(&[cmd, &[id.as_str()]].concat(), b));
                }
            });
            ms(t.elapsed())
        };
        row.fifty_ms = fifty(&["run", "-d"]);
        assert_eq!(rt.list().len(), 50, "{}: 50 running", rt.name);
        row.fifty_teardown_ms = fifty(&["delete", "-f"]);
        reap_all();

        // 5. Scale: `scale` sleeping containers at once.
        if scale > 0 {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let work_on = |verb: &'static [&'static str]| {
                std::thread::scope(|s| {
                    for _ in 0..8 {
                        s.spawn(|| loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= scale {
                                break;
                            }
                            let id = format!("{prefix}-scale{i}");
                            let mut a: Vec<&str> = verb.to_vec();
                            a.push(&id);
                            rt.must(&a, &b_sleep);
                        });
                    }
                });
            };
            let t = Instant::now();
            work_on(&["run", "-d"]);
            row.scale_start_s = t.elapsed().as_secs_f64();
            row.scale_running = rt.list().len();
            next.store(0, std::sync::atomic::Ordering::Relaxed);
            let t = Instant::now();
            work_on(&["delete", "-f"]);
            row.scale_teardown_s = t.elapsed().as_secs_f64();
            reap_all();
            std::thread::sleep(Duration::from_millis(200));
            reap_all();
            let cg = containerv_testutil::cgroups_named(&prefix);
            let procs = containerv_testutil::processes_mentioning(&prefix);
            let states = rt.list();
            row.scale_clean = cg.is_empty() && procs.is_empty() && states.is_empty();
            if !row.scale_clean {
                eprintln!(
                    "{}: left after teardown: {} cgroups {:?}, {} processes, {} states",
                    rt.name,
                    cg.len(),
                    cg.first(),
                    procs.len(),
                    states.len()
                );
            }
        }
        rows.push((rt.name, row));
    }

    let base = rows.iter().find(|(n, _)| *n == "crun").map(|(_, r)| {
        (
            r.run_ms,
            r.lifecycle_ms,
            r.state_ms,
            r.fifty_ms,
            r.run_rss_kib,
        )
    });
    println!("iterations {iterations}, scale {scale}; medians; ratios are runtime / crun\n");
    println!("| runtime | run /bin/true ms (p90) | ratio | peak RSS run KiB | ratio | peak RSS create KiB | create+start+delete ms | ratio | state ms | ratio | 50 at once ms | ratio | 50 teardown ms | {scale} started s | running | teardown s | clean |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, r) in &rows {
        let ratio =
            |x: f64, b: Option<f64>| b.map(|b| format!("{:.2}", x / b)).unwrap_or("-".into());
        println!(
            "| {name} | {:.2} ({:.2}) | {} | {} | {} | {} | {:.2} | {} | {:.2} | {} | {:.0} | {} | {:.0} | {:.1} | {} | {:.1} | {} |",
            r.run_ms,
            r.run_p90_ms,
            ratio(r.run_ms, base.map(|b| b.0)),
            r.run_rss_kib,
            ratio(r.run_rss_kib as f64, base.map(|b| b.4 as f64)),
            r.create_rss_kib,
            r.lifecycle_ms,
            ratio(r.lifecycle_ms, base.map(|b| b.1)),
            r.state_ms,
            ratio(r.state_ms, base.map(|b| b.2)),
            r.fifty_ms,
            ratio(r.fifty_ms, base.map(|b| b.3)),
            r.fifty_teardown_ms,
            r.scale_start_s,
            r.scale_running,
            r.scale_teardown_s,
            if r.scale_clean { "yes" } else { "NO" },
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}
