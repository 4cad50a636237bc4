//! Mounting a volume's `type`/`device`/`o` options (docker's `local`
//! driver) on its `_data`, and the checks that keep a volume option from
//! becoming a way out of the container.
//!
//! Lifetime, as docker's: a volume with options is mounted when a
//! container that uses it starts ([`acquire`], by the monitor, before the
//! container is made) and unmounted when the last running user stops
//! ([`release`], wherever a container's end is handled: its monitor, a
//! replacement monitor, `stop`/`rm -f` doing the part of a killed one).
//! Who uses it is read from the container records under the volumes lock,
//! so there is no reference count to get out of step: a killed monitor or
//! a reboot (the mount is gone with the boot) reconcile by themselves at
//! the next acquire or release. `volume rm` unmounts before deleting and
//! refuses to delete through a mount it cannot remove (a bind's host
//! directory must never be emptied by a `volume rm`).
//!
//! Security (docker lets the daemon's caller mount anything; here a
//! volume option is refused when it would hand the host to a container):
//! every mount gets `nosuid,nodev` and `o=suid`/`o=dev` are refused; a
//! bind may not name `/`, the host's kernel and configuration trees
//! (`/proc`, `/sys`, `/dev`, `/boot`, `/etc`), nor the engine's or the
//! image store's directories (or a directory holding them); a block
//! device may not be one mounted on the host (the host's root
//! filesystem…), nor a disk or partition of one; filesystem types are
//! an allow-list (no `proc`, `sysfs`, `overlay`… whose "device" reaches
//! host state). The checks run at `volume create` (nothing is made) and
//! again at each mount (what a path names may have changed).

use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::options::VolumeOptions;
use super::VolumeStore;
use crate::error::{Error, Result};
use crate::store::Store;

/// Filesystem types a volume may mount (`none` is a bind).
const TYPES: &[&str] = &[
    "tmpfs", "none", "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "exfat", "f2fs", "squashfs",
    "iso9660", "udf", "nfs", "nfs4", "cifs", "smb3",
];
/// Network filesystems: the device is a remote name, not a host path.
const NETWORK: &[&str] = &["nfs", "nfs4", "cifs", "smb3"];
/// Host trees a bind may not expose (nor anything under them).
const HOST_TREES: &[&str] = &["/proc", "/sys", "/dev", "/boot", "/etc"];

/// How a volume's options mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub fs_type: String,
    pub device: String,
    pub bind: bool,
    pub recursive: bool,
    pub flags: libc::c_ulong,
    /// What `o=` leaves for the filesystem (`size=64m,uid=1000`).
    pub data: String,
}

fn bad(key: &str, value: &str, why: impl Into<String>) -> Error {
    Error::option(format!("--opt {key}"), value, why)
}

/// Splits `o=` into mount flags and the filesystem's own options, as
/// mount(8) does; refuses `suid` and `dev`.
pub fn plan(o: &VolumeOptions) -> Result<Option<Plan>> {
    let Some(fs_type) = o.fs_type.clone() else {
        return Ok(None);
    };
    if o.size.is_some() {
        return Err(bad(
            "size",
            &o.size.unwrap_or(0).to_string(),
            "a size applies to a plain volume (for a tmpfs use o=size=)",
        ));
    }
    if !TYPES.contains(&fs_type.as_str()) {
        return Err(bad(
            "type",
            &fs_type,
            format!(
                "not a filesystem a volume may mount (use one of {})",
                TYPES.join(", ")
            ),
        ));
    }
    let device = o.device.clone().unwrap_or_default();
    let mut p = Plan {
        fs_type,
        device,
        bind: false,
        recursive: false,
        flags: libc::MS_NOSUID | libc::MS_NODEV,
        data: String::new(),
    };
    let mut data = Vec::new();
    let whole = o.o.clone().unwrap_or_default();
    for opt in whole.split(',').filter(|s| !s.is_empty()) {
        let f = match opt {
            "bind" => {
                p.bind = true;
                0
            }
            "rbind" => {
                p.bind = true;
                p.recursive = true;
                0
            }
            "ro" => libc::MS_RDONLY,
            "rw" | "defaults" | "nosuid" | "nodev" | "exec" | "async" | "atime" | "diratime"
            | "auto" | "noauto" | "nouser" => 0,
            "noexec" => libc::MS_NOEXEC,
            "sync" => libc::MS_SYNCHRONOUS,
            "dirsync" => libc::MS_DIRSYNC,
            "noatime" => libc::MS_NOATIME,
            "nodiratime" => libc::MS_NODIRATIME,
            "relatime" => libc::MS_RELATIME,
            "strictatime" => libc::MS_STRICTATIME,
            "lazytime" => libc::MS_LAZYTIME,
            "suid" | "dev" => {
                return Err(bad(
                    "o",
                    &whole,
                    format!(
                        "{opt:?} is refused: set-uid files and device nodes of a volume would \
                         give its containers the host (volumes are always nosuid,nodev)"
                    ),
                ))
            }
            "loop" => 0, // an image file gets a loop device anyway
            other => {
                data.push(other.to_string());
                0
            }
        };
        p.flags |= f;
    }
    p.data = data.join(",");
    if p.bind != (p.fs_type == "none") {
        return Err(bad(
            "o",
            &whole,
            "a bind is --opt type=none --opt o=bind --opt device=/host/dir",
        ));
    }
    Ok(Some(p))
}

/// Mounted filesystems: (device number, mount point).
fn mounts() -> Vec<(u64, PathBuf)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (maj, min) = f.get(2)?.split_once(':')?;
            let dev = libc::makedev(maj.parse().ok()?, min.parse().ok()?);
            Some((dev, PathBuf::from(unescape(f.get(4)?))))
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `p` is a mount point.
pub fn is_mounted(p: &Path) -> bool {
    let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    mounts().iter().any(|(_, m)| *m == p)
}

/// The sysfs directory of block device `dev` (a partition lies below its
/// disk).
fn sysfs_of(dev: u64) -> Option<PathBuf> {
    let p = format!("/sys/dev/block/{}:{}", libc::major(dev), libc::minor(dev));
    std::fs::canonicalize(p).ok()
}

/// Refuses a volume whose options would expose the host: see the module
/// doc. `protected` are the engine's own directories.
pub fn check(p: &Plan, protected: &[&Path]) -> Result<()> {
    if p.fs_type == "tmpfs" || NETWORK.contains(&p.fs_type.as_str()) {
        return Ok(());
    }
    let key_dev = |why: String| bad("device", &p.device, why);
    if !p.device.starts_with('/') {
        return Err(key_dev("must be an absolute path".into()));
    }
    let real = std::fs::canonicalize(&p.device)
        .map_err(|e| key_dev(format!("cannot be resolved: {e}")))?;
    let md = std::fs::metadata(&real).map_err(|e| key_dev(e.to_string()))?;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if p.bind {
        if !md.is_dir() {
            return Err(key_dev("a bind volume's device must be a directory".into()));
        }
        if real == Path::new("/") {
            return Err(key_dev(
                "binding the host's / would give containers the host".into(),
            ));
        }
        for t in HOST_TREES {
            if real.starts_with(t) {
                return Err(key_dev(format!(
                    "{t} is the host's own: a volume may not bind it"
                )));
            }
        }
        for d in protected {
            let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf());
            if real.starts_with(&d) || d.starts_with(&real) {
                return Err(key_dev(format!(
                    "{} holds the engine's state: a volume may not bind it",
                    d.display()
                )));
            }
        }
        return Ok(());
    }
    if md.file_type().is_block_device() {
        let mine = sysfs_of(md.rdev());
        let mounted: BTreeSet<u64> = mounts().into_iter().map(|(d, _)| d).collect();
        for m in mounted {
            let same = m == md.rdev();
            let related = match (&mine, sysfs_of(m)) {
                (Some(a), Some(b)) => a.starts_with(&b) || b.starts_with(a),
                _ => false,
            };
            if same || related {
                let at = mounts()
                    .into_iter()
                    .find(|(d, _)| *d == m)
                    .map(|(_, p)| p.display().to_string())
                    .unwrap_or_default();
                return Err(key_dev(format!(
                    "the device (or its disk or a partition of it) is mounted on the host at {at}"
                )));
            }
        }
        return Ok(());
    }
    if md.is_file() {
        return Ok(()); // an image file: a loop device of its own
    }
    Err(key_dev("neither a block device nor an image file".into()))
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn sys_mount(
    src: &str,
    dst: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: &str,
) -> std::io::Result<()> {
    let (src, dstc) = (c(src), c(&dst.to_string_lossy()));
    let t = fstype.map(c);
    let d = c(data);
    // SAFETY: mount(2) with C strings that live for the call.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            dstc.as_ptr(),
            t.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
            flags,
            if data.is_empty() {
                std::ptr::null()
            } else {
                d.as_ptr().cast()
            },
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Mounts `p` on `data` (checked first).
fn mount(p: &Plan, data: &Path, protected: &[&Path]) -> Result<()> {
    check(p, protected)?;
    let err = |e: std::io::Error| Error::io("mount the volume on", data, e);
    if p.bind {
        let real = std::fs::canonicalize(&p.device).map_err(err)?;
        let rec = if p.recursive { libc::MS_REC } else { 0 };
        sys_mount(&real.to_string_lossy(), data, None, libc::MS_BIND | rec, "").map_err(err)?;
        // A bind takes its flags only from a remount.
        if let Err(e) = sys_mount(
            "",
            data,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | p.flags,
            "",
        ) {
            unmount(data);
            return Err(err(e));
        }
        return Ok(());
    }
    let is_image = p.fs_type != "tmpfs"
        && !NETWORK.contains(&p.fs_type.as_str())
        && std::fs::metadata(&p.device).is_ok_and(|m| m.is_file());
    if is_image {
        let ro = p.flags & libc::MS_RDONLY != 0;
        let dev = containerv::linux::loopdev::attach(Path::new(&p.device), ro)?;
        sys_mount(
            &dev.path().to_string_lossy(),
            data,
            Some(&p.fs_type),
            p.flags,
            &p.data,
        )
        .map_err(err)?;
        dev.keep(); // autoclear: detached by the unmount
        return Ok(());
    }
    sys_mount(&p.device, data, Some(&p.fs_type), p.flags, &p.data).map_err(err)
}

/// Unmounts `data` (lazily if something still holds it).
pub fn unmount(data: &Path) {
    let d = c(&data.to_string_lossy());
    // SAFETY: umount2 of a volume's own mount point.
    if unsafe { libc::umount2(d.as_ptr(), 0) } != 0 {
        // SAFETY: as above.
        unsafe { libc::umount2(d.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The engine directories no bind may reach, for the store at `root`.
fn protected(root: &Path) -> Vec<&Path> {
    vec![root]
}

/// Mounts the option volumes `config` uses that are not mounted yet.
/// Returns the volumes lock when it mounted or kept one: hold it until the
/// container is recorded running, so no [`release`] of another user
/// unmounts the volume in between.
pub fn acquire(
    store: &Store,
    config: &crate::record::ContainerConfig,
) -> Result<Option<crate::store::LockGuard>> {
    if config.volumes.is_empty() {
        return Ok(None);
    }
    let vols = VolumeStore::open(store.root())?;
    let g = vols.lock()?;
    let mut any = false;
    for vm in &config.volumes {
        let Some(v) = vols.get(&vm.name)? else {
            continue;
        };
        let Some(p) = plan(&VolumeOptions::parse(&v.options)?)? else {
            continue;
        };
        let data = vols.data_dir(&v.name);
        any = true;
        if !is_mounted(&data) {
            mount(&p, &data, &protected(store.root()))
                .map_err(|e| Error::option("volume", v.name.as_str(), e.to_string()))?;
        }
    }
    Ok(any.then_some(g))
}

/// Unmounts every option volume that no running container other than
/// `ended` uses (the container `ended` has just stopped).
pub fn release(store: &Store, ended: &str) {
    let Ok(vols) = VolumeStore::open(store.root()) else {
        return;
    };
    let Ok(_g) = vols.lock() else { return };
    let Ok(list) = vols.list() else { return };
    let mounted: Vec<_> = list
        .into_iter()
        .filter(|v| v.options.contains_key("type"))
        .filter(|v| is_mounted(&vols.data_dir(&v.name)))
        .collect();
    if mounted.is_empty() {
        return;
    }
    let Ok(scan) = store.scan() else { return };
    // A record that cannot be read might be a running user: keep all.
    if !scan.damaged.is_empty() {
        return;
    }
    for v in mounted {
        let used = scan.entries.iter().any(|e| {
            e.config.id != ended
                && e.state.observed().status.is_active()
                && e.config.volumes.iter().any(|m| m.name == v.name)
        });
        if !used {
            unmount(&vols.data_dir(&v.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn p(kv: &[(&str, &str)]) -> Result<Option<Plan>> {
        let m: BTreeMap<String, String> = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        plan(&VolumeOptions::parse(&m)?)
    }

    #[test]
    fn o_splits_into_flags_and_data() {
        let t = p(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=64m,uid=1000,ro"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(t.data, "size=64m,uid=1000");
        assert_eq!(t.flags, libc::MS_NOSUID | libc::MS_NODEV | libc::MS_RDONLY);
        let b = p(&[("type", "none"), ("device", "/srv"), ("o", "bind")])
            .unwrap()
            .unwrap();
        assert!(b.bind && !b.recursive);
        assert!(p(&[("size", "1m")]).unwrap().is_none());
    }

    #[test]
    fn dangerous_options_are_refused() {
        for (kv, want) in [
            (
                &[("type", "tmpfs"), ("device", "x"), ("o", "suid")][..],
                "\"suid\" is refused",
            ),
            (
                &[("type", "ext4"), ("device", "/x"), ("o", "dev")][..],
                "\"dev\" is refused",
            ),
            (
                &[("type", "proc"), ("device", "proc")][..],
                "not a filesystem",
            ),
            (
                &[("type", "overlay"), ("device", "x")][..],
                "not a filesystem",
            ),
            (&[("type", "none"), ("device", "/srv")][..], "a bind is"),
            (
                &[("type", "ext4"), ("device", "/x"), ("o", "bind")][..],
                "a bind is",
            ),
        ] {
            let e = p(kv).unwrap_err().to_string();
            assert!(e.contains(want), "{kv:?}: {e}");
        }
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("volumes");
        std::fs::create_dir(&inner).unwrap();
        for (dev, want) in [
            ("/", "host's /"),
            ("/proc", "/proc"),
            ("/etc", "/etc"),
            ("relative", "absolute"),
            ("/no/such/dir", "cannot be resolved"),
        ] {
            let pl = p(&[("type", "none"), ("device", dev), ("o", "bind")])
                .unwrap()
                .unwrap();
            let e = check(&pl, &[root.path()]).unwrap_err().to_string();
            assert!(e.contains(want), "{dev}: {e}");
        }
        for d in [root.path(), inner.as_path()] {
            let pl = p(&[
                ("type", "none"),
                ("device", d.to_str().unwrap()),
                ("o", "bind"),
            ])
            .unwrap()
            .unwrap();
            let e = check(&pl, &[root.path()]).unwrap_err().to_string();
            assert!(e.contains("engine's state"), "{e}");
        }
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
