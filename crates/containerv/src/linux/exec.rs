//! `spawn` / `exec`: running a new process inside a running container, the
//! way `runc exec` does, with no agent inside the container.
//!
//! The parent prepares everything (the [`PreparedProcess`], the container's
//! namespace files, its `cgroup.procs` files, stdio, a report pipe), then
//! forks an intermediate with a raw fork-like `clone`. The intermediate
//! (single-threaded) joins the cgroup and every namespace the container
//! does not share with us (user first, mount last), then clones the real
//! process with `CLONE_PARENT` so that it is born inside the container's
//! pid namespace *and* is the caller's own child (plain `waitpid` works).
//! The intermediate reports the grandchild's pid and exits; the grandchild
//! installs stdio and calls [`PreparedProcess::exec`]. The pid and every
//! failure in either come back over the CLOEXEC report pipe as
//! [`report`] records (a [`ChildError`]: a [`Step`] and an errno); EOF
//! with no error means the program is running.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process as OciProcess, UserBuilder};

use super::cgroups::CgroupManager;
use super::init::sys::errno;
use super::proc_setup::PreparedProcess;
use super::process::{wait_pid, Process, ProcessIo};
use super::report::{self, Report};
use super::stdio::{self, StdioSet};
use super::step::{ChildError, Step};
use super::tty;
use crate::error::{Error, Result};
use crate::process::{ProcessOptions, User};

/// Namespaces joined, in order: user first (it owns the others), mount
/// last (after it, host paths are gone). `cgroup` comes after the cgroup
/// itself is joined so the namespace root is right.
const NAMESPACES: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

/// Exit code of a child that failed before exec.
const SETUP_FAILED: i32 = 127;

/// An OCI process and its stdio from [`ProcessOptions`]: the one path
/// `spawn` takes into `exec`. `base` is the container's own process (its
/// env, user, capabilities, rlimits and no_new_privs are the defaults).
pub(crate) fn process_from_options(
    opts: ProcessOptions,
    base: Option<&OciProcess>,
) -> Result<(OciProcess, ProcessIo, bool)> {
    if opts.args.is_empty() {
        return Err(Error::option("args", "", "no program to run"));
    }
    let mut p = base.cloned().unwrap_or_default();
    p.set_args(Some(opts.args));
    p.set_terminal(Some(false));
    p.set_console_size(None);
    if !opts.env.is_empty() {
        p.set_env(Some(opts.env));
    }
    p.set_cwd(opts.cwd.unwrap_or_else(|| PathBuf::from("/")));
    if base.is_none() {
        // No container process to copy: root with its full privileges, as
        // an exec into a container made by our builder runs.
        p.set_capabilities(None);
        p.set_no_new_privileges(None);
        p.set_rlimits(None);
    }
    match opts.user {
        None => {}
        Some(User::Id {
            uid,
            gid,
            additional_gids,
        }) => {
            let mut u = UserBuilder::default().uid(uid).gid(gid);
            if !additional_gids.is_empty() {
                u = u.additional_gids(additional_gids);
            }
            p.set_user(u.build().map_err(|e| Error::InvalidSpec(e.to_string()))?);
        }
        Some(User::Name(name)) => {
            let u = UserBuilder::default()
                .username(name)
                .build()
                .map_err(|e| Error::InvalidSpec(e.to_string()))?;
            p.set_user(u);
        }
    }
    let io = ProcessIo {
        stdin: opts.stdin,
        stdout: opts.stdout,
        stderr: opts.stderr,
        ..Default::default()
    };
    Ok((p, io, opts.wait))
}

/// Descriptors of the namespaces of `pid` that differ from ours.
fn namespace_fds(pid: i32) -> Result<Vec<(RawFd, OwnedFd)>> {
    let mut out = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = format!("/proc/{pid}/ns/{name}");
        let ours = format!("/proc/self/ns/{name}");
        let meta = |p: &str| std::fs::metadata(p).map_err(|e| Error::io("stat namespace", p, e));
        let (t, o) = match (meta(&theirs), meta(&ours)) {
            (Ok(t), Ok(o)) => (t, o),
            // A kernel without this namespace type: nothing to join.
            (Err(_), Err(_)) => continue,
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        if t.dev() == o.dev() && t.ino() == o.ino() {
            if name == "mnt" {
                // A container without a mount namespace of its own: the
                // process would see our root, not the container's.
                return Err(Error::Unsupported(
                    "exec into a container without a mount namespace of its own (it shares the runtime's)".into(),
                ));
            }
            continue;
        }
        let f =
            std::fs::File::open(&theirs).map_err(|e| Error::io("open namespace", &theirs, e))?;
        out.push((flag as RawFd, OwnedFd::from(f)));
    }
    Ok(out)
}

/// Move the calling process into the container whose init is `init_pid`:
/// its cgroup, then its namespaces (user first, mount last), as `setns`
/// allows: the caller must be single-threaded (the kernel refuses the user
/// and mount namespaces otherwise), and the pid namespace applies to the
/// caller's children only. The seed's `containerv_join`.
pub(crate) fn join_caller(init_pid: i32, cgroup: &dyn CgroupManager) -> Result<()> {
    if init_pid <= 0 {
        return Err(Error::InvalidSpec(
            "the container has no running init".into(),
        ));
    }
    let namespaces = namespace_fds(init_pid)?;
    for fd in cgroup.procs_fds()? {
        // SAFETY: write "0" (this process) to an open cgroup.procs file.
        if unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) } < 0 {
            return Err(Error::sys("join cgroup", std::io::Error::last_os_error()));
        }
    }
    for (flag, fd) in &namespaces {
        // SAFETY: setns with an open namespace file descriptor.
        if unsafe { libc::setns(fd.as_raw_fd(), *flag) } < 0 {
            return Err(Error::sys(
                format!("setns into namespace type {flag:#x} of pid {init_pid}"),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Everything the intermediate and the grandchild use, as raw values.
struct ChildPlan<'a> {
    prepared: &'a PreparedProcess,
    /// Files to write `0` into, each with `unless_placed` (the cgroup2
    /// fallback when clone3 did not start the intermediate there).
    cgroup_procs: &'a [(OwnedFd, bool)],
    namespaces: &'a [(RawFd, OwnedFd)],
    stdio: [RawFd; 3],
    report: RawFd,
    preserve_fds: u32,
    tty: Option<tty::ChildTty>,
}

/// Run `process` in the container whose init is `init_pid` and whose
/// cgroup is `cgroup`. Returns once the program is running (exec done), or
/// with the error of the step that failed (nothing left behind then).
pub(crate) fn exec(
    init_pid: i32,
    cgroup: &dyn CgroupManager,
    process: &OciProcess,
    io: ProcessIo,
) -> Result<Process> {
    exec_with(init_pid, cgroup, process, io, None, None)
}

/// [`exec`] with the container's `linux.seccomp` and session keyring
/// (`Container::exec`; the hooks run without them).
pub(crate) fn exec_with(
    init_pid: i32,
    cgroup: &dyn CgroupManager,
    process: &OciProcess,
    io: ProcessIo,
    seccomp: Option<super::seccomp::Context<'_>>,
    session_keyring: Option<&str>,
) -> Result<Process> {
    if init_pid <= 0 {
        return Err(Error::InvalidSpec(
            "the container has no running init".into(),
        ));
    }
    let root = PathBuf::from(format!("/proc/{init_pid}/root"));
    let mut prepared = PreparedProcess::prepare(process, &root)?;
    if let Some(ctx) = seccomp {
        prepared.set_seccomp(ctx)?;
    }
    prepared.set_session_keyring(session_keyring)?;
    let tty = if prepared.terminal {
        let socket = io.console_socket.as_deref().ok_or_else(|| {
            Error::InvalidSpec("process.terminal is set but no console socket was given".into())
        })?;
        Some(tty::connect(socket, process.console_size())?)
    } else {
        None
    };
    let namespaces = namespace_fds(init_pid)?;
    let super::cgroups::ChildJoin { write_zero, into } = cgroup.child_join()?;
    let (into_dir, into_procs) = match into {
        Some(i) => (Some(i.dir), Some(i.procs)),
        None => (None, None),
    };
    let cgroup_procs: Vec<(OwnedFd, bool)> = write_zero
        .into_iter()
        .map(|fd| (fd, false))
        .chain(into_procs.map(|fd| (fd, true)))
        .collect();
    let mut stdio = StdioSet::open([io.stdin, io.stdout, io.stderr])?;
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe", e.into()))?;

    let plan = ChildPlan {
        prepared: &prepared,
        cgroup_procs: &cgroup_procs,
        namespaces: &namespaces,
        stdio: stdio.child_raw(),
        report: report_w.as_raw_fd(),
        preserve_fds: io.preserve_fds,
        tty: tty.as_ref().map(|t| t.child(prepared.ids())),
    };
    // SAFETY: a fork-like clone (no new stack; the child continues on a
    // copy of ours), born in the container's cgroup2 directory when the
    // kernel can (before the intermediate enters the container's cgroup
    // namespace, outside of which it could not move). The child only runs
    // `intermediate`, which makes system calls on data prepared above and
    // never returns.
    let forked = unsafe { super::fork::fork(0, into_dir.as_ref().map(|f| f.as_fd())) };
    let mid = match forked {
        // SAFETY: we are the freshly forked intermediate.
        Ok(super::fork::Forked::Child { placed }) => unsafe { intermediate(&plan, placed) },
        Ok(super::fork::Forked::Parent(pid)) => pid,
        Err(e) => return Err(Error::sys("clone", e)),
    };
    drop(into_dir);
    drop(report_w);
    // Our copies of the child's ends must go so pipes see EOF later.
    stdio.child = Default::default();
    drop(tty);

    let (pid, failure) = read_reports(report_r);
    let mid_status = wait_pid(mid);
    if let Some(err) = failure {
        if let Some(pid) = pid {
            // The grandchild failed before exec and exits by itself.
            let _ = wait_pid(pid);
        }
        return Err(prepared.error(err));
    }
    let pid = match (pid, mid_status) {
        (Some(pid), _) => pid,
        (None, Ok(status)) => {
            return Err(Error::Setup {
                step: format!("exec helper ended ({status}) before starting the process"),
                source: std::io::Error::from_raw_os_error(libc::ECHILD),
            })
        }
        (None, Err(e)) => return Err(e),
    };
    // SAFETY: pidfd_open on our own unreaped child: the pid cannot be reused.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh descriptor from pidfd_open, owned from here on.
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) });
    let mut p = Process::new(pid, pidfd);
    let [stdin, stdout, stderr] = std::mem::take(&mut stdio.parent);
    p.stdin = stdin;
    p.stdout = stdout;
    p.stderr = stderr;
    if let Some(path) = &io.pid_file {
        if let Err(e) = write_pid_file(path, pid) {
            let _ = p.kill(libc::SIGKILL);
            let _ = p.wait();
            return Err(e);
        }
    }
    Ok(p)
}

/// Read reports until EOF: the grandchild's pid, and the first error of
/// either child.
fn read_reports(pipe: OwnedFd) -> (Option<i32>, Option<ChildError>) {
    let mut f = std::fs::File::from(pipe);
    let (mut pid, mut failure) = (None, None);
    loop {
        match report::receive(&mut f) {
            Ok(Report::Pid(p)) => pid = Some(p),
            Ok(Report::Failed(e)) if failure.is_none() => failure = Some(e),
            Ok(Report::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    (pid, failure)
}

fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("tmp-containerv");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write pid file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write pid file", path, e))
}

/// Report `e` and leave the child. System calls only.
fn fail(fd: RawFd, e: ChildError) -> ! {
    report::send_failed(fd, e);
    // SAFETY: leaving a forked child without running Rust destructors.
    unsafe { libc::_exit(SETUP_FAILED) }
}

/// The intermediate: join the cgroup and namespaces, clone the real
/// process, report its pid, exit. System calls only.
///
/// # Safety
/// Only in the freshly forked intermediate child.
unsafe fn intermediate(plan: &ChildPlan<'_>, placed: bool) -> ! {
    // Non-dumpable before entering the container (inherited by the
    // grandchild until its execve): no /proc/<pid>/exe for the container
    // to reopen (CVE-2019-5736).
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    for (fd, unless_placed) in plan.cgroup_procs {
        if *unless_placed && placed {
            continue;
        }
        // SAFETY: write "0" (this single-threaded process) to an open v1
        // `tasks` or `cgroup.procs` file.
        if unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) } < 0 {
            fail(plan.report, Step::JoinCgroup.failed(errno()));
        }
    }
    for (flag, fd) in plan.namespaces {
        // SAFETY: setns with an open namespace file; we are single-threaded.
        if unsafe { libc::setns(fd.as_raw_fd(), *flag) } < 0 {
            fail(plan.report, Step::Setns.failed(errno()));
        }
    }
    // SAFETY: fork-like clone whose child becomes the caller's child
    // (CLONE_PARENT) inside the pid namespace joined above; it runs only
    // `grandchild`, which never returns.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid == 0 {
        // SAFETY: we are the freshly cloned grandchild.
        unsafe { grandchild(plan) }
    }
    if pid < 0 {
        fail(plan.report, Step::Clone.failed(errno()));
    }
    report::send_pid(plan.report, pid as i32);
    // SAFETY: leaving the forked intermediate.
    unsafe { libc::_exit(0) }
}

/// The process itself: stdio (or the terminal), descriptors, then the
/// prepared exec. System calls only.
///
/// # Safety
/// Only in the freshly cloned grandchild.
unsafe fn grandchild(plan: &ChildPlan<'_>) -> ! {
    if let Some(t) = &plan.tty {
        if let Err(e) = t.setup_in_child() {
            fail(plan.report, e);
        }
    } else {
        // A session of its own without a terminal (see init/child.rs).
        // SAFETY: setsid in this cloned child, which is no group leader.
        if unsafe { libc::setsid() } < 0 {
            fail(plan.report, Step::Setsid.failed(errno()));
        }
        if let Err(e) = stdio::install_in_child(&plan.stdio) {
            fail(plan.report, Step::DupStdio.failed(e));
        }
    }
    // Descriptors 3..3+preserve_fds stay open; every other one closes on exec.
    for fd in 3..3 + plan.preserve_fds as RawFd {
        // SAFETY: clearing CLOEXEC on a descriptor the caller asked to pass.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    // SAFETY: close_range with CLOEXEC only marks descriptors.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 + plan.preserve_fds,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    // SAFETY: we are a forked child that exits if exec returns.
    let e = unsafe { plan.prepared.exec() };
    fail(plan.report, e)
}

#[cfg(test)]
mod tests {
    //! Exec into a stand-in container: a host process in new pid, uts, ipc
    //! and mount namespaces made with unshare(1). The real-container tests
    //! are in `tests/exec_*.rs`.

    use super::*;
    use crate::linux::cgroups::{CgroupState, CgroupStats};
    use crate::process::{ExitStatus, Stdio};
    use oci_spec::runtime::LinuxResources;
    use std::io::Read;
    use std::sync::Mutex;

    /// Tests with a stand-in container run one at a time (leftover checks
    /// look at our children).
    static SERIAL: Mutex<()> = Mutex::new(());

    #[derive(Debug)]
    struct NoCgroup;
    impl CgroupManager for NoCgroup {
        fn state(&self) -> CgroupState {
            CgroupState::default()
        }
        fn apply(&self, _: &LinuxResources) -> Result<()> {
            Ok(())
        }
        fn procs_fds(&self) -> Result<Vec<OwnedFd>> {
            Ok(Vec::new())
        }
        fn add_pid(&self, _: i32) -> Result<()> {
            Ok(())
        }
        fn pids(&self) -> Result<Vec<i32>> {
            Ok(Vec::new())
        }
        fn freeze(&self) -> Result<()> {
            Ok(())
        }
        fn thaw(&self) -> Result<()> {
            Ok(())
        }
        fn is_frozen(&self) -> Result<bool> {
            Ok(false)
        }
        fn stats(&self) -> Result<CgroupStats> {
            Ok(CgroupStats::default())
        }
        fn kill_all(&self) -> Result<()> {
            Ok(())
        }
        fn remove(&self) -> Result<()> {
            Ok(())
        }
    }

    struct Fake {
        unshare: std::process::Child,
        init: i32,
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            // SAFETY: kill(2) of the stand-in's init, which we started.
            unsafe { libc::kill(self.init, libc::SIGKILL) };
            let _ = self.unshare.kill();
            let _ = self.unshare.wait();
        }
    }

    // The child is waited for by Fake's Drop (or below before the panic).
    #[allow(clippy::zombie_processes)]
    fn fake() -> Fake {
        let unshare = std::process::Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--uts",
                "--ipc",
                "--mount",
                "--mount-proc",
            ])
            .args(["--", "sh", "-c", "hostname fakebox && exec sleep 60"])
            .spawn()
            .expect("unshare(1) from util-linux");
        let me = unshare.id();
        for _ in 0..400 {
            let children = std::fs::read_to_string(format!("/proc/{me}/task/{me}/children"))
                .unwrap_or_default();
            if let Some(init) = children.split_whitespace().next() {
                let init: i32 = init.parse().unwrap();
                let comm =
                    std::fs::read_to_string(format!("/proc/{init}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" {
                    return Fake { unshare, init };
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut unshare = unshare;
        let _ = unshare.kill();
        let _ = unshare.wait();
        panic!("stand-in container did not start");
    }

    /// Our children and the init's children that live in a nested pid
    /// namespace, the init excepted (processes left in the stand-in).
    fn leftovers(init: i32) -> Vec<i32> {
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            let ppid: i32 = field("PPid:")
                .first()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if pid != init && (ppid == me || ppid == init) && field("NSpid:").len() >= 2 {
                out.push(pid);
            }
        }
        out
    }

    fn oci(args: &[&str]) -> OciProcess {
        let (p, _, _) =
            process_from_options(ProcessOptions::new(args.iter().copied()), None).unwrap();
        p
    }

    fn piped() -> ProcessIo {
        ProcessIo {
            stdout: Stdio::Pipe,
            stderr: Stdio::Pipe,
            ..Default::default()
        }
    }

    fn output(p: &mut Process) -> String {
        let mut s = String::new();
        p.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn runs_inside_the_namespaces() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let f = fake();
        let script = "hostname; echo $$; ls /proc | grep -c '^[0-9]'";
        let mut p = exec(f.init, &NoCgroup, &oci(&["sh", "-c", script]), piped()).unwrap();
        let out = output(&mut p);
        assert_eq!(p.wait().unwrap(), ExitStatus::Exited(0));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "fakebox", "{out}");
        let pid_inside: i32 = lines[1].parse().unwrap();
        assert!(pid_inside > 1 && pid_inside < 100, "{out}");
        // init, sh, ls, grep at most.
        assert!(lines[2].parse::<i32>().unwrap() <= 4, "{out}");
        assert!(leftovers(f.init).is_empty());
    }

    #[test]
    fn exit_codes_and_signals() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let f = fake();
        let run = |args: &[&str]| {
            let mut p = exec(f.init, &NoCgroup, &oci(args), ProcessIo::default()).unwrap();
            p.wait().unwrap()
        };
        assert_eq!(run(&["sh", "-c", "exit 3"]), ExitStatus::Exited(3));
        assert_eq!(run(&["sh", "-c", "kill -9 $$"]), ExitStatus::Signaled(9));
        let mut p = exec(
            f.init,
            &NoCgroup,
            &oci(&["sleep", "30"]),
            ProcessIo::default(),
        )
        .unwrap();
        p.kill(libc::SIGTERM).unwrap();
        assert_eq!(p.wait().unwrap(), ExitStatus::Signaled(libc::SIGTERM));
        assert!(
            p.kill(libc::SIGTERM).is_err(),
            "a reaped process is not signalled"
        );
        assert!(leftovers(f.init).is_empty());
    }

    #[test]
    fn missing_binary_and_bad_cwd_leave_nothing() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let f = fake();
        let e = exec(f.init, &NoCgroup, &oci(&["/bin/nosuch"]), piped()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("exec \"/bin/nosuch\"") && msg.contains("No such file"),
            "{msg}"
        );
        let mut p = oci(&["true"]);
        p.set_cwd("/nonexistent-cwd".into());
        let msg = exec(f.init, &NoCgroup, &p, piped())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("chdir \"/nonexistent-cwd\""), "{msg}");
        assert!(leftovers(f.init).is_empty(), "{:?}", leftovers(f.init));
    }

    #[test]
    fn no_init_is_an_error() {
        let e = exec(0, &NoCgroup, &oci(&["true"]), ProcessIo::default()).unwrap_err();
        assert!(e.to_string().contains("no running init"), "{e}");
    }
}
