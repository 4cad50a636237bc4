//! The Linux backend: namespaces, rootfs, init, cgroups, stats.
//!
//! This file holds the public surface ([`Runtime`], [`Container`]); the work
//! is in one module per concern: `create` (validation, state directory,
//! cgroup, plan, clone), `init` (the child: plan executor, built-in
//! reaper), `rootfs` (mounts, devices, pivot_root, masked paths),
//! `namespaces`, `state` (state.json, lock, pid + start time) and
//! `lifecycle` (status, start, signals, destroy).

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::config::CreateConfig;
use crate::error::{Error, Result};
use crate::options::ContainerOptions;
use crate::process::ProcessOptions;

pub mod cgroups;
pub mod console;
mod create;
mod exec;
pub mod exeseal;
mod fork;
mod fs_copy;
mod hooks;
mod init;
mod lifecycle;
pub mod loopdev;
mod monitor;
mod namespaces;
pub mod net;
pub mod netstat;
mod proc_setup;
mod process;
pub mod quota;
pub mod relay;
mod report;
pub(crate) mod ringmap;
pub(crate) mod ringmap_guard;
mod rootfs;
pub mod seccomp;
pub mod signal;
mod state;
mod stdio;
mod step;
mod tty;
mod user;

pub use hooks::{run_hooks, HookKind};
/// Every capability name (`CAP_CHOWN` ...), by number.
pub use proc_setup::CAPABILITIES;

/// [`Container::upload`] into a container root that is not running (a
/// root the caller mounted): same checks, paths resolved inside `root`.
pub fn upload_into_root(root: &Path, host_src: &Path, dest: &Path) -> Result<()> {
    fs_copy::upload(root, host_src, dest)
}

/// Whether `path` inside `root` (resolved in it) is a directory.
pub fn is_dir_in_root(root: &Path, path: &Path) -> Result<bool> {
    let r = fs_copy::open_root(root)?;
    Ok(fs_copy::open_in_root(
        &r,
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
        0,
    )
    .is_ok())
}

/// [`Container::download`] out of a container root the caller mounted.
pub fn download_from_root(root: &Path, src: &Path, host_dest: &Path) -> Result<()> {
    fs_copy::download(root, src, host_dest)
}
pub use monitor::Samples;
pub use process::{Process, ProcessIo};
pub use tty::receive_pty_master;

/// The session keyring a container's processes join (runc's name).
pub(crate) fn session_keyring_name(id: &str) -> String {
    format!("_ses.{id}")
}

/// Default runtime root, where each container's state directory lives.
pub const DEFAULT_ROOT: &str = "/run/containerv";

/// A container's lifecycle status (the OCI states, plus paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// What `list` and `state` report about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    /// Host pid of the init; 0 once stopped.
    pub pid: i32,
    pub status: Status,
    pub bundle: Option<PathBuf>,
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    pub annotations: std::collections::HashMap<String, String>,
}

/// A directory of containers (default [`DEFAULT_ROOT`]).
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
}

impl Runtime {
    /// Use `root` as the runtime root, creating it (mode 0700) if missing.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::io("create runtime root", &root, e))?;
        Ok(Runtime { root })
    }

    /// The runtime root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Create container `id` from the builder's options.
    pub fn create(&self, id: &str, options: &ContainerOptions) -> Result<Container> {
        let (spec, config) = options.build(id)?;
        self.create_from_spec(id, spec, config)
    }

    /// Create container `id` from an OCI spec: the one path every caller takes.
    ///
    /// Returns once the container is set up: with `StartMode::Immediately`
    /// its program runs (or the built-in init reaps), with
    /// `StartMode::OnStart` it waits for [`Container::start`]. On any error
    /// nothing is left behind. The state lives in `<root>/<id>/`; an
    /// overlay upper kept (`keep_upper`) without an `upper_dir` is moved to
    /// `<root>/<id>.upper` on destroy.
    pub fn create_from_spec(
        &self,
        id: &str,
        spec: Spec,
        config: CreateConfig,
    ) -> Result<Container> {
        create::create(&self.root, id, spec, config)
    }

    /// Open an existing container by id (created by any process).
    pub fn open(&self, id: &str) -> Result<Container> {
        crate::id::validate_id(id)?;
        let dir = self.root.join(id);
        let st = state::State::read(&dir, id)?;
        let cgroup = cgroups::open(&st.cgroup)?;
        Ok(Container::new(dir, st, cgroup, [None, None, None]))
    }

    /// Every container under this root.
    pub fn list(&self) -> Result<Vec<ContainerState>> {
        let rd = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io("list runtime root", &self.root, e))?;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if crate::id::validate_id(&name).is_err() || !e.path().join(state::STATE_FILE).exists()
            {
                continue;
            }
            match self.open(&name) {
                Ok(c) => out.push(c.current_state()),
                // Destroyed meanwhile.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// A container: its init, its namespaces, its cgroup, its state directory.
#[derive(Debug)]
pub struct Container {
    pub(crate) id: String,
    /// The container's cgroup (see `cgroups`).
    pub(crate) cgroup: Box<dyn cgroups::CgroupManager>,
    /// Previous samples for CPU percent, per container (see `monitor`).
    pub(crate) samples: std::sync::Mutex<monitor::Samples>,
    /// The state directory `<root>/<id>`.
    pub(crate) dir: PathBuf,
    /// What state.json says.
    pub(crate) state: state::State,
    /// The caller's ends of the init's stdio pipes (`Stdio::Pipe`).
    stdio: [Option<std::fs::File>; 3],
}

impl Container {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn new(
        dir: PathBuf,
        state: state::State,
        cgroup: Box<dyn cgroups::CgroupManager>,
        stdio: [Option<std::fs::File>; 3],
    ) -> Self {
        Container {
            id: state.id.clone(),
            cgroup,
            samples: Default::default(),
            dir,
            state,
            stdio,
        }
    }

    /// Host pid of the container's init (recorded at create; see
    /// [`Container::state`] for whether it still runs).
    pub fn pid(&self) -> i32 {
        self.state.pid
    }

    /// The OCI spec the container was created from (the OCI CLI's `exec`
    /// starts from its process, `events` reads its limits).
    pub fn spec(&self) -> &Spec {
        &self.state.spec
    }

    /// `/proc/<init>/ns/<name>` (name: mnt, pid, net, ipc, uts, user, cgroup).
    #[allow(dead_code)]
    pub(crate) fn ns_path(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/{name}", self.state.pid))
    }

    /// The container's cgroup manager.
    #[allow(dead_code)]
    pub(crate) fn cgroup(&self) -> &dyn cgroups::CgroupManager {
        self.cgroup.as_ref()
    }

    /// Take the caller's ends of the init's stdio pipes (`Stdio::Pipe` in
    /// `CreateConfig`): `[stdin, stdout, stderr]`, each once.
    pub fn take_stdio(&mut self) -> [Option<std::fs::File>; 3] {
        std::mem::take(&mut self.stdio)
    }

    /// Wait for the init to exit and return its status (only in the
    /// process that created the container).
    pub fn wait(&self) -> Result<crate::process::ExitStatus> {
        self.wait_init()
    }

    /// The container's root as the host reaches it: `/proc/<init>/root`.
    fn root_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.pid()))
    }

    /// Current state, re-read (the init may have died since).
    pub fn state(&self) -> Result<ContainerState> {
        Ok(self.current_state())
    }

    /// Start the init's program (containers created with `StartMode::OnStart`).
    pub fn start(&self) -> Result<()> {
        self.start_init()
    }

    /// Run a process in the container (joins all its namespaces and its cgroup).
    /// Defaults (env, user, capabilities, rlimits) come from the
    /// container's own process. With `options.wait` it returns exited.
    pub fn spawn(&self, options: ProcessOptions) -> Result<Process> {
        let base = self.spec().process().as_ref();
        let (process, io, wait) = exec::process_from_options(options, base)?;
        let mut p = self.exec(&process, io)?;
        if wait {
            p.wait()?;
        }
        Ok(p)
    }

    /// Run an OCI process (runc exec) in the container.
    pub fn exec(&self, process: &oci_spec::runtime::Process, io: ProcessIo) -> Result<Process> {
        // The container's linux.seccomp applies to exec'd processes too (runc).
        let seccomp = seccomp::Context {
            spec: self.spec(),
            id: &self.id,
            bundle: self.state.bundle.as_deref(),
            status: oci_spec::runtime::ContainerState::Running,
        };
        // The container's session keyring, as runc's exec (unless the
        // container was made with `no_new_keyring`).
        let keyring = (!self.state.no_new_keyring).then(|| session_keyring_name(&self.id));
        exec::exec_with(
            self.pid(),
            self.cgroup.as_ref(),
            process,
            io,
            Some(seccomp),
            keyring.as_deref(),
        )
    }

    /// Send `signal` to one process of the container (host pid).
    pub fn kill(&self, pid: i32, signal: i32) -> Result<()> {
        self.kill_pid(pid, signal)
    }

    /// Send `signal` to the init, or with `all` to every process.
    pub fn signal(&self, signal: i32, all: bool) -> Result<()> {
        self.signal_init(signal, all)
    }

    /// Move the calling process into the container (its cgroup and
    /// namespaces; the pid namespace applies to the caller's children).
    /// The caller must be single-threaded, e.g. a child just forked.
    pub fn join(&self) -> Result<()> {
        exec::join_caller(self.pid(), self.cgroup.as_ref())
    }

    /// Copy a host file or directory into the container at `dest`.
    pub fn upload(&self, host_src: &Path, dest: &Path) -> Result<()> {
        fs_copy::upload(&self.root_path(), host_src, dest)
    }

    /// Copy a file or directory out of the container to `host_dest`.
    pub fn download(&self, src: &Path, host_dest: &Path) -> Result<()> {
        fs_copy::download(&self.root_path(), src, host_dest)
    }

    /// Kill every process, unmount, remove the cgroup and the state.
    /// Adds a veth pair into the running container's network namespace
    /// (e.g. `network connect`); on failure nothing is left.
    pub fn add_veth(&self, veth: &crate::network::Veth) -> Result<()> {
        veth.validate()?;
        net::veth::setup(veth, self.pid()).map(drop)
    }

    /// Deletes the host end `host_ifname` of a pair (and so the pair).
    pub fn remove_veth(&self, host_ifname: &str) -> Result<()> {
        let nl = net::Netlink::open().map_err(|e| Error::sys("open a netlink socket", e))?;
        nl.del_link_named(host_ifname)
            .map(drop)
            .map_err(|e| Error::sys(format!("delete {host_ifname}"), e))
    }

    pub fn destroy(self) -> Result<()> {
        self.destroy_all()
    }
}
