//! docker's events of `exec`: `exec_create: CMD` and `exec_start: CMD`
//! before the process runs, `exec_die` (`exitCode`) once it has ended,
//! each with `execID` and the container's attributes (moby's
//! `ContainerExecCreate`, `ContainerExecStart` and its exit handler). The
//! action carries the command as docker builds it: the entrypoint, a
//! space, the arguments joined by spaces (so `true` alone is `"true "`);
//! consumers match on the `exec_create: `/`exec_start: ` prefixes, and
//! `--filter event=exec_start` takes them all.

use std::path::Path;

use crate::record::ContainerConfig;

/// One exec's events.
pub struct ExecEvents<'a> {
    root: &'a Path,
    config: &'a ContainerConfig,
    exec_id: String,
}

impl<'a> ExecEvents<'a> {
    /// Says `exec_create` and `exec_start` of `cmd`.
    pub fn start(root: &'a Path, config: &'a ContainerConfig, cmd: &[String]) -> Self {
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
        ExecEvents {
            root,
            config,
            exec_id,
        }
    }

    /// Says `exec_die` with `code`.
    pub fn died(&self, code: i32) {
        super::container(
            self.root,
            self.config,
            "exec_die",
            &[
                ("execID", self.exec_id.clone()),
                ("exitCode", code.to_string()),
            ],
        );
    }
}
