//! Unpacking one layer tar (gzip, zstd or uncompressed) into its own
//! directory, as an overlayfs lower layer: whiteouts `.wh.NAME` become 0/0
//! character devices, `.wh..wh..opq` becomes the `trusted.overlay.opaque=y`
//! (and `user.overlay.opaque=y`, read by an overlay in a user namespace)
//! xattr of its directory; hardlinks, symlinks, device nodes, fifos,
//! xattrs, ownership, modes and mtimes are kept.
//!
//! Hostile layers cannot reach outside the directory: entry paths with
//! `..` are refused, every parent is resolved inside the layer root
//! (`openat2(RESOLVE_IN_ROOT)`, see [`fsops`]), the final component is made
//! with `*at` calls that do not follow symlinks, hardlink targets are
//! resolved inside the root too, and sizes are bounded ([`UnpackLimits`]);
//! runs of zeros (sparse files) are skipped with a seek, never written.
//! The uncompressed stream is hashed on the way so the caller can check
//! the layer's diff-id. The `tar` crate only parses; creation is ours.

pub mod fsops;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

use crate::digest::{Digest, HashingReader};
use crate::error::{Error, Result};
use fsops::{clean_path, clear, is_plain_name, Root};

/// Bounds on what one layer may create.
#[derive(Clone, Debug)]
pub struct UnpackLimits {
    /// Largest logical size of one file (sparse holes included).
    pub max_file_size: u64,
    /// Largest sum of logical file sizes in one layer.
    pub max_layer_size: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_file_size: 64 << 30,
            max_layer_size: 256 << 30,
        }
    }
}

/// Compression of a layer blob, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A reader of the uncompressed layer stream, whatever the compression.
pub fn decompress<'a, R: Read + 'a>(blob: R, what: &str) -> Result<Box<dyn Read + 'a>> {
    let mut br = BufReader::with_capacity(1 << 20, blob);
    let head = br
        .fill_buf()
        .map_err(|e| Error::io("read layer", what, e))?;
    Ok(match Compression::sniff(head) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(
            zstd::Decoder::with_buffer(br).map_err(|e| Error::io("zstd decoder", what, e))?,
        ),
        Compression::None => Box::new(br),
    })
}

/// Unpacks layer blob `blob` into the empty directory `dest`. Returns the
/// digest of the uncompressed tar (the diff-id). `layer` names the layer
/// in errors.
pub fn unpack_layer<R: Read>(
    blob: R,
    dest: &Path,
    layer: &str,
    limits: &UnpackLimits,
) -> Result<Digest> {
    let stream = HashingReader::new(decompress(blob, layer)?);
    let mut ar = tar::Archive::new(stream);
    let mut u = Unpacker {
        root: Root::open(dest).map_err(|e| Error::io("open layer dir", dest, e))?,
        layer: layer.to_string(),
        limits: limits.clone(),
        total: 0,
        dirs: Vec::new(),
        buf: vec![0u8; 128 << 10],
    };
    let entries = ar
        .entries()
        .map_err(|e| Error::io("read layer tar", layer, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::io("read layer tar", layer, e))?;
        u.entry(&mut entry)?;
    }
    u.finish_dirs()?;
    // Hash what follows the end-of-archive marker too: the diff-id covers
    // the whole uncompressed stream.
    let mut rest = ar.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())
        .map_err(|e| Error::io("read layer tar", layer, e))?;
    Ok(rest.finish().0)
}

struct Unpacker {
    root: Root,
    layer: String,
    limits: UnpackLimits,
    total: u64,
    /// Directories whose mtime is set last (creating children changes it).
    dirs: Vec<(PathBuf, Timespec)>,
    /// Copy buffer reused for every file (a fresh large allocation per
    /// file costs an mmap and page faults each time).
    buf: Vec<u8>,
}

/// Metadata of an entry, PAX overrides applied.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Unpacker {
    fn refuse(&self, entry: &Path, reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            layer: self.layer.clone(),
            entry: entry.display().to_string(),
            reason: reason.into(),
        }
    }

    fn os(&self, entry: &Path, op: &str, e: Errno) -> Error {
        self.refuse(entry, format!("{op}: {}", std::io::Error::from(e)))
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = e
            .path()
            .map_err(|er| Error::io("read entry path", &self.layer, er))?
            .into_owned();
        let kind = e.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            return Ok(());
        }
        let rel = match clean_path(&raw) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()), // the root itself: keep ours
            Err(why) => return Err(self.refuse(&raw, why)),
        };
        let meta = self.meta(e)?;
        let name = rel.file_name().unwrap_or_default().to_os_string();
        let nb = name.as_bytes();

        // Whiteouts.
        if nb == b".wh..wh..opq" {
            let parent = self
                .root
                .parent(&rel)
                .map_err(|er| self.os(&raw, "open parent", er))?;
            // Both namespaces: an overlay mounted in a user namespace
            // (`userxattr`, a remapped container) reads `user.overlay.*`.
            fsops::set_xattr_fd(&*parent, b"trusted.overlay.opaque", b"y")
                .map_err(|er| self.os(&raw, "set opaque xattr", er))?;
            return fsops::set_xattr_fd(&*parent, b"user.overlay.opaque", b"y")
                .map_err(|er| self.os(&raw, "set opaque xattr", er));
        }
        if let Some(hidden) = nb.strip_prefix(b".wh.") {
            let hidden = OsStr::from_bytes(hidden);
            if !is_plain_name(hidden) {
                return Err(self.refuse(&raw, "bad whiteout name"));
            }
            let parent = self
                .root
                .parent(&rel)
                .map_err(|er| self.os(&raw, "open parent", er))?;
            clear(&parent, hidden, false).map_err(|er| self.os(&raw, "remove", er))?;
            rustix::fs::mknodat(
                &*parent,
                hidden,
                FileType::CharacterDevice,
                Mode::empty(),
                0,
            )
            .map_err(|er| self.os(&raw, "create whiteout", er))?;
            self.root.invalidate(&rel.with_file_name(hidden));
            return Ok(());
        }

        let parent = self
            .root
            .parent(&rel)
            .map_err(|er| self.os(&raw, "open parent", er))?;
        let size = e.size();
        match kind {
            tar::EntryType::Directory => {
                let kept =
                    clear(&parent, &name, true).map_err(|er| self.os(&raw, "replace", er))?;
                if !kept {
                    rustix::fs::mkdirat(&*parent, &*name, Mode::from_raw_mode(0o700))
                        .map_err(|er| self.os(&raw, "mkdir", er))?;
                }
                let fd = rustix::fs::openat(
                    &*parent,
                    &*name,
                    OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|er| self.os(&raw, "open dir", er))?;
                self.set_fd_meta(&fd, &raw, &meta)?;
                self.dirs.push((rel.clone(), meta.mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                if size > self.limits.max_file_size {
                    return Err(self.refuse(
                        &raw,
                        format!(
                            "file size {size} exceeds the limit of {} bytes",
                            self.limits.max_file_size
                        ),
                    ));
                }
                self.total = self.total.saturating_add(size);
                if self.total > self.limits.max_layer_size {
                    return Err(self.refuse(
                        &raw,
                        format!(
                            "layer content exceeds the limit of {} bytes",
                            self.limits.max_layer_size
                        ),
                    ));
                }
                clear(&parent, &name, false).map_err(|er| self.os(&raw, "replace", er))?;
                let fd = rustix::fs::openat(
                    &*parent,
                    &*name,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|er| self.os(&raw, "create file", er))?;
                let mut f = std::fs::File::from(fd);
                write_sparse(e, &mut f, size, &mut self.buf)
                    .map_err(|er| Error::io("write layer file", rel.clone(), er))?;
                let fd = OwnedFd::from(f);
                self.set_fd_meta(&fd, &raw, &meta)?;
                rustix::fs::futimens(&fd, &times(meta.mtime))
                    .map_err(|er| self.os(&raw, "set mtime", er))?;
            }
            tar::EntryType::Symlink => {
                let target = e
                    .link_name()
                    .map_err(|er| Error::io("read link name", &self.layer, er))?
                    .ok_or_else(|| self.refuse(&raw, "symlink without target"))?
                    .into_owned();
                clear(&parent, &name, false).map_err(|er| self.os(&raw, "replace", er))?;
                rustix::fs::symlinkat(target.as_os_str(), &*parent, &*name)
                    .map_err(|er| self.os(&raw, "symlink", er))?;
                rustix::fs::chownat(
                    &*parent,
                    &*name,
                    Some(uid(meta.uid)),
                    Some(gid(meta.gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|er| self.os(&raw, "chown", er))?;
                for (k, v) in &meta.xattrs {
                    fsops::set_xattr_at(&*parent, &name, k, v)
                        .map_err(|er| self.os(&raw, "set xattr", er))?;
                }
                rustix::fs::utimensat(
                    &*parent,
                    &*name,
                    &times(meta.mtime),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|er| self.os(&raw, "set mtime", er))?;
            }
            tar::EntryType::Link => {
                let target = e
                    .link_name()
                    .map_err(|er| Error::io("read link name", &self.layer, er))?
                    .ok_or_else(|| self.refuse(&raw, "hardlink without target"))?
                    .into_owned();
                let trel = match clean_path(&target) {
                    Ok(Some(p)) => p,
                    Ok(None) => return Err(self.refuse(&raw, "hardlink to the layer root")),
                    Err(why) => {
                        return Err(self
                            .refuse(&raw, format!("hardlink target {}: {why}", target.display())))
                    }
                };
                let tname = trel.file_name().unwrap_or_default().to_os_string();
                let tparent = self
                    .root
                    .open_dir(trel.parent().unwrap_or(Path::new("")))
                    .map_err(|er| {
                        self.os(&raw, &format!("hardlink target {}", target.display()), er)
                    })?;
                clear(&parent, &name, false).map_err(|er| self.os(&raw, "replace", er))?;
                rustix::fs::linkat(&tparent, &*tname, &*parent, &*name, AtFlags::empty()).map_err(
                    |er| self.os(&raw, &format!("hardlink to {}", target.display()), er),
                )?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = e.header().device_major().ok().flatten().unwrap_or(0);
                let minor = e.header().device_minor().ok().flatten().unwrap_or(0);
                clear(&parent, &name, false).map_err(|er| self.os(&raw, "replace", er))?;
                rustix::fs::mknodat(
                    &*parent,
                    &*name,
                    ft,
                    Mode::from_raw_mode(meta.mode & 0o777),
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|er| self.os(&raw, "mknod", er))?;
                rustix::fs::chownat(
                    &*parent,
                    &*name,
                    Some(uid(meta.uid)),
                    Some(gid(meta.gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|er| self.os(&raw, "chown", er))?;
                // mknod applied the umask; set the exact mode. The node was
                // just made by us, so the proc path does not follow a link.
                rustix::fs::chmod(
                    fsops::proc_path(&*parent, &name),
                    Mode::from_raw_mode(meta.mode & 0o7777),
                )
                .map_err(|er| self.os(&raw, "chmod", er))?;
                for (k, v) in &meta.xattrs {
                    fsops::set_xattr_at(&*parent, &name, k, v)
                        .map_err(|er| self.os(&raw, "set xattr", er))?;
                }
                rustix::fs::utimensat(
                    &*parent,
                    &*name,
                    &times(meta.mtime),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|er| self.os(&raw, "set mtime", er))?;
            }
            other => {
                return Err(self.refuse(&raw, format!("unsupported tar entry type {other:?}")));
            }
        }
        self.root.invalidate(&rel);
        Ok(())
    }

    fn meta<R: Read>(&self, e: &mut tar::Entry<'_, R>) -> Result<Meta> {
        let h = e.header();
        let mut m = Meta {
            mode: h.mode().unwrap_or(0o644),
            uid: h.uid().unwrap_or(0) as u32,
            gid: h.gid().unwrap_or(0) as u32,
            mtime: Timespec {
                tv_sec: h.mtime().unwrap_or(0) as i64,
                tv_nsec: 0,
            },
            xattrs: Vec::new(),
        };
        if let Ok(Some(pax)) = e.pax_extensions() {
            for ext in pax.flatten() {
                let (Ok(k), v) = (ext.key(), ext.value_bytes()) else {
                    continue;
                };
                let vs = std::str::from_utf8(v).unwrap_or("");
                match k {
                    "uid" => m.uid = vs.parse().unwrap_or(m.uid),
                    "gid" => m.gid = vs.parse().unwrap_or(m.gid),
                    "mtime" => {
                        let (s, ns) = vs.split_once('.').unwrap_or((vs, ""));
                        if let Ok(s) = s.parse::<i64>() {
                            let ns = format!("{ns:0<9}");
                            m.mtime = Timespec {
                                tv_sec: s,
                                tv_nsec: ns[..9].parse().unwrap_or(0),
                            };
                        }
                    }
                    _ => {
                        if let Some(x) = k.strip_prefix("SCHILY.xattr.") {
                            m.xattrs.push((x.as_bytes().to_vec(), v.to_vec()));
                        }
                    }
                }
            }
        }
        Ok(m)
    }

    /// Ownership, mode and xattrs of an open file or directory (chown
    /// first: it clears setuid bits).
    fn set_fd_meta(&self, fd: &OwnedFd, raw: &Path, m: &Meta) -> Result<()> {
        rustix::fs::fchown(fd, Some(uid(m.uid)), Some(gid(m.gid)))
            .map_err(|er| self.os(raw, "chown", er))?;
        rustix::fs::fchmod(fd, Mode::from_raw_mode(m.mode & 0o7777))
            .map_err(|er| self.os(raw, "chmod", er))?;
        for (k, v) in &m.xattrs {
            fsops::set_xattr_fd(fd, k, v).map_err(|er| self.os(raw, "set xattr", er))?;
        }
        Ok(())
    }

    fn finish_dirs(&mut self) -> Result<()> {
        for (rel, mtime) in std::mem::take(&mut self.dirs) {
            // Re-resolve: the directory may have been replaced since.
            let Ok(fd) = self.root.open_dir(&rel) else {
                continue;
            };
            rustix::fs::futimens(&fd, &times(mtime))
                .map_err(|er| self.os(&rel, "set mtime", er))?;
        }
        Ok(())
    }
}

fn uid(u: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(u)
}

fn gid(g: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(g)
}

fn times(t: Timespec) -> Timestamps {
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Copies `size` bytes from `r` to `f`, seeking over all-zero chunks
/// instead of writing them, so holes stay holes.
fn write_sparse(
    r: &mut impl Read,
    f: &mut std::fs::File,
    size: u64,
    buf: &mut [u8],
) -> std::io::Result<()> {
    let mut pos = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        if chunk.iter().all(|&b| b == 0) {
            f.seek(SeekFrom::Current(n as i64))?;
        } else {
            f.write_all(chunk)?;
        }
        pos += n as u64;
    }
    if pos != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("entry announced {size} bytes, got {pos}"),
        ));
    }
    f.set_len(size)
}
