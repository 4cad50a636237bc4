//! docker's events of `exec` (and of each health probe, which docker runs
//! as an exec): `exec_create: CMD` and `exec_start: CMD` before the
//! process runs, `exec_die` (`exitCode`) once it has ended, each with
//! `execID` and the container's attributes (moby's `ContainerExecCreate`,
//! `ContainerExecStart` and its exit handler; `cmdProbe.run`). The action
//! carries the command as docker builds it: the entrypoint, a space, the
//! arguments joined by spaces (so `true` alone is `"true "`); consumers
//! match on the `exec_create: `/`exec_start: ` prefixes, and `--filter
//! event=exec_start` takes them all. A process that could not be started
//! has no `exec_die` (no exit to report, as in docker).

use std::path::Path;

use crate::record::ContainerConfig;

/// One exec's events.
pub struct ExecEvents {
    exec_id: String,
}

impl ExecEvents {
    /// Says `exec_create` and `exec_start` of `cmd`.
    pub fn start(root: &Path, config: &ContainerConfig, cmd: &[String]) -> Self {
        let exec_id = crate::store::Store::new_id().unwrap_or_default();
        let (entry, args) = cmd
            .split_first()
            .map_or(("", &[][..]), |(e, a)| (e.as_str(), a));
        let shown = format!("{entry} {}", args.join(" "));
        for what in ["exec_create", "exec_start"] {
            super::container(
                root,
                config,
                &format!("{what}: {shown}"),
                &[("execID", exec_id.clone())],
            );
        }
        ExecEvents { exec_id }
    }

    /// Says `exec_die` with `code`.
    pub fn died(&self, root: &Path, config: &ContainerConfig, code: i32) {
        super::container(
            root,
            config,
            "exec_die",
            &[
                ("execID", self.exec_id.clone()),
                ("exitCode", code.to_string()),
            ],
        );
    }
}
