//! Small file helpers for cgroup control files.
//!
//! Every error names the control file and carries the OS error, so a refused
//! limit reads as e.g. `cgroup /sys/fs/cgroup/memory/x/memory.limit_in_bytes:
//! write "1": Device or resource busy`. Reads go through a caller-owned buffer
//! so sampling does not allocate per file.

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An [`Error::Cgroup`] for `path`.
pub(crate) fn cg_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Cgroup {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Writes `value` to the control file `dir/name` in one `write(2)`.
pub(crate) fn write(dir: &Path, name: &str, value: &str) -> Result<()> {
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| cg_err(&path, format!("open for writing: {e}")))?;
    f.write_all(value.as_bytes())
        .map_err(|e| cg_err(&path, format!("write {value:?}: {e}")))
}

/// Reads the control file `dir/name` into `buf` (cleared first).
pub(crate) fn read_into(dir: &Path, name: &str, buf: &mut String) -> Result<()> {
    let path = dir.join(name);
    buf.clear();
    File::open(&path)
        .and_then(|mut f| f.read_to_string(buf))
        .map_err(|e| cg_err(&path, format!("read: {e}")))?;
    Ok(())
}

/// Reads `dir/name` into `buf`; `Ok(false)` when the file does not exist
/// (a controller this hierarchy or kernel lacks).
pub(crate) fn read_opt(dir: &Path, name: &str, buf: &mut String) -> Result<bool> {
    let path = dir.join(name);
    buf.clear();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_string(buf)
                .map_err(|e| cg_err(&path, format!("read: {e}")))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(cg_err(&path, format!("read: {e}"))),
    }
}

/// The value of `key` in a flat-keyed file ("key value" per line).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_ascii_whitespace();
        (it.next() == Some(key))
            .then(|| it.next())
            .flatten()
            .and_then(|v| v.parse().ok())
    })
}

/// Number of non-empty lines (pids in `cgroup.procs`).
pub(crate) fn count_lines(text: &str) -> u64 {
    text.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

/// Parses the pids of a `cgroup.procs` file.
pub(crate) fn parse_pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// `mkdir` of one cgroup directory; `Ok(false)` when it already existed.
pub(crate) fn mkdir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(cg_err(path, format!("mkdir: {e}"))),
    }
}

/// Removes cgroup directories (deepest last in `dirs`, so removed in
/// reverse), retrying briefly on EBUSY: a killed task can take a moment to
/// leave. A missing directory counts as removed.
pub(crate) fn rmdir_all(dirs: &[PathBuf]) -> Result<()> {
    let mut first_err = None;
    for d in dirs.iter().rev() {
        if let Err(e) = rmdir_retry(d) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn rmdir_retry(dir: &Path) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..12 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(cg_err(dir, format!("rmdir: {e}"))),
        }
    }
    Err(cg_err(
        dir,
        "rmdir: still busy after ~1 s (processes left in the cgroup?)",
    ))
}

/// Polls `done` every few ms for at most `timeout`.
pub(crate) fn wait_until(
    timeout: std::time::Duration,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<bool> {
    let start = std::time::Instant::now();
    let mut delay = std::time::Duration::from_micros(200);
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(std::time::Duration::from_millis(20));
    }
}

/// Reads control files through descriptors kept open after the first
/// read: one `pread(2)` per file per sample instead of open + read +
/// close (path lookups dominate the cost of sampling; see BENCHMARKS.md).
/// Files are keyed by name, which is unique within one container's cgroup
/// (each v1 file name belongs to one hierarchy). A missing file is
/// remembered as missing.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    files: Vec<(&'static str, Option<File>)>,
    /// Directories of [`Reader::fresh`] reads, opened (`O_PATH`) once:
    /// a fresh open is then a lookup of one name, not of the whole path.
    dirs: Vec<(PathBuf, OwnedFd)>,
    data: Vec<u8>,
}

impl Reader {
    /// The text of `dir/name`, `None` when the file does not exist.
    pub fn opt(&mut self, dir: &Path, name: &'static str) -> Result<Option<&str>> {
        // Names are literals: the same address, as a rule, is the same
        // name (compared by content only when it is not).
        let idx = match self
            .files
            .iter()
            .position(|(n, _)| std::ptr::eq(*n, name))
            .or_else(|| self.files.iter().position(|(n, _)| *n == name))
        {
            Some(i) => i,
            None => {
                let path = dir.join(name);
                let f = match File::open(&path) {
                    Ok(f) => Some(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(cg_err(&path, format!("open: {e}"))),
                };
                self.files.push((name, f));
                self.files.len() - 1
            }
        };
        let Some(f) = &self.files[idx].1 else {
            return Ok(None);
        };
        read_seq(f, &mut self.data).map_err(|e| cg_err(&dir.join(name), format!("read: {e}")))?;
        Ok(Some(std::str::from_utf8(&self.data).unwrap_or("")))
    }

    /// The text of `dir/name` read through a fresh descriptor. For
    /// `cgroup.procs` and `tasks`: on cgroup v1 an open descriptor keeps
    /// serving the pid list built at its first read for as long as it is
    /// re-read, so a kept one would never see processes leave.
    pub fn fresh(&mut self, dir: &Path, name: &CStr) -> Result<&str> {
        let path = || dir.join(name.to_str().unwrap_or_default());
        let at = match self.dirs.iter().position(|(d, _)| d == dir) {
            Some(i) => self.dirs[i].1.as_raw_fd(),
            None => {
                let d = open_dir(dir).map_err(|e| cg_err(dir, format!("open: {e}")))?;
                let fd = d.as_raw_fd();
                self.dirs.push((dir.to_path_buf(), d));
                fd
            }
        };
        // SAFETY: openat(2) relative to a directory descriptor we own, with
        // a NUL-terminated name; the result is checked.
        let fd = unsafe { libc::openat(at, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(cg_err(&path(), format!("read: {e}")));
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let f = unsafe { File::from_raw_fd(fd) };
        read_seq(&f, &mut self.data).map_err(|e| cg_err(&path(), format!("read: {e}")))?;
        Ok(std::str::from_utf8(&self.data).unwrap_or(""))
    }

    /// Like [`Self::opt`], an error when the file is missing.
    pub fn text(&mut self, dir: &Path, name: &'static str) -> Result<&str> {
        self.opt(dir, name)?
            .ok_or_else(|| cg_err(&dir.join(name), "read: no such file"))
    }

    /// A file holding one number ("max" reads as `u64::MAX`); 0 when missing.
    pub fn u64(&mut self, dir: &Path, name: &'static str) -> Result<u64> {
        let Some(s) = self.opt(dir, name)? else {
            return Ok(0);
        };
        let s = s.trim();
        if s == "max" {
            return Ok(u64::MAX);
        }
        s.parse()
            .map_err(|_| cg_err(&dir.join(name), format!("not a number: {s:?}")))
    }
}

/// An `O_PATH` descriptor of directory `dir` (for `openat`).
fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    Ok(f.into())
}

/// Reads a kernfs/proc seq file (any file) from its start into `data`
/// (cleared) with as few `pread(2)` calls as possible: a seq file fills the
/// buffer unless it reached the end, so a short read is the end. Serves a
/// descriptor kept open and re-read every sample as well as a fresh one.
/// (`read_to_end` would add a `statx`, an `lseek` and a final empty read
/// per file, which doubles the cost of sampling.) On an error `data`
/// holds what was read before it.
pub(crate) fn read_seq(f: &File, data: &mut Vec<u8>) -> std::io::Result<()> {
    data.clear();
    loop {
        let len = data.len();
        if data.capacity() - len < 1024 {
            data.reserve(4096);
        }
        // Into the spare capacity: no zero-filling of a page per read.
        let spare = data.spare_capacity_mut();
        let want = spare.len();
        // SAFETY: pread(2) writes at most `want` bytes into the spare
        // capacity of `data`, which is valid for writes of that many.
        let n = unsafe {
            libc::pread(
                f.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                want,
                len as libc::off_t,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let n = n as usize;
        // SAFETY: the kernel initialised the `n` bytes after `len`.
        unsafe { data.set_len(len + n) };
        if n < want {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_seq_reads_whole_files_again_and_again() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 1023, 4096, 5000, 70_000] {
            let path = dir.path().join(format!("f{size}"));
            let want: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &want).unwrap();
            let f = File::open(&path).unwrap();
            let mut data = b"stale".to_vec();
            for _ in 0..2 {
                read_seq(&f, &mut data).unwrap();
                assert_eq!(data.len(), size);
                assert!(data == want, "size {size}");
            }
        }
    }

    #[test]
    fn read_seq_rereads_a_kept_proc_file() {
        // A kept descriptor on a seq file sees the current text each time.
        let f = File::open("/proc/self/status").unwrap();
        let mut data = Vec::new();
        for _ in 0..3 {
            read_seq(&f, &mut data).unwrap();
            let text = std::str::from_utf8(&data).unwrap();
            assert!(
                text.starts_with("Name:") && text.contains("\nPid:"),
                "{text}"
            );
        }
    }

    #[test]
    fn read_seq_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::open(dir.path()).unwrap();
        let mut data = vec![1, 2, 3];
        assert!(read_seq(&f, &mut data).is_err());
        assert!(data.is_empty());
    }
}
