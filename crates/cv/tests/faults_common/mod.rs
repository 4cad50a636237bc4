//! Helpers of the fault-injection tests (`faults_*.rs`): a small tmpfs as
//! the engine root, filling it, kill -9, and the no-leftover check scoped
//! to one test's engine root.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{monitors_of, Cv};

/// A tmpfs of `size` mounted on `path` (made if missing), unmounted on
/// drop (lazily: a straggler cannot keep it busy).
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let c = |s: &str| CString::new(s).unwrap();
        let target = c(path.to_str().unwrap());
        let data = c(&format!("size={size},mode=0755"));
        // SAFETY: mount(2) with valid C strings.
        let r = unsafe {
            libc::mount(
                c("tmpfs").as_ptr(),
                target.as_ptr(),
                c("tmpfs").as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        assert_eq!(r, 0, "mount tmpfs: {}", std::io::Error::last_os_error());
        Tmpfs {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let t = CString::new(self.path.to_str().unwrap()).unwrap();
        // SAFETY: umount2(2) of the mount we made.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Free bytes for an unprivileged writer... and for root (tmpfs has no
/// reserve): `f_bavail * f_bsize`.
pub fn free_bytes(path: &Path) -> u64 {
    let p = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: statvfs into a zeroed struct.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::statvfs(p.as_ptr(), &mut s) }, 0);
    s.f_bavail * s.f_bsize
}

/// Fills the filesystem of `dir` to the last byte (appending to
/// `dir/filler`); returns once a write fails with ENOSPC.
pub fn fill(dir: &Path) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .unwrap();
    for chunk in [1 << 20, 4096, 1] {
        let buf = vec![0u8; chunk];
        loop {
            match f.write(&buf) {
                Ok(n) if n > 0 => {}
                Ok(_) => break,
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                    break;
                }
            }
        }
    }
    assert_eq!(
        free_bytes(dir),
        0,
        "the filesystem of {} is not full",
        dir.display()
    );
}

pub fn kill9(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) of a process the test identified.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The host pid of the container's init (0 if not running).
pub fn init_pid(cv: &Cv, c: &str) -> i32 {
    cv.inspect(c, "{{.State.Pid}}").parse().unwrap_or(0)
}

/// Waits (bounded) until `pid` is gone.
pub fn wait_gone(pid: i32, limit: Duration) {
    let end = Instant::now() + limit;
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < end {
        // A zombie of ours? Reap it (no-op otherwise).
        // SAFETY: waitpid with WNOHANG.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Nothing of this test's engine is left: each id is gone (record, core
/// state, cgroup, mount, processes, monitor), the store has no container
/// directory (dot-directories included), no name, no core state, and no
/// process or mount mentions the engine root.
pub fn assert_nothing_left(cv: &Cv, ids: &[String]) {
    for id in ids {
        cv.assert_gone(id);
        assert!(monitors_of(id).is_empty());
    }
    let root = cv.engine_root();
    let entries = |d: &str| -> Vec<String> {
        std::fs::read_dir(root.join(d))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // A monitor finishing a `--rm` may still be deleting its `.rm-<id>`.
    let end = Instant::now() + Duration::from_secs(3);
    while !entries("containers").is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        entries("containers"),
        Vec::<String>::new(),
        "container dirs left"
    );
    assert_eq!(entries("names"), Vec::<String>::new(), "names left");
    let runtime: Vec<String> = entries("runtime");
    assert_eq!(runtime, Vec::<String>::new(), "core states left");
    // No network lease names one of them.
    for e in std::fs::read_dir(root.join("networks"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for id in ids {
            assert!(
                !text.contains(id.as_str()),
                "{} still names {id}",
                e.path().display()
            );
        }
    }
    let root_s = root.to_string_lossy().into_owned();
    let end = Instant::now() + Duration::from_secs(3);
    let mut procs = cmdlines_mentioning(&root_s);
    while !procs.is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        procs = cmdlines_mentioning(&root_s);
    }
    assert!(procs.is_empty(), "processes of {root_s} left: {procs:?}");
    let mounts: Vec<String> = containerv_testutil::mounts_mentioning(&root_s)
        .into_iter()
        // The test's own tmpfs (if any) is the engine root itself.
        .filter(|m| !m.contains(&format!(" {root_s} ")))
        .collect();
    assert!(mounts.is_empty(), "mounts under {root_s} left: {mounts:?}");
}

/// Pids (not zombies) whose command line mentions `needle` (monitors get
/// the engine root as an argument).
pub fn cmdlines_mentioning(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(needle) {
            out.push(pid);
        }
    }
    out
}
