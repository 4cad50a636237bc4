//! dockerd's `userns-remap`, from the engine's configuration file: the
//! container's root is an unprivileged host uid (read from the host's
//! /proc), the image's files are root's inside, what it writes (its layer,
//! a volume) belongs to the mapped uid on the host, and a host-root 0600
//! file bound in stays closed to it (while a `--userns host` container's
//! root reads it). Bad or incompatible values exit 125 and make nothing;
//! `rm` leaves no mount, cgroup or process.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::Cv;

/// The first host id of the test's range (outside the core tests').
const BASE: u32 = 331_072;

/// An engine whose configuration remaps to `cvtest`'s ranges, read from
/// subuid/subgid files of the test's own.
struct Remapped {
    cv: Cv,
    config: PathBuf,
}

impl Remapped {
    fn new() -> Remapped {
        let cv = Cv::new();
        let dir = cv.root.path().to_path_buf();
        for f in ["subuid", "subgid"] {
            std::fs::write(dir.join(f), format!("# test\ncvtest:{BASE}:65536\n")).unwrap();
        }
        let config = dir.join("engine.toml");
        std::fs::write(
            &config,
            format!(
                "[security]\nuserns-remap = \"cvtest\"\nsubuid-file = \"{}\"\nsubgid-file = \"{}\"\n",
                dir.join("subuid").display(),
                dir.join("subgid").display()
            ),
        )
        .unwrap();
        Remapped { cv, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cv
            .cmd(args)
            .env("CONTAINERV_CONFIG_FILE", &self.config)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "cv {args:?} failed ({}): {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// (exit code, stdout + stderr) of `run --rm FLAGS busybox sh -c SCRIPT`.
    fn sh(&self, flags: &[&str], script: &str) -> (i32, String) {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["containerv/busybox", "sh", "-c", script]);
        let o = self.run(&a);
        (
            o.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    }
}

/// Uid: and Gid: of a host process (real, effective, saved, fs).
fn host_ids(pid: &str) -> (String, String) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let f = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    (f("Uid:"), f("Gid:"))
}

fn owner(p: &Path) -> (u32, u32) {
    let md = std::fs::symlink_metadata(p).unwrap();
    (md.uid(), md.gid())
}

#[test]
fn root_is_an_unprivileged_host_uid_and_the_image_stays_roots() {
    let r = Remapped::new();
    // The default bridge network too: the veth and sysctls of a user
    // namespace's network namespace.
    let id = r
        .ok(&[
            "run",
            "-d",
            "--name",
            "remapped",
            "containerv/busybox",
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    let pid = r.cv.inspect(&id, "{{.State.Pid}}");
    let ids = host_ids(&pid);
    let out = r.ok(&[
        "exec",
        "remapped",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; stat -c '%u %g' /bin/busybox /etc/passwd /; \
         touch /made-inside && echo wrote; echo x >> /etc/passwd && echo appended; \
         echo 1 > /etc/hosts && echo hosts; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping",
    ]);
    // An exec'd process is remapped the same way (the exec joins the
    // container's user namespace): found on the host by its command line.
    let exec_ids = {
        let mut child =
            r.cv.cmd(&["exec", "remapped", "sleep", "7.25"])
                .env("CONTAINERV_CONFIG_FILE", &r.config)
                .spawn()
                .unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let found = loop {
            let hit = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
                let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                (cmd == b"sleep\x007.25\x00").then(|| host_ids(&pid.to_string()).0)
            });
            if hit.is_some() || std::time::Instant::now() > end {
                break hit;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let _ = child.kill();
        let _ = child.wait();
        found.unwrap_or_default()
    };
    let upper =
        r.cv.engine_root()
            .join("containers")
            .join(&id)
            .join("upper");
    let made = owner(&upper.join("made-inside"));
    let passwd = owner(&upper.join("etc/passwd"));
    r.ok(&["rm", "-f", "remapped"]);
    r.cv.assert_gone(&id);

    let want = format!("{BASE} {BASE} {BASE} {BASE}");
    assert_eq!(ids, (want.clone(), want.clone()), "the init's host ids");
    assert_eq!(exec_ids, want, "the exec'd process's host ids");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", &BASE.to_string(), "65536"],
        "{out}"
    );
    assert_eq!(
        &lines[2..],
        ["0 0", "0 0", "0 0", "wrote", "appended", "hosts", "ping"],
        "{out}"
    );
    assert_eq!(made, (BASE, BASE), "a file the container made, on the host");
    assert_eq!(passwd, (BASE, BASE), "a copied-up image file, on the host");
}

#[test]
fn volumes_belong_to_the_mapped_root_and_host_root_files_stay_closed() {
    let r = Remapped::new();
    let host = r.cv.root.path().join("host");
    std::fs::create_dir(&host).unwrap();
    let secret = host.join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bind = format!("{}:/secret:ro", secret.display());
    let (code, out) = r.sh(
        &["--network", "none", "-v", "vol:/data", "-v", &bind],
        "touch /data/f && echo made; stat -c '%u' /secret; cat /secret; echo cat=$?",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("made"), "{out}");
    assert!(
        !out.contains("s3cret"),
        "the remapped root read host root's file: {out}"
    );
    assert!(out.contains("Permission denied"), "{out}");
    assert!(out.contains("cat=1"), "{out}");
    // Host root's file is nobody's inside (docker binds without idmap).
    assert!(
        out.contains("\n65534\n") || out.starts_with("65534\n"),
        "{out}"
    );
    let data = r.cv.engine_root().join("volumes/vol/_data");
    assert_eq!(
        owner(&data.join("f")),
        (BASE, BASE),
        "the volume's file on the host"
    );
    assert_eq!(
        owner(&data),
        (BASE, BASE),
        "the volume's directory on the host"
    );
    // --userns host: no user namespace, and root reads it.
    let (code, out) = r.sh(
        &["--network", "none", "--userns", "host", "-v", &bind],
        "cat /proc/self/uid_map; cat /secret",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("s3cret"), "{out}");
    assert_eq!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["0", "0", "4294967295"],
        "{out}"
    );
    // The file was not touched.
    assert_eq!(owner(&secret), (0, 0));
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret\n");
    r.ok(&["volume", "rm", "vol"]);
    assert!(r.cv.ids().is_empty(), "--rm left {:?}", r.cv.ids());
}

#[test]
fn bad_and_incompatible_values_exit_125_and_leave_nothing() {
    let r = Remapped::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--userns", "bad"], "--userns"),
        (&["--userns", "auto"], "--userns"),
        (
            &["--privileged"],
            "privileged mode is incompatible with user namespaces",
        ),
        (
            &["--network", "host"],
            "cannot share the host's network namespace",
        ),
        (&["--pid", "host"], "cannot share the host's PID namespace"),
    ];
    for (flags, needle) in cases {
        for cmd in ["run", "create"] {
            let mut a = vec![cmd];
            a.extend_from_slice(flags);
            a.extend_from_slice(&["containerv/busybox", "true"]);
            let o = r.run(&a);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{cmd} {flags:?}: {err}");
            assert!(err.contains(needle), "{cmd} {flags:?}: {err}");
        }
    }
    assert_eq!(r.ok(&["ps", "-a", "-q"]).trim(), "");
    assert!(r.cv.ids().is_empty(), "left {:?}", r.cv.ids());
    let runtime = r.cv.engine_root().join("runtime");
    let left = std::fs::read_dir(&runtime).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "core state left under {}", runtime.display());
    // A configuration naming a user without ranges stops every command,
    // naming the key, the value and the file to fix.
    std::fs::write(
        &r.config,
        format!(
            "[security]\nuserns-remap = \"nosuchuser\"\nsubuid-file = \"{}\"\n",
            r.cv.root.path().join("subuid").display()
        ),
    )
    .unwrap();
    for args in [
        &["info"][..],
        &["run", "--rm", "containerv/busybox", "true"][..],
    ] {
        let o = r.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            err.contains("security.userns-remap = \"nosuchuser\"") && err.contains("subuid"),
            "{args:?}: {err}"
        );
    }
    assert!(r.cv.ids().is_empty(), "left {:?}", r.cv.ids());
}
