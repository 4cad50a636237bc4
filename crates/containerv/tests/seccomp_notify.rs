//! SCMP_ACT_NOTIFY end to end: a tiny seccomp agent in the test listens
//! on `listenerPath`, gets the runtime's `ContainerProcessState` and the
//! listener fd, and answers the container's mkdir with an errno of its
//! choosing. Without an agent the create fails and leaves nothing.
#![cfg(target_os = "linux")]

mod seccomp_common;
mod spec_common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use containerv::{ExitStatus, StartMode, Stdio};
use containerv_testutil::fdpass::recv_fd;
use seccomp_common::{one_rule, seccomp_spec};
use serde_json::{json, Value};
use spec_common::{create_err, run, runtime, unique_id};

/// `_IOWR('!', 0, struct seccomp_notif)` / `_IOWR('!', 1, struct seccomp_notif_resp)`.
const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// What the agent saw: the state JSON, and (pid, syscall nr) of the one
/// notification it answered.
struct Seen {
    state: Value,
    pid: u32,
    nr: i32,
}

/// Listen on `sock`; answer the first notification with `-errno`. The
/// state also goes to `got_state` as soon as it arrives.
fn agent(sock: &Path, errno: i32, got_state: Option<Sender<Value>>) -> JoinHandle<Seen> {
    agent_skipping(sock, errno, got_state, 0)
}

/// [`agent`] that first takes `skip` connections (their listeners are
/// kept, never answered: e.g. the init's, when the test is about an exec).
fn agent_skipping(
    sock: &Path,
    errno: i32,
    got_state: Option<Sender<Value>>,
    skip: usize,
) -> JoinHandle<Seen> {
    let listener = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        let skipped: Vec<_> = (0..skip).map(|_| listener.accept().unwrap()).collect();
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (fd, n) = recv_fd(&conn, &mut buf);
        let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
        let fd = fd.expect("listener fd with the state");
        if let Some(tx) = got_state {
            tx.send(state.clone()).unwrap();
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 20_000) };
        assert_eq!(ready, 1, "no notification within 20 s");
        let mut req = [0u8; 80];
        // SAFETY: SECCOMP_IOCTL_NOTIF_RECV into a zeroed struct seccomp_notif.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, req.as_mut_ptr()) };
        assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
        let id = u64::from_ne_bytes(req[0..8].try_into().unwrap());
        let pid = u32::from_ne_bytes(req[8..12].try_into().unwrap());
        let nr = i32::from_ne_bytes(req[16..20].try_into().unwrap());
        let mut resp = [0u8; 24];
        resp[0..8].copy_from_slice(&id.to_ne_bytes());
        resp[16..20].copy_from_slice(&(-errno).to_ne_bytes());
        // SAFETY: SECCOMP_IOCTL_NOTIF_SEND with a struct seccomp_notif_resp.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, resp.as_mut_ptr()) };
        assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
        drop(skipped);
        Seen { state, pid, nr }
    })
}

#[test]
fn agent_answers_mkdir() {
    let (root, rt) = runtime();
    let id = unique_id("sc-notify");
    let sock = root.path().join("agent.sock");
    let seen = agent(&sock, libc::EXDEV, None);
    let mut p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY", json!({}));
    p["listenerPath"] = json!(sock);
    p["listenerMetadata"] = json!("hello-agent");
    p["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    let (spec, config) = seccomp_spec(&id, "exec mkdir /dev/shm/n", p, true);
    let (st, out) = run(&rt, &id, spec, config);
    let seen = seen.join().unwrap();
    assert_eq!(st, ExitStatus::Exited(1), "{out}");
    assert!(out.contains("Invalid cross-device link"), "{out}");
    // busybox's mkdir calls mkdir(2) where the architecture has it
    // (x86_64), mkdirat(2) everywhere else.
    #[cfg(target_arch = "x86_64")]
    let mkdir = [libc::SYS_mkdir as i32, libc::SYS_mkdirat as i32];
    #[cfg(not(target_arch = "x86_64"))]
    let mkdir = [libc::SYS_mkdirat as i32];
    assert!(mkdir.contains(&seen.nr), "{}", seen.nr);
    let s = &seen.state;
    assert_eq!(s["fds"], json!(["seccompFd"]), "{s}");
    assert_eq!(s["metadata"], json!("hello-agent"), "{s}");
    assert_eq!(s["state"]["id"], json!(id), "{s}");
    assert_eq!(s["state"]["status"], json!("creating"), "{s}");
    assert!(s["ociVersion"].is_string(), "{s}");
    // The pid the runtime reports is the process that made the call.
    assert_eq!(s["pid"], json!(seen.pid), "{s}");
    assert_eq!(s["state"]["pid"], json!(seen.pid), "{s}");
}

#[test]
fn no_agent_fails_create_and_leaves_nothing() {
    let (root, rt) = runtime();
    let id = unique_id("sc-noagent");
    let mut p = one_rule(&["mkdir"], "SCMP_ACT_NOTIFY", json!({}));
    p["listenerPath"] = json!(root.path().join("nobody-listens.sock"));
    let (spec, config) = seccomp_spec(&id, "true", p, true);
    let e = create_err(&rt, &id, spec, config);
    assert!(
        e.contains("seccomp agent") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn listener_reaches_the_agent_during_create() {
    // Created now, started later (possibly by another process, as the OCI
    // CLI does): the agent has the listener before `start`, like runc.
    let (root, rt) = runtime();
    let id = unique_id("sc-notify-create");
    let sock = root.path().join("agent.sock");
    let (tx, rx) = channel();
    let seen = agent(&sock, libc::EROFS, Some(tx));
    let mut p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY", json!({}));
    p["listenerPath"] = json!(sock);
    let (spec, mut config) = seccomp_spec(&id, "mkdir /dev/shm/n; echo rc=$?", p, false);
    config.start = StartMode::OnStart;
    config.stdout = Stdio::Pipe;
    config.stderr = Stdio::Pipe;
    let mut c = rt.create_from_spec(&id, spec, config).unwrap();
    let state = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the agent got the listener during create");
    assert_eq!(state["state"]["status"], json!("creating"), "{state}");
    let [_, out, err] = c.take_stdio();
    c.start().unwrap();
    let mut text = String::new();
    out.unwrap().read_to_string(&mut text).unwrap();
    err.unwrap().read_to_string(&mut text).unwrap();
    let st = c.wait().unwrap();
    c.destroy().unwrap();
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
    seen.join().unwrap();
    assert!(st.success(), "{st}: {text}");
    assert!(
        text.contains("Read-only file system") && text.contains("rc=1"),
        "{text}"
    );
}

#[test]
fn exec_hands_its_own_listener_to_the_agent() {
    // The init (sleeping) and an exec'd process each get the filter and
    // each hand a listener over; the exec's state says "running".
    let (root, rt) = runtime();
    let id = unique_id("sc-notify-exec");
    let sock = root.path().join("agent.sock");
    let seen = agent_skipping(&sock, libc::EDQUOT, None, 1);
    let mut p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY", json!({}));
    p["listenerPath"] = json!(sock);
    let (spec, config) = seccomp_spec(&id, "exec sleep 60", p, false);
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let mut o = containerv::ProcessOptions::new(["mkdir", "/dev/shm/e"]);
    o.stdout = Stdio::Pipe;
    o.stderr = Stdio::Pipe;
    let mut proc_ = c.spawn(o).unwrap();
    let mut text = String::new();
    proc_
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let st = proc_.wait().unwrap();
    let exec_pid = proc_.pid();
    c.destroy().unwrap();
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
    let seen = seen.join().unwrap();
    assert_eq!(st, ExitStatus::Exited(1), "{text}");
    assert!(text.contains("quota exceeded"), "{text}");
    assert_eq!(
        seen.state["state"]["status"],
        json!("running"),
        "{}",
        seen.state
    );
    assert_eq!(seen.state["pid"], json!(exec_pid), "{}", seen.state);
    assert_eq!(seen.pid as i32, exec_pid);
}
