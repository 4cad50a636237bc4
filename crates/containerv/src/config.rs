//! What `create` needs beyond the OCI spec: how the rootfs is layered, which
//! init runs, when it starts, and where its stdio goes.
//!
//! The spec says what the container is; this says how this runtime makes it.
//! Both the builder ([`crate::ContainerOptions`]) and the OCI CLI fill one in.

use std::path::PathBuf;

use crate::process::Stdio;

/// Which process is the container's init (pid 1 of its pid namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitKind {
    /// A small built-in reaper (tini-like): reaps zombies, forwards
    /// SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH and SIGCONT to every
    /// process of the container; on SIGTERM or SIGINT forwards it too and
    /// exits (ending the container) once the others are gone. The spec's
    /// `process.args` are ignored.
    #[default]
    BuiltinReaper,
    /// The spec's `process`, as an OCI runtime runs it.
    SpecProcess,
}

/// When the init's program begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMode {
    /// As soon as the container is set up (`create` returns it running).
    #[default]
    Immediately,
    /// Set up, then wait until [`crate::Container::start`] (OCI create/start).
    OnStart,
}

/// The writable layer of an overlay rootfs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverlayConfig {
    /// Read-only layers above the spec's `root.path`, topmost first
    /// (image layers). The spec's `root.path` is always the lowest layer.
    pub lower: Vec<PathBuf>,
    /// Directory for the upper (and, beside it, the work) directory. `None`:
    /// one inside the container's state directory.
    pub upper_dir: Option<PathBuf>,
    /// Keep the upper directory when the container is destroyed.
    pub keep_upper: bool,
}

/// Who makes a container's cgroup (Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CgroupDriver {
    /// containerv writes the cgroup tree itself.
    #[default]
    Cgroupfs,
    /// systemd makes a transient scope for it over D-Bus (runc's and the
    /// OCI CLI's `--systemd-cgroup`); `cgroupsPath` is `slice:prefix:name`.
    Systemd,
}

/// Everything `create` takes besides the spec.
#[derive(Debug, Default)]
pub struct CreateConfig {
    pub init: InitKind,
    pub start: StartMode,
    /// `Some`: the rootfs is an overlay of the spec's root and these layers,
    /// with a per-container writable upper, mounted only inside the
    /// container's mount namespace.
    pub overlay: Option<OverlayConfig>,
    /// The OCI bundle directory, recorded in the state (OCI `state.bundle`).
    pub bundle: Option<PathBuf>,
    /// Stdio of the init process (when it is the spec's process).
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    /// OCI `--console-socket`: with `process.terminal`, the pty master is
    /// sent over this unix socket.
    pub console_socket: Option<PathBuf>,
    /// Write the init's host pid here once it exists.
    pub pid_file: Option<PathBuf>,
    /// Pass this many descriptors after stdio (3, 4, ...) to the init.
    pub preserve_fds: u32,
    /// Use chroot-like `MS_MOVE` of the rootfs instead of pivot_root
    /// (runc `--no-pivot`, for rootfs on ramfs).
    pub no_pivot: bool,
    /// A veth pair into the container's new network namespace, configured
    /// before the program runs (Linux).
    pub network: Option<crate::network::Veth>,
    /// Keep the caller's session keyring (runc's `--no-new-keyring`);
    /// by default the container's processes join a new one of their own
    /// (Linux).
    pub no_new_keyring: bool,
    /// Generate `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` (the
    /// host's) in the state directory and bind them in, for those the
    /// spec does not mount itself and that no bind mount of the spec
    /// covers (nothing is created in a host directory). The builder
    /// ([`crate::ContainerOptions`]) asks for them; an OCI runtime must
    /// not add mounts its spec did not ask for, so the default is off
    /// (Linux).
    pub etc_files: bool,
    /// Who makes the cgroup (Linux; the engine keeps the default).
    pub cgroup_driver: CgroupDriver,
    /// A mount namespace (another container's `/proc/PID/ns/mnt`) whose
    /// `/dev/shm` is bound over this container's: with its IPC namespace
    /// joined, POSIX shared memory is shared too, as docker's `--ipc
    /// container:NAME` shares it (Linux).
    pub shm_from: Option<PathBuf>,
}
