//! Running an OCI runtime CLI (ours or a peer's) for a container that
//! outlives the command: `create`, `run -d`, `exec -d`. Its stdin, stdout
//! and stderr go to /dev/null, because the container's process inherits
//! them: on the test's pipes it would hold them open and a captured run
//! (`Command::output`) would wait for the container to end.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// `bin --root ROOT ARGS...` with stdio on /dev/null; its exit status
/// (panics if it cannot be started).
pub fn run_detached<S: AsRef<OsStr>>(
    bin: impl AsRef<OsStr>,
    root: &Path,
    args: impl IntoIterator<Item = S>,
) -> ExitStatus {
    Command::new(bin.as_ref())
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", bin.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn passes_root_and_args_with_stdio_on_dev_null() {
        let dir = crate::temp_root();
        let out = dir.path().join("out");
        let script = dir.path().join("fake-runtime");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nfds=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2)\n\
                 {{ echo \"$@\"; echo \"$fds\"; }} > {}\nexit 3\n",
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let st = run_detached(&script, Path::new("/r"), ["run", "-d", "c1"]);
        assert_eq!(st.code(), Some(3));
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            got, "--root /r run -d c1\n/dev/null\n/dev/null\n/dev/null\n",
            "{got}"
        );
    }
}
