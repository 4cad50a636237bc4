//! Size limits the kernel enforces on a directory tree: project quotas
//! (xfs `pquota`, ext4 with the `project` feature mounted `prjquota`).
//! The engine puts them on a volume's `_data` directory (`volume create
//! --opt size=`).
//!
//! Why project quotas and not polling or a loop-mounted image per volume:
//! the kernel refuses the write that would pass the bound (ENOSPC on xfs,
//! EDQUOT on ext4), at once, with no daemon watching; the data stays a
//! plain directory of the engine's filesystem (`cp`, copy-up and `system
//! df` work unchanged); and nothing is preallocated. The cost: the
//! engine's directory must be on xfs or ext4 with project quotas on;
//! elsewhere a size is refused saying what the filesystem lacks.
//!
//! A directory is tied to a project by its inode attributes (`fsx_projid`
//! plus `FS_XFLAG_PROJINHERIT`, so every file made under it joins): the
//! filesystem itself stores the id, which survives crashes and reboots
//! with the data and needs no record of ours. [`limit`] allocates one
//! more than the largest id found on the caller's other quota directories
//! (the caller serialises allocations with a lock of its own), never
//! below [`FIRST_ID`]; the limit is set with `quotactl_fd(2)`
//! (Linux 5.14) on the directory itself (no block-device lookup). On
//! removal the limit is reset to none; an id whose directory is gone is
//! free and its next owner sets its own limit, so a crash between the
//! steps leaves nothing that matters.
//!
//! Root inside a container does not hold CAP_SYS_RESOURCE (docker's
//! default set), which ext4 would let pass the hard limit; xfs enforces
//! project limits even then.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The first project id the engine hands out (ids below are left to the
/// administrator's /etc/projid).
pub const FIRST_ID: u32 = 100_000;

const PRJQUOTA: libc::c_int = 2;
const XFS_SUPER_MAGIC: i64 = 0x5846_5342;
const EXT4_SUPER_MAGIC: i64 = 0xEF53;
const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;
/// `_IOR('X', 31, struct fsxattr)` / `_IOW('X', 32, …)`.
const FS_IOC_FSGETXATTR: libc::Ioctl = 0x801c_581f_u32 as libc::Ioctl;
const FS_IOC_FSSETXATTR: libc::Ioctl = 0x401c_5820_u32 as libc::Ioctl;
/// `XQM_CMD(8)`: the versioned quota state.
const Q_XGETQSTATV: libc::c_int = (b'X' as libc::c_int) << 8 | 8;
const FS_QUOTA_PDQ_ACCT: u16 = 1 << 4;
const FS_QUOTA_PDQ_ENFD: u16 = 1 << 5;

/// `struct fsxattr` (linux/fs.h).
#[repr(C)]
#[derive(Default)]
struct FsXattr {
    xflags: u32,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
    pad: [u8; 8],
}

/// `struct fs_qfilestatv`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct QFileStatV {
    ino: u64,
    nblks: u32,
    nextents: u32,
}

/// `struct fs_quota_statv` (linux/dqblk_xfs.h).
#[repr(C)]
#[derive(Default)]
struct QuotaStatV {
    version: i8,
    pad1: u8,
    flags: u16,
    incoredqs: u32,
    uquota: QFileStatV,
    gquota: QFileStatV,
    pquota: QFileStatV,
    btimelimit: i32,
    itimelimit: i32,
    rtbtimelimit: i32,
    bwarnlimit: u16,
    iwarnlimit: u16,
    rtbwarnlimit: u16,
    pad3: u16,
    pad4: u32,
    pad2: [u64; 7],
}

fn qcmd(cmd: libc::c_int) -> libc::c_int {
    (cmd << 8) | (PRJQUOTA & 0xff)
}

/// `quotactl_fd(2)` on the filesystem of `fd`.
fn quotactl(fd: &File, cmd: libc::c_int, id: u32, addr: *mut libc::c_void) -> std::io::Result<()> {
    // SAFETY: quotactl_fd reads/writes `addr`, a live struct of the size
    // the command expects (or null where it takes none).
    let r = unsafe {
        libc::syscall(
            libc::SYS_quotactl_fd,
            fd.as_raw_fd(),
            qcmd(cmd) as libc::c_uint,
            id as libc::c_long,
            addr,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn open_dir(dir: &Path) -> Result<File> {
    File::open(dir).map_err(|e| Error::io("open", dir, e))
}

fn fs_name(magic: i64) -> String {
    match magic {
        0x0102_1994 => "tmpfs".into(),
        0x794c_7630 => "overlayfs".into(),
        0x9123_683e => "btrfs".into(),
        0xEF53 => "ext2/3/4".into(),
        0x5846_5342 => "xfs".into(),
        m => format!("a filesystem of type {m:#x}"),
    }
}

/// Whether the filesystem of `dir` enforces project quotas; the error
/// says what it lacks (the `reason` of an option error).
pub fn supported(dir: &Path) -> std::result::Result<(), String> {
    let f = File::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    // SAFETY: fstatfs fills a zeroed statfs of ours.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the fd is live.
    if unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) } != 0 {
        return Err(format!(
            "statfs {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    let magic = st.f_type as i64;
    let how = "size quotas need the engine's directory on xfs mounted with -o pquota, or on \
               ext4 made with -O project,quota and mounted with -o prjquota";
    if magic != XFS_SUPER_MAGIC && magic != EXT4_SUPER_MAGIC {
        return Err(format!(
            "{} is on {}, which has no project quotas ({how})",
            dir.display(),
            fs_name(magic)
        ));
    }
    let fs = if magic == XFS_SUPER_MAGIC {
        "xfs"
    } else {
        "ext4"
    };
    let mut s = QuotaStatV {
        version: 1,
        ..Default::default()
    };
    let lacks = |what: &str| {
        format!(
            "{} is on {fs} {what} ({how})",
            dir.display(),
            fs = fs,
            what = what
        )
    };
    match quotactl(&f, Q_XGETQSTATV, 0, (&mut s as *mut QuotaStatV).cast()) {
        Ok(()) if s.flags & FS_QUOTA_PDQ_ACCT == 0 => Err(lacks(if fs == "xfs" {
            "mounted without project quota accounting (no pquota)"
        } else {
            "without project quota accounting (no project feature or not mounted prjquota)"
        })),
        Ok(()) if s.flags & FS_QUOTA_PDQ_ENFD == 0 => {
            Err(lacks("with project quotas accounted but not enforced"))
        }
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Err(format!(
            "{} is on {fs}, but this kernel has no quota support (built without CONFIG_QUOTA) ({how})",
            dir.display()
        )),
        Err(e) => Err(lacks(&format!("with no project quotas on (quotactl: {e})"))),
    }
}

fn get_xattr(f: &File, dir: &Path) -> Result<FsXattr> {
    let mut x = FsXattr::default();
    // SAFETY: FS_IOC_FSGETXATTR fills a struct fsxattr of ours.
    if unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FSGETXATTR, &mut x) } != 0 {
        return Err(Error::io(
            "read the project id of",
            dir,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(x)
}

/// The project id of `dir` (0: none).
pub fn project_of(dir: &Path) -> Result<u32> {
    get_xattr(&open_dir(dir)?, dir).map(|x| x.projid)
}

/// Ties `dir` (empty, or everything under it gets counted only as it is
/// made) to project `id`, inherited by whatever is made under it.
fn set_project(f: &File, dir: &Path, id: u32) -> Result<()> {
    let mut x = get_xattr(f, dir)?;
    x.projid = id;
    x.xflags |= FS_XFLAG_PROJINHERIT;
    // SAFETY: FS_IOC_FSSETXATTR reads the struct fsxattr of ours.
    if unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FSSETXATTR, &x) } != 0 {
        return Err(Error::io(
            "set the project id of",
            dir,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Sets project `id`'s block limit to `bytes` (0: no limit).
fn set_limit(f: &File, dir: &Path, id: u32, bytes: u64) -> Result<()> {
    // The generic interface counts in 1 KiB quota blocks.
    let kib = bytes.div_ceil(1024);
    // SAFETY: a plain C struct, all zeroes is valid.
    let mut q: libc::dqblk = unsafe { std::mem::zeroed() };
    q.dqb_bhardlimit = kib;
    q.dqb_bsoftlimit = kib;
    q.dqb_valid = libc::QIF_BLIMITS;
    quotactl(f, libc::Q_SETQUOTA, id, (&mut q as *mut libc::dqblk).cast())
        .map_err(|e| Error::io("set the project quota of", dir, e))
}

/// Bytes counted against `dir`'s project (`None`: it has none).
pub fn usage(dir: &Path) -> Option<u64> {
    let f = File::open(dir).ok()?;
    let id = get_xattr(&f, dir).ok()?.projid;
    if id == 0 {
        return None;
    }
    // SAFETY: a plain C struct, all zeroes is valid.
    let mut q: libc::dqblk = unsafe { std::mem::zeroed() };
    quotactl(
        &f,
        libc::Q_GETQUOTA,
        id,
        (&mut q as *mut libc::dqblk).cast(),
    )
    .ok()?;
    Some(q.dqb_curspace)
}

/// Gives `dir` a new project with a limit of `bytes`; `others` are the
/// engine's other quota directories (their ids are taken). Call with the
/// caller's allocation lock held. Returns the id.
pub fn limit(dir: &Path, bytes: u64, others: &[PathBuf]) -> Result<u32> {
    let f = open_dir(dir)?;
    let taken = others
        .iter()
        .filter(|p| p.as_path() != dir)
        .filter_map(|p| project_of(p).ok())
        .max()
        .unwrap_or(0);
    let id = taken.max(FIRST_ID - 1) + 1;
    // Limit first: the directory never counts against an old owner's
    // leftover limit of this id.
    set_limit(&f, dir, id, bytes)?;
    set_project(&f, dir, id)?;
    Ok(id)
}

/// Resets `dir`'s project limit to none (before its data is deleted).
pub fn release(dir: &Path) -> Result<()> {
    // No project attributes at all (another filesystem): nothing to do.
    let Ok(f) = File::open(dir) else {
        return Ok(());
    };
    let Ok(x) = get_xattr(&f, dir) else {
        return Ok(());
    };
    let id = x.projid;
    if id >= FIRST_ID {
        set_limit(&f, dir, id, 0)?;
    }
    Ok(())
}
