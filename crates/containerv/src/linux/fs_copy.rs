//! upload / download: copying files into and out of a running container.
//!
//! The container's filesystem is reached through the init's root
//! (`/proc/<pid>/root`, which sees the container's own mounts), and every
//! path inside it is resolved with `openat2(RESOLVE_IN_ROOT)`, so `..` and
//! symlinks (absolute or relative) stay inside the container's root: a
//! hostile symlink never makes a copy read or write outside it.
//!
//! Copies carry regular files (mode and owner kept), directories
//! (recursively) and symlinks (as symlinks, never followed on the container
//! side). Devices, fifos and sockets are refused before anything is written.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode};
use nix::unistd::{fchownat, Gid, Uid, UnlinkatFlags};

use crate::error::{Error, Result};

/// Open the container root `root` (e.g. `/proc/<pid>/root`) as a directory
/// handle that every in-root resolution starts from.
pub(crate) fn open_root(root: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::io("open container root", root, e.into()))
}

/// Open `path` inside the directory `root` as if `root` were `/`:
/// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so `..`, absolute
/// and relative symlinks all stay inside it. `path` may be absolute
/// (taken from the root) or relative; `""` and `"/"` are the root itself.
/// `O_CLOEXEC` is always added.
pub(crate) fn open_in_root(
    root: &impl AsFd,
    path: &Path,
    flags: OFlag,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let rel: std::path::PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel.as_path()
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(nix::sys::stat::Mode::from_bits_truncate(mode))
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut tries = 0;
    loop {
        match nix::fcntl::openat2(root.as_fd(), rel, how) {
            // EAGAIN: a concurrent rename raced the lookup; retry a few times.
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) if tries < 16 => tries += 1,
            r => return r.map_err(Into::into),
        }
    }
}

/// What a copy may carry: regular files, directories and symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
}

fn kind_of(mode: u32, path: &Path) -> Result<Kind> {
    match mode & libc::S_IFMT {
        libc::S_IFREG => Ok(Kind::File),
        libc::S_IFDIR => Ok(Kind::Dir),
        libc::S_IFLNK => Ok(Kind::Symlink),
        _ => Err(Error::io(
            "refusing to copy a device, fifo or socket",
            path,
            io::Error::new(
                io::ErrorKind::Unsupported,
                "not a file, directory or symlink",
            ),
        )),
    }
}

/// The last component of `p` as a plain name (not `.`, `..` or empty).
fn file_name(p: &Path) -> Result<&OsStr> {
    match p.components().next_back() {
        Some(Component::Normal(n)) => Ok(n),
        _ => Err(Error::io(
            "copy: path has no file name",
            p,
            io::Error::from_raw_os_error(libc::EINVAL),
        )),
    }
}

fn fstat(fd: &impl AsFd, path: &Path) -> Result<FileStat> {
    nix::sys::stat::fstat(fd.as_fd()).map_err(|e| Error::io("stat", path, e.into()))
}

/// Every host path under `p` (itself included) must be a file, directory
/// or symlink: checked before anything is written.
fn check_host_tree(p: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(p).map_err(|e| Error::io("stat", p, e))?;
    if kind_of(meta.mode(), p)? == Kind::Dir {
        for e in std::fs::read_dir(p).map_err(|e| Error::io("read directory", p, e))? {
            let e = e.map_err(|e| Error::io("read directory", p, e))?;
            check_host_tree(&e.path())?;
        }
    }
    Ok(())
}

/// Same check inside the container (symlinks not followed).
fn check_root_tree(root: &OwnedFd, p: &Path) -> Result<()> {
    let fd = open_in_root(root, p, OFlag::O_PATH | OFlag::O_NOFOLLOW, 0)
        .map_err(|e| Error::io("open in container", p, e))?;
    if kind_of(fstat(&fd, p)?.st_mode, p)? == Kind::Dir {
        for name in list_dir(root, p)? {
            check_root_tree(root, &p.join(name))?;
        }
    }
    Ok(())
}

/// Entry names of directory `p` inside the root (no `.`/`..`).
fn list_dir(root: &OwnedFd, p: &Path) -> Result<Vec<OsString>> {
    let fd = open_in_root(
        root,
        p,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        0,
    )
    .map_err(|e| Error::io("open directory in container", p, e))?;
    let mut dir =
        nix::dir::Dir::from_fd(fd).map_err(|e| Error::io("read directory", p, e.into()))?;
    let mut names = Vec::new();
    for e in dir.iter() {
        let e = e.map_err(|e| Error::io("read directory", p, e.into()))?;
        let n = OsStr::from_bytes(e.file_name().to_bytes());
        if n != "." && n != ".." {
            names.push(n.to_os_string());
        }
    }
    Ok(names)
}

/// Open directory `p` inside the root, creating it and any missing parent
/// (mode 0755) one component at a time, each created with `mkdirat` in its
/// parent as resolved inside the root.
fn mkdir_p_in_root(root: &OwnedFd, p: &Path) -> Result<OwnedFd> {
    let open = |p: &Path| open_in_root(root, p, OFlag::O_PATH | OFlag::O_DIRECTORY, 0);
    let mut cur = PathBuf::from("/");
    let mut fd = open(&cur).map_err(|e| Error::io("open container root", &cur, e))?;
    for c in p.components() {
        let name = match c {
            Component::Normal(n) => n,
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
            Component::ParentDir => {
                cur.pop();
                fd = open(&cur).map_err(|e| Error::io("open in container", &cur, e))?;
                continue;
            }
        };
        cur.push(name);
        match nix::sys::stat::mkdirat(&fd, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(Error::io("create directory in container", &cur, e.into())),
        }
        fd = open(&cur).map_err(|e| Error::io("open directory in container", &cur, e))?;
    }
    Ok(fd)
}

/// Copy host file or directory `host_src` to `dest` inside the root `root`.
///
/// `dest` names the copy; when it is an existing directory the copy goes
/// inside it under the source's name (like `cp`). Missing parents are
/// created. Files keep their mode and owner; symlinks are copied as
/// symlinks; a device, fifo or socket anywhere in the source is refused
/// before anything is written. Every container path is resolved inside
/// the root, so no symlink there can send a write outside it.
pub(crate) fn upload(root: &Path, host_src: &Path, dest: &Path) -> Result<()> {
    let root = open_root(root)?;
    check_host_tree(host_src)?;
    let mut target = dest.to_path_buf();
    if let Ok(fd) = open_in_root(&root, dest, OFlag::O_PATH, 0) {
        if fstat(&fd, dest)?.st_mode & libc::S_IFMT == libc::S_IFDIR {
            target.push(file_name(host_src)?);
        }
    }
    let parent = target.parent().unwrap_or(Path::new("/"));
    mkdir_p_in_root(&root, parent)?;
    upload_entry(&root, host_src, &target)
}

fn upload_entry(root: &OwnedFd, src: &Path, dest: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(src).map_err(|e| Error::io("stat", src, e))?;
    let name = file_name(dest)?;
    let parent_path = dest.parent().unwrap_or(Path::new("/"));
    let parent = open_in_root(root, parent_path, OFlag::O_PATH | OFlag::O_DIRECTORY, 0)
        .map_err(|e| Error::io("open directory in container", parent_path, e))?;
    match kind_of(meta.mode(), src)? {
        Kind::Symlink => {
            let text = std::fs::read_link(src).map_err(|e| Error::io("read symlink", src, e))?;
            let make = || nix::unistd::symlinkat(text.as_path(), &parent, name);
            let made = match make() {
                // Replace a file or link (never a directory) of that name.
                Err(nix::errno::Errno::EEXIST) => {
                    let _ = nix::unistd::unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir);
                    make()
                }
                r => r,
            };
            made.map_err(|e| Error::io("create symlink in container", dest, e.into()))?;
            fchownat(
                &parent,
                name,
                Some(Uid::from_raw(meta.uid())),
                Some(Gid::from_raw(meta.gid())),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| Error::io("chown in container", dest, e.into()))?;
        }
        Kind::File => {
            let mut from = File::open(src).map_err(|e| Error::io("open", src, e))?;
            // Resolved in the root: a symlink named `dest` is followed, but
            // only inside the container.
            let fd = open_in_root(
                root,
                dest,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC,
                0o600,
            )
            .map_err(|e| Error::io("create in container", dest, e))?;
            let mut to = File::from(fd);
            io::copy(&mut from, &mut to).map_err(|e| Error::io("write in container", dest, e))?;
            set_owner_mode(&to, &meta, dest)?;
        }
        Kind::Dir => {
            match nix::sys::stat::mkdirat(&parent, name, Mode::from_bits_truncate(0o700)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(Error::io("create directory in container", dest, e.into())),
            }
            for e in std::fs::read_dir(src).map_err(|e| Error::io("read directory", src, e))? {
                let e = e.map_err(|e| Error::io("read directory", src, e))?;
                upload_entry(root, &e.path(), &dest.join(e.file_name()))?;
            }
            let dir = open_in_root(root, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
                .map_err(|e| Error::io("open directory in container", dest, e))?;
            set_owner_mode(&File::from(dir), &meta, dest)?;
        }
    }
    Ok(())
}

fn set_owner_mode(f: &File, meta: &std::fs::Metadata, path: &Path) -> Result<()> {
    fchown(f, Some(meta.uid()), Some(meta.gid())).map_err(|e| Error::io("chown", path, e))?;
    f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(|e| Error::io("chmod", path, e))
}

/// Copy `src` inside the root `root` to host path `host_dest`.
///
/// `host_dest` names the copy; when it is an existing directory the copy
/// goes inside it under the source's name. Container paths are resolved
/// inside the root and the source itself is never followed when it is a
/// symlink (it is copied as one), so nothing outside the container is
/// ever read. Devices, fifos and sockets are refused before anything is
/// written.
pub(crate) fn download(root: &Path, src: &Path, host_dest: &Path) -> Result<()> {
    let root = open_root(root)?;
    check_root_tree(&root, src)?;
    let mut target = host_dest.to_path_buf();
    if target.is_dir() {
        target.push(file_name(src)?);
    }
    download_entry(&root, src, &target)
}

fn download_entry(root: &OwnedFd, src: &Path, dest: &Path) -> Result<()> {
    let fd = open_in_root(root, src, OFlag::O_PATH | OFlag::O_NOFOLLOW, 0)
        .map_err(|e| Error::io("open in container", src, e))?;
    let st = fstat(&fd, src)?;
    match kind_of(st.st_mode, src)? {
        Kind::Symlink => {
            let text = nix::fcntl::readlinkat(&fd, "")
                .map_err(|e| Error::io("read symlink in container", src, e.into()))?;
            if dest.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                let _ = std::fs::remove_file(dest);
            }
            std::os::unix::fs::symlink(&text, dest)
                .map_err(|e| Error::io("create symlink", dest, e))?;
            std::os::unix::fs::lchown(dest, Some(st.st_uid), Some(st.st_gid))
                .map_err(|e| Error::io("chown", dest, e))?;
        }
        Kind::File => {
            let from = open_in_root(root, src, OFlag::O_RDONLY | OFlag::O_NOFOLLOW, 0)
                .map_err(|e| Error::io("open in container", src, e))?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dest)
                .map_err(|e| Error::io("create", dest, e))?;
            io::copy(&mut File::from(from), &mut to).map_err(|e| Error::io("write", dest, e))?;
            fchown(&to, Some(st.st_uid), Some(st.st_gid))
                .map_err(|e| Error::io("chown", dest, e))?;
            to.set_permissions(std::fs::Permissions::from_mode(st.st_mode & 0o7777))
                .map_err(|e| Error::io("chmod", dest, e))?;
        }
        Kind::Dir => {
            match std::fs::create_dir(dest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dest.is_dir() => {}
                Err(e) => return Err(Error::io("create directory", dest, e)),
            }
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("chmod", dest, e))?;
            for name in list_dir(root, src)? {
                download_entry(root, &src.join(&name), &dest.join(&name))?;
            }
            std::os::unix::fs::chown(dest, Some(st.st_uid), Some(st.st_gid))
                .map_err(|e| Error::io("chown", dest, e))?;
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(st.st_mode & 0o7777))
                .map_err(|e| Error::io("chmod", dest, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Resolution and copies on a plain directory standing in for a
    //! container root (no container needed). The through-a-container tests
    //! are in `tests/copy_*.rs`.

    use super::*;
    use containerv_testutil::tree::assert_same_tree;
    use std::os::unix::fs::symlink;

    /// base/root (the "container"), base/host (outside it, with a secret).
    struct Layout {
        _base: tempfile::TempDir,
        root: PathBuf,
        host: PathBuf,
        out: PathBuf,
    }

    fn layout() -> Layout {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("root");
        let host = base.path().join("host");
        let out = base.path().join("out");
        for d in [&root.join("tmp"), &root.join("etc"), &host, &out] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(host.join("secret"), "host secret").unwrap();
        std::fs::write(root.join("etc/passwd"), "container passwd").unwrap();
        // The host dir's path also exists inside the root (a decoy), so
        // the absolute links below resolve there when handled right.
        let mirror = root.join(host.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&mirror).unwrap();
        std::fs::write(mirror.join("secret"), "inside secret").unwrap();
        // Hostile links: absolute to the host dir, relative climbing out.
        symlink(&host, root.join("tmp/evil")).unwrap();
        symlink("../../../../../../../..", root.join("tmp/up")).unwrap();
        symlink(host.join("secret"), root.join("tmp/leak")).unwrap();
        Layout {
            _base: base,
            root,
            host,
            out,
        }
    }

    fn host_untouched(l: &Layout) {
        let names: Vec<_> = std::fs::read_dir(&l.host)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"], "something was written outside the root");
        assert_eq!(
            std::fs::read_to_string(l.host.join("secret")).unwrap(),
            "host secret"
        );
    }

    /// A small tree: nested dirs, modes, a binary file, a symlink.
    fn make_tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("top.txt"), "top\n").unwrap();
        let bin: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("a/b/data.bin"), bin).unwrap();
        std::fs::write(dir.join("a/run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("a/run.sh"), PermissionsExt::from_mode(0o751)).unwrap();
        symlink("../top.txt", dir.join("a/link")).unwrap();
        std::os::unix::fs::chown(dir.join("top.txt"), Some(1000), Some(1000)).unwrap();
    }

    #[test]
    fn round_trip_file_and_tree() {
        let l = layout();
        let src = l.out.join("src");
        make_tree(&src);
        upload(&l.root, &src, Path::new("/data/copy")).unwrap();
        assert_same_tree(&src, &l.root.join("data/copy"));
        download(&l.root, Path::new("/data/copy"), &l.out.join("back")).unwrap();
        assert_same_tree(&src, &l.out.join("back"));
        // A single file, into an existing directory (keeps its name).
        upload(&l.root, &src.join("top.txt"), Path::new("/tmp")).unwrap();
        assert_same_tree(&src.join("top.txt"), &l.root.join("tmp/top.txt"));
        download(&l.root, Path::new("/etc/passwd"), &l.out).unwrap();
        assert_eq!(
            std::fs::read_to_string(l.out.join("passwd")).unwrap(),
            "container passwd"
        );
        host_untouched(&l);
    }

    #[test]
    fn upload_never_writes_outside() {
        let l = layout();
        let f = l.out.join("payload");
        std::fs::write(&f, "payload").unwrap();
        // A symlink as a path component: absolute and relative. (A broken
        // resolver would write into the temporary `host` dir, never a
        // system path.)
        upload(&l.root, &f, Path::new("/tmp/evil/x")).unwrap();
        upload(&l.root, &f, Path::new("/tmp/up/y")).unwrap();
        upload(&l.root, &f, Path::new("/tmp/up/host/z")).unwrap();
        upload(&l.root, &f, Path::new("/../../../host/w")).unwrap();
        // A symlink as the destination itself.
        upload(&l.root, &f, Path::new("/tmp/leak")).unwrap();
        host_untouched(&l);
        // All landed inside the root.
        let mirror = l.host.strip_prefix("/").unwrap();
        let read = |p: &Path| std::fs::read_to_string(l.root.join(p)).unwrap();
        assert_eq!(read(&mirror.join("x")), "payload");
        assert_eq!(read(&mirror.join("secret")), "payload");
        assert_eq!(read(Path::new("y")), "payload");
        assert_eq!(read(Path::new("host/z")), "payload");
        assert_eq!(read(Path::new("host/w")), "payload");
    }

    #[test]
    fn download_never_reads_outside() {
        let l = layout();
        // The source is a symlink: copied as a symlink, not followed.
        download(&l.root, Path::new("/tmp/leak"), &l.out.join("leak")).unwrap();
        let m = l.out.join("leak").symlink_metadata().unwrap();
        assert!(m.file_type().is_symlink());
        // Symlinks as path components resolve inside the root: the decoy
        // inside, or nothing.
        download(&l.root, Path::new("/tmp/evil/secret"), &l.out.join("s")).unwrap();
        assert_eq!(
            std::fs::read_to_string(l.out.join("s")).unwrap(),
            "inside secret"
        );
        for p in ["/tmp/up/host/secret", "/../host/secret"] {
            let e = download(&l.root, Path::new(p), &l.out.join("got")).unwrap_err();
            assert!(e.to_string().contains("No such file"), "{p}: {e}");
            assert!(!l.out.join("got").exists(), "{p}");
        }
        // Through `up` to the container's own /etc.
        download(&l.root, Path::new("/tmp/up/etc/passwd"), &l.out.join("p")).unwrap();
        assert_eq!(
            std::fs::read_to_string(l.out.join("p")).unwrap(),
            "container passwd"
        );
    }

    #[test]
    fn special_files_are_refused_before_writing() {
        let l = layout();
        let src = l.out.join("src");
        make_tree(&src);
        nix::unistd::mkfifo(&src.join("a/fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        let e = upload(&l.root, &src, Path::new("/data"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a/fifo") && e.contains("refusing"), "{e}");
        assert!(!l.root.join("data").exists());
        nix::unistd::mkfifo(&l.root.join("tmp/fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        let e = download(&l.root, Path::new("/tmp"), &l.out.join("t"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/tmp/fifo") && e.contains("refusing"), "{e}");
        assert!(!l.out.join("t").exists());
    }

    #[test]
    fn missing_paths_are_named() {
        let l = layout();
        let e = upload(&l.root, &l.out.join("nope"), Path::new("/x")).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = download(&l.root, Path::new("/nope"), &l.out.join("x")).unwrap_err();
        assert!(e.to_string().contains("/nope"), "{e}");
        let e = download(Path::new("/nonexistent-root"), Path::new("/etc"), &l.out).unwrap_err();
        assert!(e.to_string().contains("/nonexistent-root"), "{e}");
    }
}
