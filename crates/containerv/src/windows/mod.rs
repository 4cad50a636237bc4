//! The Windows backend: containers on Job Objects.
//!
//! A container is a job object named `containerv-<id>` (another process
//! can open it by that name while it exists), a directory `<root>\<id>`
//! holding `state.json` and, unless the caller gave one, the container's
//! working directory `work`, and optionally an init process (the spec's
//! command). Processes are created suspended, assigned to the job and only
//! then resumed ([`spawn`]), so no instruction runs outside the job; the
//! job allows no breakaway, so their children stay in it too.
//!
//! ## Spec mapping
//! Like on Linux, every container comes from an OCI [`Spec`]
//! ([`crate::ContainerOptions`] builds one; see [`spec`] for the builder's
//! side):
//! - `windows.resources.memory.limit` → job memory limit (bytes of
//!   committed memory of all processes together);
//! - `windows.resources.cpu.maximum` → CPU rate control hard cap, in
//!   cycles per 10,000 (percent × 100 of all processors);
//! - `process.args`, `process.env`, `process.cwd` → the init (`cwd` "/"
//!   means the working directory);
//! - annotations for what OCI has no field for ([`limits::annotations`]):
//!   - `org.containerv.windows.process-memory`: per-process memory limit;
//!   - `org.containerv.windows.active-processes`: most processes at once;
//!   - `org.containerv.windows.ui-restrictions`: comma list of `desktop`,
//!     `display-settings`, `exit-windows`, `global-atoms`, `handles`,
//!     `read-clipboard`, `write-clipboard`, `system-parameters`, `all`;
//!   - `org.containerv.windows.kill-on-close`: `true` (default) ends every
//!     process when the last job handle closes;
//!   - `org.containerv.windows.working-dir`: a caller's working directory
//!     (kept on destroy).
//!
//! Everything is validated, and the init's program found, before the job
//! or any directory exists; a failed create leaves nothing behind.
//!
//! ## Under Wine 8 (how this is tested on Linux, see `tools/wine/`)
//! Creating, naming, opening, assigning, suspend/resume, kill-on-close,
//! `TerminateJobObject`, process id lists, Toolhelp and
//! `K32GetProcessMemoryInfo` work for real. Limits are accepted but not
//! enforced, CPU rate control and UI restrictions are refused, I/O
//! accounting fails (stats then read I/O as 0) and CPU times and peak
//! memory read 0: tests of those run on real Windows only (CI).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use oci_spec::runtime::Spec;

use crate::config::{CreateConfig, InitKind, StartMode};
use crate::error::{Error, Result};
use crate::options::ContainerOptions;
use crate::process::Stdio;

mod cmdline;
mod container;
mod envblock;
mod fs_copy;
mod job;
pub mod limits;
mod process;
mod procinfo;
mod signal;
mod spawn;
pub mod spec;
mod stats;
mod stdio;
mod sys;

pub use container::Container;
pub use limits::annotations;
pub use process::Process;
pub use spec::WindowsOptions;

use container::{remove_dir_retrying, resolve_cwd, Init, State};
use envblock::EnvBlock;
use job::Job;
use limits::JobLimits;
use spawn::Prepared;

/// Default runtime root.
pub const DEFAULT_ROOT: &str = r"C:\ProgramData\containerv";

/// A directory of containers, each in `<root>\<id>`.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
}

impl Runtime {
    /// Use `root` as the runtime root, creating it if missing.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::io("create runtime root", &root, e))?;
        Ok(Runtime { root })
    }

    /// The runtime root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Create container `id` from the builder's options.
    pub fn create(&self, id: &str, options: &ContainerOptions) -> Result<Container> {
        let (spec, config) = options.build(id)?;
        self.create_from_spec(id, spec, config)
    }

    /// Create container `id` from an OCI spec: the one path every caller takes.
    pub fn create_from_spec(
        &self,
        id: &str,
        spec: Spec,
        config: CreateConfig,
    ) -> Result<Container> {
        crate::id::validate_id(id)?;
        let limits = JobLimits::from_spec(&spec)?;
        if config.overlay.is_some() || config.console_socket.is_some() || config.preserve_fds > 0 {
            return Err(Error::Unsupported(
                "overlay, console socket and preserved fds on Windows".into(),
            ));
        }
        let process = spec.process().as_ref();
        let env = process.and_then(|p| p.env().clone()).unwrap_or_default();
        let dir = self.root.join(id);
        let ann = spec.annotations().clone().unwrap_or_default();
        let (working_dir, owns_working_dir) = match ann.get(annotations::WORKING_DIR) {
            Some(w) => (PathBuf::from(w), false),
            None => (dir.join("work"), true),
        };

        // The init: checked and its program found before anything exists.
        let init = match config.init {
            InitKind::BuiltinReaper => None,
            InitKind::SpecProcess => {
                let args = process
                    .and_then(|p| p.args().clone())
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| Error::InvalidSpec("process.args is empty".into()))?;
                for (name, s) in [
                    ("stdin", &config.stdin),
                    ("stdout", &config.stdout),
                    ("stderr", &config.stderr),
                ] {
                    if matches!(s, Stdio::Pipe) {
                        return Err(Error::option(
                            "init stdio",
                            name,
                            "a pipe has no owner for the init: use Container::spawn",
                        ));
                    }
                }
                let mut block = EnvBlock::from_host();
                block.extend(&env)?;
                let cwd = resolve_cwd(&working_dir, process.map(|p| p.cwd().as_path()));
                // The working directory may not exist yet: check the
                // program against an existing directory now, the cwd later.
                let probe = if cwd.is_dir() {
                    cwd.clone()
                } else {
                    self.root.clone()
                };
                spawn::resolve_program(&args[0], &probe, block.get("PATH").unwrap_or(""))?;
                Some((args, block, cwd))
            }
        };

        self.clear_stale(id, &dir)?;
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::AlreadyExists(id.to_string()),
            _ => Error::io("create container directory", &dir, e),
        })?;
        let made_given_dir = !owns_working_dir && !working_dir.exists();
        let cleanup = |job: Option<&Job>| {
            if let Some(j) = job {
                let _ = j.terminate(container::DESTROY_EXIT_CODE);
            }
            let _ = remove_dir_retrying(&dir);
            if made_given_dir {
                let _ = std::fs::remove_dir_all(&working_dir);
            }
        };

        let job = match Job::create(id) {
            Ok(j) => j,
            Err(e) => {
                cleanup(None);
                return Err(e);
            }
        };
        let rest = (|| -> Result<(State, Option<Init>)> {
            job.apply(&limits)?;
            std::fs::create_dir_all(&working_dir)
                .map_err(|e| Error::io("create working directory", &working_dir, e))?;
            let mut state = State {
                id: id.to_string(),
                working_dir: working_dir.clone(),
                owns_working_dir,
                env: env.clone(),
                init_pid: 0,
            };
            let mut init_proc = None;
            if let Some((args, block, cwd)) = init {
                let prepared = Prepared::new(&args, block, cwd)?;
                let resume = config.start == StartMode::Immediately;
                let io = [config.stdin, config.stdout, config.stderr];
                let s = spawn::spawn_in_job(&job, &prepared, io, resume)?;
                state.init_pid = s.pid;
                if let Some(pf) = &config.pid_file {
                    std::fs::write(pf, s.pid.to_string())
                        .map_err(|e| Error::io("write pid file", pf, e))?;
                }
                init_proc = Some(Init {
                    process: Mutex::new(process::Process::new(s.pid, s.process)),
                    pending: Mutex::new((!resume).then_some(s.thread)),
                });
            }
            write_state(&dir, &state)?;
            Ok((state, init_proc))
        })();
        match rest {
            Ok((state, init)) => Ok(Container {
                state,
                dir,
                job,
                init,
                samples: Default::default(),
            }),
            Err(e) => {
                cleanup(Some(&job));
                Err(e)
            }
        }
    }

    /// Opens container `id`, created by this or another process and still
    /// alive (its job exists).
    pub fn open(&self, id: &str) -> Result<Container> {
        crate::id::validate_id(id)?;
        let job = Job::open(id)?;
        let dir = self.root.join(id);
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ => Error::io("read container state", &path, e),
        })?;
        let state: State = serde_json::from_str(&text)
            .map_err(|e| Error::io("parse container state", &path, std::io::Error::other(e)))?;
        Ok(Container {
            state,
            dir,
            job,
            init: None,
            samples: Default::default(),
        })
    }

    /// A directory left by a container whose job is gone (its last handle
    /// closed without `destroy`) is removed, so the id can be used again.
    fn clear_stale(&self, id: &str, dir: &Path) -> Result<()> {
        if dir.exists() && Job::open(id).is_err() {
            remove_dir_retrying(dir)?;
        }
        Ok(())
    }
}

fn write_state(dir: &Path, state: &State) -> Result<()> {
    let path = dir.join("state.json");
    let tmp = dir.join("state.json.tmp");
    let text = serde_json::to_string_pretty(state)
        .map_err(|e| Error::io("encode container state", &path, std::io::Error::other(e)))?;
    std::fs::write(&tmp, text).map_err(|e| Error::io("write container state", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("write container state", &path, e))
}
