//! The init's set-up as data: built in the parent, where allocating and
//! failing with a good message are allowed, and executed step by step by the
//! child (`child.rs`), which only makes system calls.
//!
//! Every step carries a human description ("mount proc on /proc"); the
//! child reports a failure by the step's index and the parent turns it into
//! `Error::Setup { step: description, .. }`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::config::InitKind;
use crate::linux::proc_setup::PreparedProcess;

/// What kind of object a mount target is, created if missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Dir,
    File,
}

/// One system-call-level action of the child.
#[derive(Debug)]
pub(crate) enum Op {
    /// Wait for the parent to write uid_map/gid_map (one byte on this pipe).
    WaitForMaps {
        fd: OwnedFd,
    },
    /// Join an existing namespace (`setns`).
    SetNs {
        fd: OwnedFd,
        nstype: i32,
    },
    /// Tell the parent to run the create-time hooks (a report record) and
    /// wait for one byte on `fd` (EOF: the parent gave up).
    SyncHooks {
        fd: OwnedFd,
    },
    /// Join the container's cgroup: `write(fd, "0")` on a v1 `tasks` or a
    /// `cgroup.procs` file (see `cgroups::join`). `unless_placed`: the
    /// cgroup2 fallback, skipped when clone3 started the child there.
    JoinCgroup {
        fd: OwnedFd,
        unless_placed: bool,
    },
    /// chroot into `path` (no mount namespace of its own: no pivot_root).
    Chroot {
        path: CString,
    },
    /// Tell the parent (one byte on `notify`) that the init is in its
    /// cgroup, then wait for one byte on `fd` (the parent let go of the
    /// systemd scope's placeholder meanwhile: see `init::Settle`).
    WaitForParent {
        notify: OwnedFd,
        fd: OwnedFd,
    },
    /// `unshare(CLONE_NEWCGROUP)`, so the container's cgroup is its root.
    UnshareCgroupNs,
    /// Bring `lo` up in the init's new network namespace.
    LoopbackUp,
    /// New user namespace: receive, over `sock`, descriptors of host paths
    /// the mapped root may not reach by name (the runtime's 0700 `--root`,
    /// a 0700 bundle), opened in this init's mount namespace by a helper
    /// with the runtime's credentials (`hostfds.rs`), and put each on its
    /// `targets` number (placeholders until then). Later steps reach them
    /// as `/proc/self/fd/N[/name]`.
    ReceiveHostFds {
        sock: OwnedFd,
        targets: Vec<OwnedFd>,
    },
    /// Close those descriptors once the root is entered, so nothing in the
    /// container ever holds a host path.
    Release {
        fds: Vec<i32>,
    },
    /// `mount(NULL, "/", NULL, flags)`: the propagation of the whole tree.
    Propagation {
        flags: libc::c_ulong,
    },
    /// Mount onto a host path (the rootfs onto its mount point).
    MountAt {
        source: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
    },
    /// Open the container root (the rootfs mount point) as the directory
    /// every later relative target is resolved in.
    OpenRoot {
        path: CString,
    },
    /// A mount at `target` inside the root (relative, resolved in the root,
    /// created as `kind` if missing). Bind mounts with extra flags are
    /// remounted with `remount`; `propagation` applied last when non-zero.
    Mount {
        source: Option<CString>,
        target: CString,
        kind: TargetKind,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
        remount: Option<libc::c_ulong>,
        propagation: libc::c_ulong,
    },
    /// `mount(NULL, target, NULL, flags)` on an existing target in the root
    /// (e.g. make a cgroup tmpfs read-only after filling it).
    Remount {
        target: CString,
        flags: libc::c_ulong,
    },
    /// Bind `source` of another mount namespace (`ns`, e.g. another
    /// container's) onto `target` (relative, a directory made if
    /// missing): join `ns`, clone `source` there as a detached mount
    /// (`open_tree`; a bind across mount namespaces is refused with
    /// EINVAL), return to our own namespace, attach it (`move_mount`).
    /// Before entering the root (setns resets root and cwd).
    BindFromNs {
        ns: OwnedFd,
        source: CString,
        target: CString,
    },
    /// Make the directory `target` (relative, resolved in the root) and
    /// its missing parents: the process's cwd, as runc does.
    MakeDir {
        target: CString,
    },
    /// A device node at `target` (relative); parents created.
    Mknod {
        target: CString,
        mode: libc::mode_t,
        dev: libc::dev_t,
        uid: u32,
        gid: u32,
    },
    /// A symlink at `link` (relative) pointing to `to`.
    Symlink {
        link: CString,
        to: CString,
    },
    /// Enter the root with pivot_root; the old root is detached.
    PivotRoot {
        path: CString,
    },
    /// Enter the root with MS_MOVE + chroot (`no_pivot`).
    MoveRoot {
        path: CString,
    },
    /// Mask `path` (absolute, after entering the root): /dev/null over a
    /// file, an empty read-only tmpfs over a directory; absent: skipped.
    Mask {
        path: CString,
    },
    /// Make `path` (absolute, after entering the root) read-only; absent: skipped.
    ReadOnly {
        path: CString,
    },
    /// Remount the container root read-only.
    RootReadOnly,
    Sethostname {
        name: CString,
    },
    Setdomainname {
        name: CString,
    },
    /// Write `data` into an existing file (absolute path), e.g. a sysctl.
    WriteFile {
        path: CString,
        data: Vec<u8>,
    },
}

/// A step and what it is, for error messages.
#[derive(Debug)]
pub(crate) struct Step {
    pub desc: String,
    pub op: Op,
}

/// Everything the child needs, prepared.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub steps: Vec<Step>,
    /// Write end of the report pipe (CLOEXEC).
    pub report: OwnedFd,
    /// Stdio of the program (`None`: inherit the caller's).
    pub stdio: [Option<OwnedFd>; 3],
    /// `O_PATH` fd of the exec fifo (`StartMode::OnStart`).
    pub fifo: Option<OwnedFd>,
    pub init: InitKind,
    pub process: Option<&'a PreparedProcess>,
    /// True when the init is pid 1 of a new pid namespace (signal
    /// forwarding to "every process" is only safe then).
    pub new_pidns: bool,
    pub preserve_fds: u32,
    /// `process.terminal`: a pty from the container's devpts becomes the
    /// init's controlling terminal and stdio; its master goes to the
    /// console socket.
    pub tty: Option<crate::linux::tty::ChildTty>,
    /// Every fd the child keeps at its start (sorted); filled by [`Plan::seal`].
    pub keep: Vec<i32>,
    /// A cgroup2 directory the init is cloned into (`CLONE_INTO_CGROUP`);
    /// not kept by the child.
    pub into_cgroup: Option<OwnedFd>,
}

impl Plan<'_> {
    /// Compute the fd keep-list once every fd is in place.
    pub(crate) fn seal(&mut self) {
        let mut keep: Vec<i32> = vec![0, 1, 2];
        keep.extend((0..self.preserve_fds as i32).map(|i| 3 + i));
        keep.push(self.report.as_raw_fd());
        keep.extend(self.stdio.iter().flatten().map(|f| f.as_raw_fd()));
        keep.extend(self.fifo.iter().map(|f| f.as_raw_fd()));
        keep.extend(self.tty.iter().map(|t| t.socket()));
        // The seccomp agent socket (SCMP_ACT_NOTIFY), used right before exec.
        keep.extend(self.process.and_then(|p| p.seccomp_fd()));
        for s in &self.steps {
            match &s.op {
                Op::WaitForParent { notify, fd } => {
                    keep.push(notify.as_raw_fd());
                    keep.push(fd.as_raw_fd());
                }
                Op::WaitForMaps { fd }
                | Op::SetNs { fd, .. }
                | Op::JoinCgroup { fd, .. }
                | Op::SyncHooks { fd }
                | Op::BindFromNs { ns: fd, .. } => keep.push(fd.as_raw_fd()),
                Op::ReceiveHostFds { sock, targets } => {
                    keep.push(sock.as_raw_fd());
                    keep.extend(targets.iter().map(|f| f.as_raw_fd()));
                }
                _ => {}
            }
        }
        keep.sort_unstable();
        keep.dedup();
        self.keep = keep;
    }
}
