//! A clap-free parser for the commands container managers call all the
//! time (create, start, run, state, kill, delete, pause, resume, list).
//!
//! Why: building clap's command tree costs this short-lived process about
//! 1 MB of peak RSS, a third of the whole, and the OCI runtime is started
//! for every container operation (the issue's target is crun's ~3.4 MB).
//! Anything this parser does not fully understand — another command, an
//! unknown flag, a missing value, `--help` — returns `None` and the full
//! clap parser in [`crate::cli`] takes over, so help and error messages
//! stay clap's. Both produce the same [`Cli`] value.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{Cli, Command, CreateArgs, Format, LogFormat, RunArgs};

/// Parse `args` (without argv[0]); `None` means "let clap do it".
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let mut it = Args::new(args)?;
    let mut cli = Cli {
        root: PathBuf::from(containerv::linux::DEFAULT_ROOT),
        log: None,
        log_format: LogFormat::Text,
        debug: false,
        systemd_cgroup: false,
        rootless: None,
        criu: None,
        version: false,
        command: None,
    };
    // Global flags, before the command.
    let cmd = loop {
        let a = it.next()?;
        if !global(&mut cli, &a, &mut it)? {
            break a;
        }
    };
    let mut flags = Flags::default();
    let mut pos: Vec<String> = Vec::new();
    while let Some(a) = it.next() {
        if a == "--" || !a.starts_with('-') || a.len() == 1 {
            pos.push(a);
            continue;
        }
        // Global flags may also follow the command (clap's `global`).
        if global(&mut cli, &a, &mut it)? {
            continue;
        }
        flags.take(&cmd, &a, &mut it)?;
    }
    cli.command = Some(match (cmd.as_str(), pos.as_slice()) {
        ("create", [id]) if flags.run_only() => Command::Create(flags.create(id)?),
        ("run", [id]) => Command::Run(RunArgs {
            detach: flags.detach,
            keep: flags.keep,
            no_subreaper: flags.no_subreaper,
            create: flags.create(id)?,
        }),
        ("start", [id]) if flags.none() => Command::Start { id: id.clone() },
        ("state", [id]) if flags.none() => Command::State { id: id.clone() },
        ("pause", [id]) if flags.none() => Command::Pause { id: id.clone() },
        ("resume", [id]) if flags.none() => Command::Resume { id: id.clone() },
        ("kill", [id]) | ("kill", [id, _]) if flags.only_all() => Command::Kill {
            all: flags.all,
            id: id.clone(),
            signal: pos.get(1).cloned().unwrap_or_else(|| "SIGTERM".into()),
        },
        ("delete", [id]) if flags.only_force() => Command::Delete {
            force: flags.force,
            id: id.clone(),
        },
        ("list" | "ls", []) if flags.only_list() => Command::List {
            format: flags.format.unwrap_or(Format::Table),
            quiet: flags.quiet,
        },
        _ => return None,
    });
    Some(cli)
}

/// UTF-8 arguments with `--flag=value` split in two.
struct Args {
    items: std::vec::IntoIter<String>,
    pending: Option<String>,
}

impl Args {
    fn new(args: &[OsString]) -> Option<Args> {
        let v: Option<Vec<String>> = args.iter().map(|a| a.to_str().map(String::from)).collect();
        Some(Args {
            items: v?.into_iter(),
            pending: None,
        })
    }

    fn next(&mut self) -> Option<String> {
        if let Some(p) = self.pending.take() {
            // A `=value` that nobody consumed: not a flag this parser knows.
            return Some(format!("\u{0}{p}"));
        }
        let a = self.items.next()?;
        if let (true, Some((k, v))) = (a.starts_with("--"), a.split_once('=')) {
            self.pending = Some(v.to_string());
            return Some(k.to_string());
        }
        Some(a)
    }

    /// The value of the flag just read.
    fn value(&mut self) -> Option<String> {
        match self.pending.take() {
            Some(v) => Some(v),
            None => self.items.next(),
        }
    }

    /// A flag without a value must not have had `=value`.
    fn no_value(&mut self) -> Option<()> {
        self.pending.is_none().then_some(())
    }
}

/// Consume a global flag; `Some(false)` if `a` is not one, `None` on error.
fn global(cli: &mut Cli, a: &str, it: &mut Args) -> Option<bool> {
    match a {
        "--root" => cli.root = PathBuf::from(it.value()?),
        "--log" => cli.log = Some(PathBuf::from(it.value()?)),
        "--log-format" => {
            cli.log_format = match it.value()?.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return None,
            }
        }
        "--criu" => cli.criu = Some(it.value()?),
        "--debug" => {
            it.no_value()?;
            cli.debug = true
        }
        "--systemd-cgroup" => {
            it.no_value()?;
            cli.systemd_cgroup = true
        }
        // Its value is optional: only the `=` form is unambiguous here.
        "--rootless" => cli.rootless = Some(it.pending.take()?),
        _ => return Some(false),
    }
    Some(true)
}

#[derive(Default)]
struct Flags {
    bundle: Option<PathBuf>,
    console_socket: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    no_pivot: bool,
    no_new_keyring: bool,
    preserve_fds: u32,
    detach: bool,
    keep: bool,
    no_subreaper: bool,
    all: bool,
    force: bool,
    quiet: bool,
    format: Option<Format>,
    /// Which flags were seen (to check they fit the command).
    seen: Vec<&'static str>,
}

impl Flags {
    fn take(&mut self, cmd: &str, a: &str, it: &mut Args) -> Option<()> {
        let name: &'static str = match (cmd, a) {
            ("create" | "run", "-b" | "--bundle") => {
                self.bundle = Some(it.value()?.into());
                "bundle"
            }
            ("create" | "run", "--console-socket") => {
                self.console_socket = Some(it.value()?.into());
                "console-socket"
            }
            ("create" | "run", "--pid-file") => {
                self.pid_file = Some(it.value()?.into());
                "pid-file"
            }
            ("create" | "run", "--preserve-fds") => {
                self.preserve_fds = it.value()?.parse().ok()?;
                "preserve-fds"
            }
            ("create" | "run", "--no-pivot") => {
                self.no_pivot = true;
                "no-pivot"
            }
            ("create" | "run", "--no-new-keyring") => {
                self.no_new_keyring = true;
                "no-new-keyring"
            }
            ("run", "-d" | "--detach") => {
                self.detach = true;
                "detach"
            }
            ("run", "--keep") => {
                self.keep = true;
                "keep"
            }
            ("run", "--no-subreaper") => {
                self.no_subreaper = true;
                "no-subreaper"
            }
            ("kill", "-a" | "--all") => {
                self.all = true;
                "all"
            }
            ("delete", "-f" | "--force") => {
                self.force = true;
                "force"
            }
            ("list" | "ls", "-q" | "--quiet") => {
                self.quiet = true;
                "quiet"
            }
            ("list" | "ls", "-f" | "--format") => {
                self.format = Some(match it.value()?.as_str() {
                    "table" => Format::Table,
                    "json" => Format::Json,
                    _ => return None,
                });
                "format"
            }
            _ => return None,
        };
        if !matches!(
            name,
            "bundle" | "console-socket" | "pid-file" | "preserve-fds" | "format"
        ) {
            it.no_value()?;
        }
        if self.seen.contains(&name) {
            return None;
        }
        self.seen.push(name);
        Some(())
    }

    fn none(&self) -> bool {
        self.seen.is_empty()
    }

    fn run_only(&self) -> bool {
        !self.detach && !self.keep && !self.no_subreaper
    }

    fn only_all(&self) -> bool {
        self.seen.iter().all(|s| *s == "all")
    }

    fn only_force(&self) -> bool {
        self.seen.iter().all(|s| *s == "force")
    }

    fn only_list(&self) -> bool {
        self.seen.iter().all(|s| matches!(*s, "quiet" | "format"))
    }

    fn create(&self, id: &str) -> Option<CreateArgs> {
        Some(CreateArgs {
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            id: id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The fast parser and clap agree on every line the fast one takes.
    fn same(line: &str) {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        let fast = parse(&args).unwrap_or_else(|| panic!("fast parser declined {line:?}"));
        let full =
            Cli::try_parse_from(std::iter::once(OsString::from("containerv")).chain(args)).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
    }

    fn declined(line: &str) {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        assert!(parse(&args).is_none(), "{line}");
    }

    #[test]
    fn agrees_with_clap() {
        same("--root /r --log /l.json --log-format json create --bundle /b --pid-file /p x");
        same("--root=/r create -b /b --console-socket /s --no-pivot --preserve-fds 2 --no-new-keyring x");
        same("run -d --keep --bundle=/b x");
        same("--systemd-cgroup --debug start x");
        same("state x --root /r");
        same("kill x");
        same("kill --all x KILL");
        same("kill x 9");
        same("delete -f x");
        same("delete x");
        same("pause x");
        same("resume x");
        same("list");
        same("ls -q");
        same("list --format json");
        same("--rootless=true state x");
        same("--criu /usr/sbin/criu state x");
    }

    #[test]
    fn leaves_the_rest_to_clap() {
        declined("--help");
        declined("--version");
        declined("--rootless state x");
        declined("exec x sh");
        declined("state");
        declined("state x y");
        declined("create --bogus x");
        declined("create --bundle");
        declined("delete --force=yes x");
        declined("kill -f x");
        declined("--log-format yaml state x");
        declined("list --format yaml");
        declined("create -d x");
        declined("delete -f -f x");
    }
}
