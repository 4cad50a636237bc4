//! `Runtime::create_from_spec`: validate, make the state directory, the
//! cgroup and the rootfs plan, clone the init, record the state.
//!
//! Every error path undoes what was done (the [`Undo`] guard): a container
//! that failed to be created leaves no process, cgroup, directory or state.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::cgroups::{self, CgroupManager};
use super::hooks::{self, HookKind};
use super::init::plan::{Op, Plan, Step};
use super::init::{self, UserMaps};
use super::namespaces;
use super::net::veth::{self, VethState};
use super::proc_setup::PreparedProcess;
use super::rootfs::{self, OverlayDirs, RootfsInput};
use super::state::{self, Lock, OverlayState, State};
use super::stdio::StdioSet;
use super::tty;
use super::Container;
use crate::config::{CreateConfig, InitKind, StartMode};
use crate::error::{Error, Result};
use crate::process::Stdio;

/// What create has made so far, undone on drop unless disarmed.
struct Undo {
    dir: PathBuf,
    cgroup: Option<Box<dyn CgroupManager>>,
    pid: Option<i32>,
    /// The veth pair made for the container.
    veth: Option<VethState>,
    /// Overlay directories this create made (removed on failure).
    made: Vec<PathBuf>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            init::kill_and_reap(pid);
        }
        if let Some(v) = &self.veth {
            veth::remove(v);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.kill_all();
            let _ = cg.remove();
        }
        // Never through a mount left by a container without a mount
        // namespace of its own (see rootfs::detach).
        if super::rootfs::detach(&self.dir).is_err() {
            return;
        }
        for d in self.made.iter().rev() {
            let _ = std::fs::remove_dir_all(d);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn create(root: &Path, id: &str, spec: Spec, config: CreateConfig) -> Result<Container> {
    crate::id::validate_id(id)?;
    let rootfs = rootfs_path(&spec, config.bundle.as_deref())?;
    let ns = namespaces::plan(&spec)?;
    validate(&spec, &config)?;
    hooks::validate(&spec)?;
    let create_hooks: Vec<(HookKind, Vec<oci_spec::runtime::Hook>)> = [
        HookKind::Prestart,
        HookKind::CreateRuntime,
        HookKind::CreateContainer,
    ]
    .into_iter()
    .map(|k| (k, hooks::of_kind(&spec, k)))
    .filter(|(_, h)| !h.is_empty())
    .collect();
    let start_hooks = !hooks::of_kind(&spec, HookKind::StartContainer).is_empty();
    // Device access: deny all but the standard devices, the spec's rules
    // and its linux.devices (cgroups::devices).
    let mut resources = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    resources.set_devices(Some(cgroups::devices::container_rules(
        resources.devices().as_deref().unwrap_or_default(),
        spec.linux()
            .as_ref()
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default(),
    )?));

    let dir = root.join(id);
    match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists(id.to_string()))
        }
        Err(e) => return Err(Error::io("create state directory", &dir, e)),
    }
    let mut undo = Undo {
        dir: dir.clone(),
        cgroup: None,
        pid: None,
        veth: None,
        made: Vec::new(),
        armed: true,
    };
    let lock = Lock::acquire(&dir)?;

    let linux = spec.linux().as_ref();
    let cgroup = cgroups::create_with(
        id,
        linux.and_then(|l| l.cgroups_path().as_deref()),
        Some(&resources),
        config.cgroup_driver,
        spec.annotations().as_ref(),
    )?;
    let cgroup_join = cgroup.child_join()?;
    let cgroup_state = cgroup.state();
    undo.cgroup = Some(cgroup);

    let (overlay_dirs, overlay_state) = match &config.overlay {
        None => (None, None),
        Some(o) => {
            let (upper, work, keep_at) = match &o.upper_dir {
                Some(u) => (
                    u.clone(),
                    PathBuf::from(format!("{}.work", u.display())),
                    None,
                ),
                None => (
                    dir.join("upper"),
                    dir.join("work"),
                    o.keep_upper.then(|| root.join(format!("{id}.upper"))),
                ),
            };
            if !upper.exists() {
                mkdir_all(&upper, &mut undo.made)?;
            }
            let _ = std::fs::remove_dir_all(&work);
            mkdir_all(&work, &mut undo.made)?;
            let mut lower = o.lower.clone();
            lower.push(rootfs.clone());
            for p in lower.iter().chain([&upper, &work]) {
                let s = p.to_string_lossy();
                if s.contains([',', ':']) {
                    return Err(Error::option(
                        "overlay layer",
                        s.into_owned(),
                        "overlayfs cannot use a path containing ',' or ':'",
                    ));
                }
            }
            (
                Some(OverlayDirs {
                    lower,
                    upper: upper.clone(),
                    work: work.clone(),
                }),
                Some(OverlayState {
                    upper,
                    work,
                    keep_upper: o.keep_upper,
                    keep_at,
                }),
            )
        }
    };

    let mountpoint = dir.join("rootfs");
    std::fs::create_dir(&mountpoint).map_err(|e| Error::io("create", &mountpoint, e))?;
    let own_addr = config.network.as_ref().map(|v| v.container_addr);
    let etc_files = if config.etc_files {
        write_etc_files(&dir, id, &spec, own_addr)?
    } else {
        Vec::new()
    };

    // startContainer hooks run in `start`, so an immediate start goes
    // through the fifo too.
    let fifo = match (config.start, start_hooks) {
        (StartMode::Immediately, false) => None,
        _ => Some(make_fifo(&dir)?),
    };

    let prepared = match config.init {
        InitKind::BuiltinReaper => None,
        InitKind::SpecProcess => {
            let process = spec
                .process()
                .as_ref()
                .ok_or_else(|| Error::InvalidSpec("no process to run".into()))?;
            // Not mounted yet: names resolve in the layers that will be.
            let layers: Vec<&Path> = match &overlay_dirs {
                Some(o) => std::iter::once(o.upper.as_path())
                    .chain(o.lower.iter().map(PathBuf::as_path))
                    .collect(),
                None => vec![rootfs.as_path()],
            };
            let mut p = PreparedProcess::prepare_in(process, &layers)?;
            p.set_personality(linux.and_then(|l| l.personality().as_ref()))?;
            // linux.seccomp: compiled now, so a bad profile fails before the clone.
            p.set_seccomp(super::seccomp::Context {
                spec: &spec,
                id,
                bundle: config.bundle.as_deref(),
                status: oci_spec::runtime::ContainerState::Creating,
            })?;
            let keyring = (!config.no_new_keyring).then(|| super::session_keyring_name(id));
            p.set_session_keyring(keyring.as_deref())?;
            Some(p)
        }
    };
    // process.terminal: the pty master goes to the console socket (a host
    // path, connected here); the init's stdio is the pty slave.
    let tty = match &prepared {
        Some(p) if p.terminal => {
            let socket = config.console_socket.as_deref().ok_or_else(|| {
                Error::InvalidSpec("process.terminal is set but no console socket was given".into())
            })?;
            let process = spec.process().as_ref().expect("prepared from it");
            Some(tty::connect(socket, process.console_size())?)
        }
        _ => None,
    };
    let stdio = match (config.init, &tty) {
        (_, Some(_)) => StdioSet::open([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit])?,
        (InitKind::BuiltinReaper, _) => StdioSet::open([Stdio::Null, Stdio::Null, Stdio::Null])?,
        (InitKind::SpecProcess, _) => StdioSet::open([config.stdin, config.stdout, config.stderr])?,
    };
    let StdioSet {
        child: child_stdio,
        parent: parent_stdio,
    } = stdio;

    let (report_rx, report_tx) = pipe()?;
    let cgroups::ChildJoin { write_zero, into } = cgroup_join;
    let (into_cgroup, into_procs) = match into {
        Some(i) => (Some(i.dir), Some(i.procs)),
        None => (None, None),
    };
    let mut steps: Vec<Step> = write_zero
        .into_iter()
        .map(|fd| (fd, false))
        .chain(into_procs.map(|fd| (fd, true)))
        .map(|(fd, unless_placed)| Step {
            desc: "join the container's cgroup".into(),
            op: Op::JoinCgroup { fd, unless_placed },
        })
        .collect();
    // The systemd driver's placeholder still sits in the new scope: the
    // init waits, once it joined, until the parent let go of it, so it
    // never counts against the container's pids.max.
    let mut settle_release = None;
    if !steps.is_empty() && undo.cgroup.as_ref().is_some_and(|c| c.holds_placeholder()) {
        let (joined, notify) = pipe()?;
        let (rx, tx) = pipe()?;
        steps.push(Step {
            desc: "wait for the runtime to let go of the scope's placeholder".into(),
            op: Op::WaitForParent { notify, fd: rx },
        });
        settle_release = Some((joined, tx));
    }
    let mut maps = None;
    if ns.new_user {
        let (rx, tx) = pipe()?;
        steps.push(Step {
            desc: "wait for the user namespace's id maps".into(),
            op: Op::WaitForMaps { fd: rx },
        });
        maps = Some(tx);
    }
    steps.extend(ns.join_steps()?);
    if ns.clone_flags & libc::CLONE_NEWNET != 0 {
        // runc brings lo up in every network namespace it creates
        // (not in a joined one); so do we.
        steps.push(Step {
            desc: "bring up the loopback interface".into(),
            op: Op::LoopbackUp,
        });
    }
    if ns.new_cgroup {
        steps.push(Step {
            desc: "create the cgroup namespace".into(),
            op: Op::UnshareCgroupNs,
        });
    }
    let root_ids = (
        map_root(linux.and_then(|l| l.uid_mappings().as_deref())),
        map_root(linux.and_then(|l| l.gid_mappings().as_deref())),
    );
    if ns.new_user {
        // The generated /etc files are the container's root's to edit (as
        // docker gives them to a remapped root).
        for (_, h) in &etc_files {
            std::os::unix::fs::chown(h, root_ids.0, root_ids.1)
                .map_err(|e| Error::io("give the container's root", h, e))?;
        }
    }
    // In a new user namespace the state directory, the rootfs and the /etc
    // files are reached through descriptors (rootfs::hold).
    let held = std::cell::RefCell::new(Vec::new());
    let (mountpoint, rootfs_src, etc_files) = if ns.new_user {
        let etc = etc_files
            .iter()
            .map(|(d, h)| {
                let name = h.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                Ok((d.clone(), rootfs::hold(&held, &dir, Some(name))?))
            })
            .collect::<Result<Vec<_>>>()?;
        let rootfs_src = match &overlay_dirs {
            Some(_) => rootfs.clone(), // a lower layer, held below
            None => rootfs::hold(&held, &rootfs, None)?,
        };
        (rootfs::hold(&held, &dir, Some("rootfs"))?, rootfs_src, etc)
    } else {
        (mountpoint, rootfs.clone(), etc_files)
    };
    // In a new user namespace the overlay's layers are idmapped mounts
    // (the image's root is the container's root), and its upper and work
    // directories belong to the container's root (what it writes is owned
    // by its mapped ids on the host).
    let overlay_plan = match (&overlay_dirs, ns.new_user) {
        (Some(o), true) => {
            for d in [&o.upper, &o.work] {
                std::os::unix::fs::chown(d, root_ids.0, root_ids.1)
                    .map_err(|e| Error::io("give the container's root", d, e))?;
            }
            Some(OverlayDirs {
                lower: o
                    .lower
                    .iter()
                    .map(|l| rootfs::hold_idmapped(&held, l))
                    .collect::<Result<Vec<_>>>()?,
                upper: rootfs::hold(&held, &o.upper, None)?,
                work: rootfs::hold(&held, &o.work, None)?,
            })
        }
        (o, _) => o.clone(),
    };
    let input = RootfsInput {
        spec: &spec,
        rootfs: &rootfs_src,
        bundle: config.bundle.as_deref(),
        mountpoint: &mountpoint,
        overlay: overlay_plan.as_ref(),
        userns: ns.new_user,
        cgroupns: ns.cgroup,
        cgroups: &cgroup_state.hierarchies,
        uts: ns.uts,
        no_pivot: config.no_pivot,
        shared_mount: ns.shared_mount,
        etc_files: &etc_files,
        held,
    };
    rootfs::steps(&input, &mut steps)?;
    if let Some(p) = &config.shm_from {
        let ns: OwnedFd = std::fs::File::open(p)
            .map_err(|e| Error::io("open the mount namespace to share /dev/shm of", p, e))?
            .into();
        let at = steps
            .iter()
            .position(|s| matches!(s.op, Op::PivotRoot { .. } | Op::MoveRoot { .. }))
            .unwrap_or(steps.len());
        steps.insert(
            at,
            Step {
                desc: format!("bind /dev/shm of the mount namespace {}", p.display()),
                op: Op::BindFromNs {
                    ns,
                    source: c"/dev/shm".to_owned(),
                    target: c"dev/shm".to_owned(),
                },
            },
        );
    }
    // The held host paths arrive right after the id maps (init/hostfds.rs).
    let held = input.held.into_inner();
    let host_paths = if held.is_empty() {
        None
    } else {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| Error::sys("socketpair for the host paths", e))?;
        let idmap: Vec<bool> = held.iter().map(|h| h.idmap).collect();
        let (paths, targets): (Vec<_>, Vec<_>) = held.into_iter().map(|h| (h.path, h.fd)).unzip();
        let at = steps
            .iter()
            .position(|s| matches!(s.op, Op::WaitForMaps { .. }))
            .map_or(0, |i| i + 1);
        steps.insert(
            at,
            Step {
                desc: format!(
                    "receive {} opened by the runtime (a user namespace may not reach them by name)",
                    paths
                        .iter()
                        .map(|p: &PathBuf| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                op: Op::ReceiveHostFds {
                    sock: theirs.into(),
                    targets,
                },
            },
        );
        Some(init::hostfds::HostPaths {
            sock: ours.into(),
            paths: paths
                .iter()
                .map(|p| rootfs::cstr(&p.to_string_lossy()))
                .collect::<Result<Vec<_>>>()?,
            idmap,
        })
    };

    // Create-time hooks: after the mounts, before entering the root.
    let mut hook_release = None;
    if let Some(v) = &config.network {
        if ns.clone_flags & libc::CLONE_NEWNET == 0 {
            return Err(Error::InvalidSpec(format!(
                "veth {}: the container has no new network namespace",
                v.host_ifname
            )));
        }
    }
    if !create_hooks.is_empty() || config.network.is_some() {
        let (rx, tx) = pipe()?;
        // Hooks run after the mounts, before entering the root. The veth
        // alone is made from the moment the init exists (see below): the
        // init waits for it only at the end of its plan, so the kernel's
        // veth work overlaps the init's mounts and pivot.
        let at = if create_hooks.is_empty() {
            steps.len()
        } else {
            steps
                .iter()
                .position(|s| matches!(s.op, Op::PivotRoot { .. } | Op::MoveRoot { .. }))
                .unwrap_or(steps.len())
        };
        steps.insert(
            at,
            Step {
                desc: "wait for the create-time hooks".into(),
                op: Op::SyncHooks { fd: rx },
            },
        );
        hook_release = Some(tx);
    }

    let plan = Plan {
        steps,
        report: report_tx,
        stdio: child_stdio,
        fifo,
        init: config.init,
        process: prepared.as_ref(),
        new_pidns: ns.new_pid,
        preserve_fds: config.preserve_fds,
        tty: match (&tty, &prepared) {
            (Some(t), Some(p)) => Some(t.child(p.ids())),
            _ => None,
        },
        keep: Vec::new(),
        into_cgroup,
    };
    let empty = Vec::new();
    let user_maps = maps.map(|sync| UserMaps {
        uid: linux
            .and_then(|l| l.uid_mappings().as_ref())
            .unwrap_or(&empty),
        gid: linux
            .and_then(|l| l.gid_mappings().as_ref())
            .unwrap_or(&empty),
        sync,
    });
    let cg = undo.cgroup.as_deref().expect("set above");
    // The veth pair is made as soon as the init (and so its network
    // namespace) exists, while the init makes its mounts: before the
    // hooks (prestart hooks may expect the network) and before the init
    // goes past its sync step.
    let veth_made: std::cell::RefCell<Option<VethState>> = Default::default();
    let mut make_veth = |pid: i32| -> Result<()> {
        if let Some(v) = &config.network {
            *veth_made.borrow_mut() = Some(veth::setup(v, pid)?);
        }
        Ok(())
    };
    let mut run_create_hooks = |pid: i32| -> Result<()> {
        let st = hooks::creating_state(id, pid, config.bundle.as_deref(), &spec);
        // prestart (deprecated, runc's and crun's order) sees "created".
        let mut created = st.clone();
        created.status = super::Status::Created;
        for (kind, list) in &create_hooks {
            match kind {
                HookKind::CreateContainer => hooks::run_in_container(*kind, list, pid, cg, &st)?,
                HookKind::Prestart => hooks::run_hooks(*kind, list, &created)?,
                _ => hooks::run_hooks(*kind, list, &st)?,
            }
        }
        Ok(())
    };
    let hook_sync = hook_release.map(|release| init::HookSync {
        release,
        early: &mut make_veth,
        run: &mut run_create_hooks,
    });
    let settle_run = || cg.settled();
    let parent = init::ParentSync {
        settle: settle_release.map(|(joined, release)| init::Settle {
            joined,
            release,
            run: &settle_run,
        }),
        maps: user_maps,
    };
    let started = init::start(
        plan,
        ns.clone_flags,
        ns.open_pid()?,
        host_paths,
        parent,
        report_rx,
        hook_sync,
    );
    undo.veth = veth_made.borrow_mut().take();
    let pid = started?;
    undo.pid = Some(pid);
    // The init is in its cgroup now.
    cg.settled();
    drop(tty);

    let pid_start = state::proc_stat(pid).map(|s| s.start).ok_or_else(|| {
        Error::sys(
            format!("read /proc/{pid}/stat"),
            std::io::Error::last_os_error(),
        )
    })?;
    let st = State {
        id: id.to_string(),
        pid,
        pid_start,
        new_pidns: ns.new_pid,
        bundle: config.bundle.clone(),
        rootfs,
        created: state::now_rfc3339(),
        cgroup: cgroup_state,
        overlay: overlay_state,
        veth: undo.veth.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        no_new_keyring: config.no_new_keyring,
        spec,
    };
    st.write(&dir)?;
    if let Some(p) = &config.pid_file {
        write_pid_file(p, pid)?;
    }
    undo.armed = false;
    let cgroup = undo.cgroup.take().expect("set above");
    let [stdin, stdout, stderr] = parent_stdio;
    let c = Container::new(dir, st, cgroup, [stdin, stdout, stderr]);
    // `start` takes the state lock itself.
    drop(lock);
    if config.start == StartMode::Immediately && start_hooks {
        if let Err(e) = c.start_init() {
            let _ = c.destroy_all();
            return Err(e);
        }
    }
    Ok(c)
}

/// The spec's `root.path` as an absolute, existing directory.
fn rootfs_path(spec: &Spec, bundle: Option<&Path>) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::InvalidSpec("root: missing".into()))?;
    let p = root.path();
    if p.as_os_str().is_empty() {
        return Err(Error::InvalidSpec("root.path: empty".into()));
    }
    let p = match bundle {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.clone(),
    };
    let p = std::path::absolute(&p).map_err(|e| Error::io("resolve root.path", &p, e))?;
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => Ok(p),
        Ok(_) => Err(Error::InvalidSpec(format!(
            "root.path {}: not a directory",
            p.display()
        ))),
        Err(e) => Err(Error::InvalidSpec(format!(
            "root.path {}: {e}",
            p.display()
        ))),
    }
}

/// The host id that container id 0 maps to (`None`: unmapped, left).
fn map_root(maps: Option<&[oci_spec::runtime::LinuxIdMapping]>) -> Option<u32> {
    maps?
        .iter()
        .find(|m| m.container_id() == 0)
        .map(|m| m.host_id())
}

/// Checks on the spec that need no system state, before anything exists.
/// `ociVersion` must name a runtime-spec 1.x version ("1.0.2", "1.2.0",
/// "1.0.2-dev"), as crun requires: a spec of another major version (or
/// none) is not one this runtime knows how to read.
fn check_oci_version(v: &str) -> Result<()> {
    let minor = v.strip_prefix("1.").unwrap_or("");
    if minor.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(());
    }
    Err(Error::InvalidSpec(format!(
        "ociVersion {v:?}: not a runtime-spec 1.x version (e.g. \"1.0.2\")"
    )))
}

fn validate(spec: &Spec, config: &CreateConfig) -> Result<()> {
    check_oci_version(spec.version())?;
    for m in spec.mounts().iter().flatten() {
        rootfs::relative_destination(m.destination())?;
        let typ = m.typ().as_deref().unwrap_or("");
        if rootfs::is_bind(m) {
            let src = rootfs::bind_source(m, config.bundle.as_deref()).ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "mount on {}: a bind mount needs a source",
                    m.destination().display()
                ))
            })?;
            if !src.exists() {
                return Err(Error::InvalidSpec(format!(
                    "mount on {}: bind source {} does not exist",
                    m.destination().display(),
                    src.display()
                )));
            }
        } else if typ.is_empty() {
            return Err(Error::InvalidSpec(format!(
                "mount on {}: no filesystem type",
                m.destination().display()
            )));
        }
    }
    for l in config.overlay.iter().flat_map(|o| o.lower.iter()) {
        if !l.is_dir() {
            return Err(Error::option(
                "layer",
                l.display().to_string(),
                "is not an existing directory",
            ));
        }
    }
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if config.console_socket.is_some() && !(terminal && config.init == InitKind::SpecProcess) {
        return Err(Error::InvalidSpec(
            "a console socket was given but process.terminal is not set".into(),
        ));
    }
    Ok(())
}

fn mkdir_all(p: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| Error::io("create overlay directory", p, e))?;
    made.push(p.to_path_buf());
    Ok(())
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf (those the spec does not
/// mount itself), written in the state directory for binding.
fn write_etc_files(
    dir: &Path,
    id: &str,
    spec: &Spec,
    own_addr: Option<std::net::Ipv4Addr>,
) -> Result<Vec<(String, PathBuf)>> {
    // The hostname resolves to the veth address when there is one (as
    // docker writes it), else to 127.0.1.1 (Debian's convention).
    let own = own_addr.map_or_else(|| "127.0.1.1".to_string(), |a| a.to_string());
    let hostname = spec
        .hostname()
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| id.to_string());
    let mut out = Vec::new();
    for dest in rootfs::etc_files_needed(spec) {
        let name = dest.trim_start_matches("/etc/");
        let content = match name {
            "hostname" => format!("{hostname}\n"),
            "hosts" => format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{own}\t{hostname}\n"
            ),
            _ => std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        };
        let host = dir.join(name);
        std::fs::write(&host, content).map_err(|e| Error::io("write", &host, e))?;
        let _ = std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o644));
        out.push((dest.to_string(), host));
    }
    Ok(out)
}

fn make_fifo(dir: &Path) -> Result<OwnedFd> {
    let p = dir.join(state::FIFO);
    let c = CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| {
        Error::io(
            "create exec fifo",
            &p,
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(Error::io(
            "create exec fifo",
            &p,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: NUL-terminated path; the fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Error::io(
            "open exec fifo",
            &p,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// A CLOEXEC pipe: (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("create a pipe", e.into()))
}

fn write_pid_file(p: &Path, pid: i32) -> Result<()> {
    let tmp = p.with_extension("tmp-containerv");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|_| std::fs::rename(&tmp, p))
        .map_err(|e| Error::io("write pid file", p, e))
}
