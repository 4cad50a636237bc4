//! The container's filesystem, planned in the parent: the rootfs (a bind
//! of `root.path` or an overlay of layers) on a mount point in the state
//! directory, the spec's mounts in order, /dev, the /etc files, entering the
//! root with pivot_root, masked and read-only paths, a read-only root.
//!
//! Every mount target is relative to the root and is resolved by the child
//! inside it (`openat2(RESOLVE_IN_ROOT)`), so a symlink in the rootfs never
//! makes a mount land outside it.

mod cgroupfs;
mod devices;
pub(crate) mod options;

use std::ffi::CString;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

use crate::error::{Error, Result};
use crate::linux::init::plan::{Op, Step, TargetKind};

/// The overlay layers of a rootfs, as host paths.
#[derive(Debug, Clone)]
pub(crate) struct OverlayDirs {
    /// Read-only layers, topmost first, ending with the spec's `root.path`.
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
}

/// Everything the rootfs plan depends on.
pub(crate) struct RootfsInput<'a> {
    pub spec: &'a Spec,
    /// `root.path`, absolute.
    pub rootfs: &'a Path,
    /// Base for relative bind sources (the bundle), if any.
    pub bundle: Option<&'a Path>,
    /// Where the root is mounted (in the state directory).
    pub mountpoint: &'a Path,
    pub overlay: Option<&'a OverlayDirs>,
    pub userns: bool,
    pub cgroupns: bool,
    /// The container's cgroup directory in each hierarchy.
    pub cgroups: &'a [crate::linux::cgroups::Placed],
    pub uts: bool,
    pub no_pivot: bool,
    /// No mount namespace of its own: everything is mounted under
    /// `mountpoint` in the runtime's namespace (made private first), and
    /// the init chroots there (see `namespaces`).
    pub shared_mount: bool,
    /// (destination, host file) binds for /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub etc_files: &'a [(String, PathBuf)],
    /// Host paths the paths above go through in a new user namespace
    /// (`/proc/self/fd/N`, see [`hold`]); bind sources join them.
    pub held: std::cell::RefCell<Vec<Held>>,
}

/// A host path the init receives as a descriptor (see [`hold`]).
#[derive(Debug)]
pub(crate) struct Held {
    pub path: PathBuf,
    /// The placeholder the descriptor lands on.
    pub fd: std::os::fd::OwnedFd,
    /// An idmapped read-only mount of it (an image layer) rather than an
    /// `O_PATH` descriptor.
    pub idmap: bool,
}

/// `path` as `/proc/self/fd/N[/rest]` for an init in a new user namespace:
/// its mapped root may not search a root-only (0700) directory on the way
/// (the runtime's `--root`, a bundle made with mkdtemp), so `base` is
/// opened for it by a helper with the runtime's credentials in its mount
/// namespace (`init/hostfds.rs`) and put on fd N, a placeholder until then.
/// `rest` is looked up from there by the init (it may be a mount point).
pub(crate) fn hold(
    held: &std::cell::RefCell<Vec<Held>>,
    base: &Path,
    rest: Option<&str>,
) -> Result<PathBuf> {
    hold_as(held, base, rest, false)
}

/// [`hold`] for an overlay's lower layer in a new user namespace: the
/// init gets a detached read-only mount of `layer`, idmapped through its
/// user namespace (`init/hostfds.rs`), so the layer's files are owned
/// inside as the image says (uid 0 is the container's root).
pub(crate) fn hold_idmapped(held: &std::cell::RefCell<Vec<Held>>, layer: &Path) -> Result<PathBuf> {
    hold_as(held, layer, None, true)
}

fn hold_as(
    held: &std::cell::RefCell<Vec<Held>>,
    base: &Path,
    rest: Option<&str>,
    idmap: bool,
) -> Result<PathBuf> {
    use std::os::fd::AsRawFd;
    let mut h = held.borrow_mut();
    if let Some(x) = h.iter().find(|x| x.path == base && x.idmap == idmap) {
        let mut p = PathBuf::from(format!("/proc/self/fd/{}", x.fd.as_raw_fd()));
        p.extend(rest);
        return Ok(p);
    }
    if h.len() >= crate::linux::init::hostfds::MAX {
        return Err(Error::InvalidSpec(format!(
            "more than {} host paths to bind into a user namespace",
            crate::linux::init::hostfds::MAX
        )));
    }
    let placeholder: std::os::fd::OwnedFd = std::fs::File::open("/dev/null")
        .map_err(|e| Error::io("open", "/dev/null", e))?
        .into();
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", placeholder.as_raw_fd()));
    p.extend(rest);
    h.push(Held {
        path: base.to_path_buf(),
        fd: placeholder,
        idmap,
    });
    Ok(p)
}

/// Which of the generated /etc files the spec does not mount itself, nor
/// covers with a bind mount (its mount point would be made in that host
/// directory: `-v /host/dir:/etc`).
pub(crate) fn etc_files_needed(spec: &Spec) -> Vec<&'static str> {
    let mounted = |d: &str| {
        spec.mounts().iter().flatten().any(|m| {
            let bind = m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind");
            m.destination() == Path::new(d) || (bind && Path::new(d).starts_with(m.destination()))
        })
    };
    ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
        .into_iter()
        .filter(|d| !mounted(d))
        .collect()
}

pub(crate) fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidSpec(format!("{s:?} contains a NUL byte")))
}

pub(crate) fn cpath(p: &Path) -> Result<CString> {
    cstr(&p.to_string_lossy())
}

pub(crate) fn step(desc: String, op: Op) -> Step {
    Step { desc, op }
}

/// A mount destination as a clean path relative to the root: absolute, no
/// `..`, no NUL.
pub(crate) fn relative_destination(dest: &Path) -> Result<String> {
    if !dest.is_absolute() {
        return Err(Error::InvalidSpec(format!(
            "mount destination {:?}: must be an absolute path",
            dest.display().to_string()
        )));
    }
    let mut parts = Vec::new();
    for c in dest.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {
                return Err(Error::InvalidSpec(format!(
                    "mount destination {:?}: must not contain \"..\"",
                    dest.display().to_string()
                )))
            }
        }
    }
    Ok(parts.join("/"))
}

/// Detach what a container without a mount namespace of its own left
/// mounted on `<state dir>/rootfs` (its root and everything below, see
/// `namespaces`); nothing for any other container (EINVAL: not a mount
/// point). An error when something stays mounted there, so the state
/// directory is never removed through a mount (that would delete files of
/// the rootfs or a bind source).
pub(crate) fn detach(state_dir: &Path) -> Result<()> {
    let mp = state_dir.join("rootfs");
    let c = cpath(&mp)?;
    for _ in 0..64 {
        // SAFETY: c is a NUL-terminated path; umount2 changes no memory.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EINVAL) | Some(libc::ENOENT) => Ok(()),
                _ => Err(Error::io("unmount the container's root", &mp, e)),
            };
        }
    }
    Err(Error::io(
        "unmount the container's root",
        &mp,
        std::io::Error::other("still mounted after 64 unmounts"),
    ))
}

/// Append the rootfs steps to `out`.
pub(crate) fn steps(input: &RootfsInput<'_>, out: &mut Vec<Step>) -> Result<()> {
    let linux = input.spec.linux().as_ref();
    let prop = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|p| !p.is_empty());
    let prop_flags = match prop {
        None => libc::MS_SLAVE | libc::MS_REC,
        Some(p) => options::propagation(p).ok_or_else(|| {
            Error::InvalidSpec(format!(
                "linux.rootfsPropagation {p:?} is not a propagation"
            ))
        })?,
    };
    // pivot_root refuses a shared root, and the rootfs cannot be bound
    // from an unbindable mount: those two are set on the container's own
    // root as the last step, rslave until then.
    let late = prop_flags & (libc::MS_SHARED | libc::MS_UNBINDABLE) != 0;
    let before = if late {
        libc::MS_SLAVE | libc::MS_REC
    } else {
        prop_flags
    };
    // Not the runtime's own "/" when the container shares its namespace.
    if !input.shared_mount {
        out.push(step(
            format!(
                "set mount propagation {} on /",
                if late {
                    "rslave (the requested one after entering the root)"
                } else {
                    prop.unwrap_or("rslave (default)")
                }
            ),
            Op::Propagation { flags: before },
        ));
    }
    // Host and domain name first: createContainer hooks (run before
    // pivot_root) already see them.
    if input.uts {
        if let Some(h) = input.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
            out.push(step(
                format!("set hostname {h:?}"),
                Op::Sethostname { name: cstr(h)? },
            ));
        }
        if let Some(d) = input.spec.domainname().as_deref().filter(|h| !h.is_empty()) {
            out.push(step(
                format!("set domainname {d:?}"),
                Op::Setdomainname { name: cstr(d)? },
            ));
        }
    }
    let mp = cpath(input.mountpoint)?;
    match input.overlay {
        Some(o) => {
            let lower: Vec<String> = o
                .lower
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            // In a user namespace the overlay's own xattrs (opaque
            // directories) are `user.overlay.*`: its root may not set or
            // read `trusted.*`.
            let data = format!(
                "lowerdir={},upperdir={},workdir={}{}",
                lower.join(":"),
                o.upper.display(),
                o.work.display(),
                if input.userns { ",userxattr" } else { "" }
            );
            out.push(step(
                format!("mount overlay ({data}) on {}", input.mountpoint.display()),
                Op::MountAt {
                    source: Some(cstr("overlay")?),
                    target: mp.clone(),
                    fstype: Some(cstr("overlay")?),
                    flags: 0,
                    data: Some(cstr(&data)?),
                },
            ));
        }
        None => out.push(step(
            format!(
                "bind rootfs {} on {}",
                input.rootfs.display(),
                input.mountpoint.display()
            ),
            Op::MountAt {
                source: Some(cpath(input.rootfs)?),
                target: mp.clone(),
                fstype: None,
                flags: libc::MS_BIND | libc::MS_REC,
                data: None,
            },
        )),
    }
    if input.shared_mount {
        // Nothing mounted below it reaches the runtime's other mounts.
        out.push(step(
            format!("make {} private", input.mountpoint.display()),
            Op::MountAt {
                source: None,
                target: mp.clone(),
                fstype: None,
                flags: libc::MS_PRIVATE | libc::MS_REC,
                data: None,
            },
        ));
    }
    out.push(step(
        format!("open the root {}", input.mountpoint.display()),
        Op::OpenRoot { path: mp.clone() },
    ));

    let mut dev_tmpfs = false;
    for m in input.spec.mounts().iter().flatten() {
        if m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs") {
            dev_tmpfs = true;
        }
        mount_steps(input, m, out)?;
    }
    if dev_tmpfs {
        let extra = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
        devices::steps(&extra, input.userns, out)?;
    }
    for (dest, host) in input.etc_files {
        out.push(step(
            format!("bind {} on {dest}", host.display()),
            Op::Mount {
                source: Some(cpath(host)?),
                target: cstr(dest.trim_start_matches('/'))?,
                kind: TargetKind::File,
                fstype: None,
                flags: libc::MS_BIND,
                data: None,
                remount: None,
                propagation: 0,
            },
        ));
    }

    // The working directory, made if missing (runc's prepareRootfs does
    // the same; docker's `-w /new` relies on it). An unclean cwd is left to
    // the chdir, which names it.
    if let Some(p) = input.spec.process() {
        if let Ok(rel) = relative_destination(p.cwd()) {
            if !rel.is_empty() {
                out.push(step(
                    format!("create the working directory {}", p.cwd().display()),
                    Op::MakeDir {
                        target: cstr(&rel)?,
                    },
                ));
            }
        }
    }

    if input.shared_mount {
        out.push(step(
            "enter the root (chroot: no mount namespace of its own)".into(),
            Op::Chroot { path: mp },
        ));
    } else if input.no_pivot {
        out.push(step(
            "enter the root (MS_MOVE + chroot)".into(),
            Op::MoveRoot { path: mp },
        ));
    } else {
        out.push(step(
            "enter the root (pivot_root)".into(),
            Op::PivotRoot { path: mp },
        ));
    }
    let fds: Vec<i32> = input
        .held
        .borrow()
        .iter()
        .map(|h| std::os::fd::AsRawFd::as_raw_fd(&h.fd))
        .collect();
    if !fds.is_empty() {
        out.push(step(
            "close the host path descriptors".into(),
            Op::Release { fds },
        ));
    }

    // Sysctls before masked and read-only paths (/proc/sys is usually one).
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        let mut keys: Vec<_> = sysctl.iter().collect();
        keys.sort();
        for (k, v) in keys {
            if k.is_empty() || k.contains("..") || k.contains('/') {
                return Err(Error::InvalidSpec(format!("linux.sysctl {k:?}: bad key")));
            }
            let path = format!("/proc/sys/{}", k.replace('.', "/"));
            out.push(step(
                format!("set sysctl {k}={v}"),
                Op::WriteFile {
                    path: cstr(&path)?,
                    data: v.as_bytes().to_vec(),
                },
            ));
        }
    }
    if let Some(l) = linux {
        for p in l.masked_paths().iter().flatten() {
            out.push(step(
                format!("mask {p}"),
                Op::Mask {
                    path: abs_cstr("maskedPaths", p)?,
                },
            ));
        }
        for p in l.readonly_paths().iter().flatten() {
            out.push(step(
                format!("make {p} read-only"),
                Op::ReadOnly {
                    path: abs_cstr("readonlyPaths", p)?,
                },
            ));
        }
    }
    if input
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        out.push(step("make the root read-only".into(), Op::RootReadOnly));
    }
    // Last: an unbindable tree would refuse the binds above (masked paths).
    if late {
        out.push(step(
            format!(
                "set mount propagation {} on the container's /",
                prop.unwrap_or("")
            ),
            Op::Propagation { flags: prop_flags },
        ));
    }
    Ok(())
}

fn abs_cstr(field: &str, p: &str) -> Result<CString> {
    if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
        return Err(Error::InvalidSpec(format!(
            "linux.{field} {p:?}: must be an absolute path without \"..\""
        )));
    }
    cstr(p)
}

/// Is this mount a bind mount?
pub(crate) fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// A bind mount's source as a host path (relative ones are in the bundle).
pub(crate) fn bind_source(m: &Mount, bundle: Option<&Path>) -> Option<PathBuf> {
    let src = m.source().as_ref()?;
    Some(match bundle {
        Some(b) if src.is_relative() => b.join(src),
        _ => src.clone(),
    })
}

fn mount_steps(input: &RootfsInput<'_>, m: &Mount, out: &mut Vec<Step>) -> Result<()> {
    let rel = relative_destination(m.destination())?;
    let dest = m.destination().display().to_string();
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        return cgroupfs::steps(&rel, opts.flags, input.cgroupns, input.cgroups, out);
    }
    let data = if opts.data.is_empty() {
        None
    } else {
        Some(cstr(&opts.data)?)
    };
    let op = if is_bind(m) {
        let src = bind_source(m, input.bundle).ok_or_else(|| {
            Error::InvalidSpec(format!("mount on {dest}: a bind mount needs a source"))
        })?;
        let kind = if src.is_dir() {
            TargetKind::Dir
        } else {
            TargetKind::File
        };
        let src = if input.userns {
            hold(&input.held, &src, None)?
        } else {
            src
        };
        let remount = (opts.flags != 0).then_some(libc::MS_BIND | libc::MS_REMOUNT | opts.flags);
        Op::Mount {
            source: Some(cpath(&src)?),
            target: cstr(&rel)?,
            kind,
            fstype: None,
            flags: opts.bind,
            data: None,
            remount,
            propagation: opts.propagation,
        }
    } else {
        let source = m
            .source()
            .as_ref()
            .map(|s| cpath(s))
            .transpose()?
            .or_else(|| CString::new(typ).ok());
        Op::Mount {
            source,
            target: cstr(&rel)?,
            kind: TargetKind::Dir,
            fstype: Some(cstr(typ)?),
            flags: opts.flags,
            data,
            remount: None,
            propagation: opts.propagation,
        }
    };
    let what = if is_bind(m) {
        format!(
            "bind {}",
            m.source()
                .as_ref()
                .map(|s| s.display().to_string())
                .unwrap_or_default()
        )
    } else {
        format!("mount {typ}")
    };
    out.push(step(format!("{what} on {dest}"), op));
    Ok(())
}
