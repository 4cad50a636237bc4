//! Every container command end to end on real containers of the built-in
//! image: run (foreground, detached, --rm), create/start, ps, inspect,
//! exec, cp, top, stats, pause/unpause, update, wait, kill, restart, rm,
//! container prune, and the run flags that shape the container.

mod common;

use std::time::Duration;

use common::{path_str, Cv};

#[test]
fn foreground_run_prints_output_and_returns_the_exit_code() {
    let cv = Cv::new();
    let o = cv.run(&[
        "run",
        "--name",
        "fg",
        "containerv/busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(
        cv.inspect("fg", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 7"
    );
    // No image: the built-in one, with its default command (sh) reading
    // an empty stdin.
    let o = cv.run(&["run", "--rm"]);
    assert!(o.status.success(), "{o:?}");
    let id = cv
        .ok(&["inspect", "-f", "{{.Id}}", "fg"])
        .trim()
        .to_string();
    cv.ok(&["rm", "fg"]);
    cv.assert_gone(&id);
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

#[test]
fn run_rm_removes_everything() {
    let cv = Cv::new();
    let o = cv.run(&[
        "run",
        "--rm",
        "--name",
        "gone",
        "containerv/busybox",
        "sh",
        "-c",
        "echo bye",
    ]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "bye\n");
    assert!(cv.ids().is_empty(), "left {:?}", cv.ids());
    // Detached --rm: removed by its monitor when it ends.
    let id = cv.run_d(&["--rm", "containerv/busybox", "sleep", "0.2"]);
    cv.assert_gone(&id);
}

#[test]
fn detached_lifecycle_ps_inspect_exec_cp_top_stats_pause_update_stop_rm() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "web",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "32",
        "containerv/busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    assert_eq!(id.len(), 64);
    let ps = cv.ok(&["ps"]);
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    assert!(
        ps.contains("web") && ps.contains(&id[..12]) && ps.contains("Up "),
        "{ps}"
    );
    assert_eq!(cv.ok(&["ps", "-q"]).trim(), &id[..12]);
    let j: serde_json::Value =
        serde_json::from_str(cv.ok(&["ps", "--format", "json"]).trim()).unwrap();
    assert_eq!(j["Names"], "web");
    assert_eq!(j["State"], "running");
    let doc: serde_json::Value = serde_json::from_str(&cv.ok(&["inspect", "web"])).unwrap();
    assert_eq!(doc[0]["Id"], id.as_str());
    assert_eq!(doc[0]["Name"], "/web");
    assert_eq!(doc[0]["State"]["Running"], true);
    let pid = doc[0]["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());

    // exec: exit code, env, workdir, user.
    let o = cv.run(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "web",
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u); exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "1 /tmp 0\n");
    assert_eq!(
        cv.ok(&["exec", "-u", "nobody", "web", "id", "-u"]).trim(),
        "65534"
    );
    cv.ok(&["exec", "-d", "web", "sleep", "5"]);
    // exec -t: a terminal from the container's devpts.
    let o = cv.run(&[
        "exec",
        "-t",
        "web",
        "sh",
        "-c",
        "tty; test -t 1 && echo isatty; exit 2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    assert!(out.contains("/dev/pts/") && out.contains("isatty"), "{out}");

    // cp both ways.
    let f = cv.root.path().join("in.txt");
    std::fs::write(&f, "payload\n").unwrap();
    cv.ok(&["cp", path_str(&f), "web:/tmp/in.txt"]);
    assert_eq!(cv.ok(&["exec", "web", "cat", "/tmp/in.txt"]), "payload\n");
    let back = cv.root.path().join("out.txt");
    cv.ok(&["cp", "web:/tmp/in.txt", path_str(&back)]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "payload\n");

    // top and stats.
    let top = cv.ok(&["top", "web"]);
    assert!(top.contains("PID") && top.contains("sleep 5"), "{top}");
    let stats = cv.ok(&["stats", "--no-stream", "--format", "json", "web"]);
    let s: serde_json::Value = serde_json::from_str(stats.trim()).unwrap();
    assert_eq!(s["Name"], "web");
    assert!(
        s["MemUsage"].as_str().unwrap().ends_with("/ 64.00MiB"),
        "{s}"
    );
    // Live stats: a table a second (no screen clearing off a terminal).
    let mut live = cv
        .cmd(&["stats", "web"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut rd = std::io::BufReader::new(live.stdout.take().unwrap());
    let mut headers = 0;
    let mut line = String::new();
    while headers < 2 {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut rd, &mut line).unwrap() > 0);
        if line.starts_with("CONTAINER ID") {
            headers += 1;
        }
    }
    // SAFETY: kill(2) of the child we spawned.
    unsafe { libc::kill(live.id() as i32, libc::SIGTERM) };
    live.wait().unwrap();
    let table = cv.ok(&["stats", "--no-stream"]);
    assert!(
        table.starts_with("CONTAINER ID") && table.contains("web"),
        "{table}"
    );

    // pause / unpause.
    cv.ok(&["pause", "web"]);
    assert_eq!(cv.inspect("web", "{{.State.Status}}"), "paused");
    assert!(cv.fails(&["pause", "web"]).contains("paused"));
    cv.ok(&["unpause", "web"]);
    assert_eq!(cv.inspect("web", "{{.State.Status}}"), "running");

    // update: applied live (the cgroup's limit) and recorded.
    cv.ok(&["update", "--memory", "96m", "--pids-limit", "40", "web"]);
    // Bytes, as docker prints them.
    assert_eq!(cv.inspect("web", "{{.HostConfig.Memory}}"), "100663296");
    let s: serde_json::Value = serde_json::from_str(
        cv.ok(&["stats", "--no-stream", "--format", "json", "web"])
            .trim(),
    )
    .unwrap();
    assert!(
        s["MemUsage"].as_str().unwrap().ends_with("/ 96.00MiB"),
        "{s}"
    );

    // rm of a running container is refused; stop is graceful (trap).
    assert!(cv.fails(&["rm", "web"]).contains("running"));
    let t = std::time::Instant::now();
    cv.ok(&["stop", "web"]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        cv.inspect("web", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 0"
    );
    assert!(cv.ok(&["ps"]).lines().count() == 1);
    assert!(cv.ok(&["ps", "-a"]).contains("Exited (0)"));
    cv.ok(&["rm", "web"]);
    cv.assert_gone(&id);
}

#[test]
fn create_start_wait_restart_kill_prune() {
    let cv = Cv::new();
    let id = cv
        .ok(&[
            "create",
            "--name",
            "c1",
            "containerv/busybox",
            "sh",
            "-c",
            "sleep 0.3; exit 5",
        ])
        .trim()
        .to_string();
    assert_eq!(cv.inspect("c1", "{{.State.Status}}"), "created");
    assert!(cv.ok(&["ps", "-a"]).contains("Created"));
    cv.ok(&["start", "c1"]);
    assert_eq!(cv.ok(&["wait", "c1"]).trim(), "5");
    assert_eq!(cv.inspect("c1", "{{.State.Status}}"), "exited");
    // start again (a stopped container restarts with its writable layer).
    let o = cv.run(&["start", "-a", "c1"]);
    assert_eq!(o.status.code(), Some(5));

    let k = cv.run_d(&["--name", "k1", "containerv/busybox", "sleep", "100"]);
    let pid1 = cv.inspect("k1", "{{.State.Pid}}");
    cv.ok(&["restart", "-t", "0", "k1"]);
    assert_eq!(cv.inspect("k1", "{{.State.Status}}"), "running");
    assert_ne!(cv.inspect("k1", "{{.State.Pid}}"), pid1);
    cv.ok(&["kill", "k1"]);
    assert_eq!(
        cv.inspect("k1", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    assert!(cv.fails(&["kill", "k1"]).contains("exited"));
    assert!(cv.fails(&["kill", "-s", "NOPE", "c1"]).contains("--signal"));

    let out = cv.ok(&["container", "prune", "-f"]);
    assert!(out.contains(&id) && out.contains(&k), "{out}");
    cv.assert_gone(&id);
    cv.assert_gone(&k);
    assert!(cv.fails(&["start", "c1"]).contains("no such container"));
}

#[test]
fn run_flags_shape_the_container() {
    let cv = Cv::new();
    let host_dir = cv.root.path().join("vol");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("h.txt"), "from host").unwrap();
    std::fs::set_permissions(
        &host_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let env_file = cv.root.path().join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\nB=file\n").unwrap();
    let vol = format!("{}:/data", path_str(&host_dir));
    let vol_ro = format!("{}:/ro:ro", path_str(&host_dir));
    let script = "echo $A $B $FROM_FILE; pwd; hostname; id -u; cat /data/h.txt; echo; \
                  echo w > /data/new.txt; echo x > /ro/x 2>/dev/null || echo ro-refused; \
                  grep -c ' /scratch tmpfs' /proc/mounts; touch /etc/x 2>/dev/null || echo rootfs-ro; \
                  ls /sys/class/net | tr '\\n' ' '";
    let envf = format!("--env-file={}", path_str(&env_file));
    let o = cv.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-e",
        "A=1",
        "-e",
        "B=flag",
        &envf,
        "-w",
        "/tmp",
        "-h",
        "box",
        "-u",
        "nobody",
        "-v",
        &vol,
        "-v",
        &vol_ro,
        "--tmpfs",
        "/scratch",
        "--read-only",
        "containerv/busybox",
        "sh",
        "-c",
        script,
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1 flag yes");
    assert_eq!(lines[1], "/tmp");
    assert_eq!(lines[2], "box");
    assert_eq!(lines[3], "65534");
    assert_eq!(lines[4], "from host");
    assert_eq!(lines[5], "ro-refused");
    assert_eq!(lines[6], "1");
    assert_eq!(lines[7], "rootfs-ro");
    assert_eq!(lines[8].trim(), "lo", "--network none: loopback only");
    assert!(host_dir.join("new.txt").exists());
    // --network host sees the host's interfaces.
    let o = cv.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "containerv/busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert!(o.lines().count() > 1, "{o}");
    // -i: our stdin reaches the container.
    let mut c = cv.cmd(&[
        "run",
        "--rm",
        "-i",
        "containerv/busybox",
        "tr",
        "a-z",
        "A-Z",
    ]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello stdin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "HELLO STDIN\n");
    // --init: the built-in reaper is pid 1, the command runs under it.
    let o = cv.ok(&[
        "run",
        "--rm",
        "--init",
        "containerv/busybox",
        "sh",
        "-c",
        "echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_ne!(o.lines().next().unwrap(), "1", "{o}");
    // -t: the command gets a terminal; its output is logged as stdout.
    let o = cv.run(&[
        "run",
        "--rm",
        "-t",
        "containerv/busybox",
        "sh",
        "-c",
        "tty; test -t 0 && echo stdin-tty; exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    assert!(
        out.contains("/dev/pts/") && out.contains("stdin-tty"),
        "{out}"
    );
    // -t with --init: the init is pid 1, the command has the terminal.
    let o = cv.run(&[
        "run",
        "--rm",
        "-t",
        "--init",
        "containerv/busybox",
        "sh",
        "-c",
        "tty; echo TERM=$TERM; ps -o pid,args | grep ' 1 '; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    assert!(
        out.contains("/dev/pts/") && out.contains("TERM=xterm"),
        "{out}"
    );
    assert!(out.contains("1 /sbin/cv-init"), "{out}");
    assert!(cv.ids().is_empty());
}
