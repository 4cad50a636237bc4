//! The per-container monitor: one small single-threaded process per
//! running container, no daemon.
//!
//! `cv start`/`cv run` launches it ([`launch`]); it forks once more so it
//! is nobody's child but init's, takes `monitor.lock` for its whole life
//! (one monitor per container, released by the kernel even on SIGKILL),
//! re-executes itself from a sealed binary (the init and health probes
//! are its clones in the container: `containerv::linux::exeseal`),
//! creates the container through the core library (so it is the init's
//! parent and can reap it), holds the container's stdout/stderr pipes and
//! writes them to the log, runs the health probes, records the exit and
//! applies the restart policy with docker's backoff. Every record change
//! goes through the store's flock, so `cv` commands running at the same
//! time never see or write a torn state. If the monitor is killed, the
//! records keep the init's pid and start time and `cv ps` reads the truth
//! from /proc ([`crate::record::ContainerState::observed`]).

mod adopt;
mod fd;
pub mod launch;
mod probe;
mod sampler;
mod trim;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use containerv::{Container, ExitStatus, Process, ProcessOptions, Runtime, Stdio, User};

use crate::error::{Error, Result};
use crate::health::Health;
use crate::logs::{LogWriter, Stream};
use crate::record::{ContainerConfig, Status};
use crate::restart::RestartManager;
use crate::store::Store;
use fd::{pidfd_open, pipe, poll_readable, read_some, set_nonblocking, ReadOutcome};
use probe::Probe;

/// What the monitor is started with (see [`launch`]).
#[derive(Debug, Clone)]
pub struct MonitorArgs {
    pub store_root: PathBuf,
    pub runtime_root: PathBuf,
    pub id: String,
    /// Write end of the pipe `cv` waits on: one JSON line when the
    /// container runs (or failed to), one when it is finally down.
    pub ready_fd: Option<RawFd>,
    /// The caller's stdin for `run -i` (attached).
    pub stdin_fd: Option<RawFd>,
    /// A replacement for a monitor that died while the container runs:
    /// watch the running init first (see [`adopt`]).
    pub adopt: bool,
}

/// Runs the monitor; never returns. Call it first thing in the process
/// (before any thread exists): it forks.
pub fn main(args: MonitorArgs) -> ! {
    // The container's init is a clone of this process: run from a binary
    // no container process can write through (CVE-2019-5736), before
    // anything else (this starts the process again, descriptors kept).
    // The detached mount stays held until after the fork below, so the
    // intermediate's exit does not wait for its unmount.
    if let Err(e) = containerv::linux::exeseal::ensure_sealed_keep_tree() {
        eprintln!("cv monitor {}: {e}", args.id);
        if let Some(fd) = args.ready_fd {
            // SAFETY: the ready fd was passed to us and is used once.
            let mut pipe = unsafe { File::from_raw_fd(fd) };
            let v = serde_json::json!({"error": format!("sealing the monitor's binary: {e}")});
            let _ = writeln!(pipe, "{v}");
        }
        std::process::exit(1);
    }
    // The second fork: the launcher reaps the intermediate at once, and
    // the monitor is re-parented to init (or the nearest subreaper).
    // SAFETY: single-threaded here; the parent only calls _exit.
    match unsafe { libc::fork() } {
        -1 => std::process::exit(1),
        0 => {}
        // SAFETY: the parent leaves at once, running no destructors.
        _ => unsafe { libc::_exit(0) },
    }
    containerv::linux::exeseal::release_tree();
    let mut report = Reporter {
        // SAFETY: the ready fd was passed to us; we own it from now on.
        pipe: args.ready_fd.map(|fd| unsafe { File::from_raw_fd(fd) }),
    };
    let code = match run(&args, &mut report) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cv monitor {}: {e}", args.id);
            report.send(&serde_json::json!({"error": e.to_string()}));
            1
        }
    };
    std::process::exit(code)
}

/// The pipe back to the `cv` that started us.
struct Reporter {
    pipe: Option<File>,
}

impl Reporter {
    fn send(&mut self, v: &serde_json::Value) {
        if let Some(p) = self.pipe.as_mut() {
            let mut line = v.to_string();
            line.push('\n');
            if p.write_all(line.as_bytes()).is_err() {
                self.pipe = None;
            }
        }
    }
}

/// Where the container's stdin comes from, for every (re)start.
enum StdinSource {
    Null,
    /// The attached caller's stdin.
    Caller(OwnedFd),
    /// `-d -i`: a pipe kept open by the monitor (never EOF).
    Open {
        read: File,
        _write: File,
    },
}

impl StdinSource {
    /// A copy of the input descriptor (for a terminal's input).
    fn file(&self) -> Option<File> {
        let fd = match self {
            StdinSource::Null => return None,
            StdinSource::Caller(fd) => fd.as_raw_fd(),
            StdinSource::Open { read, .. } => read.as_raw_fd(),
        };
        // SAFETY: dup of a descriptor we own; the copy is CLOEXEC.
        let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        // SAFETY: a fresh descriptor.
        (n >= 0).then(|| unsafe { File::from_raw_fd(n) })
    }

    fn stdio(&self) -> Stdio {
        let dup = |fd: RawFd| {
            // SAFETY: dup of a descriptor we own; the copy is CLOEXEC.
            let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
            if n < 0 {
                Stdio::Null
            } else {
                // SAFETY: a fresh descriptor.
                Stdio::Fd(unsafe { OwnedFd::from_raw_fd(n) })
            }
        };
        match self {
            StdinSource::Null => Stdio::Null,
            StdinSource::Caller(fd) => dup(fd.as_raw_fd()),
            StdinSource::Open { read, .. } => dup(read.as_raw_fd()),
        }
    }
}

fn run(a: &MonitorArgs, report: &mut Reporter) -> Result<()> {
    let store = Store::open(&a.store_root)?;
    let dir = store.dir(&a.id);
    let _monitor_lock =
        crate::store::try_lock(&dir.join("monitor.lock"))?.ok_or_else(|| Error::InvalidState {
            id: a.id.clone(),
            status: "running".into(),
            operation: "start (a monitor is already running it)".into(),
        })?;
    let rt = Runtime::new(&a.runtime_root)?;
    let config = store.load_config(&a.id)?;
    let stdin = match a.stdin_fd {
        // SAFETY: passed to us by the launcher; ours from now on.
        Some(fd) => StdinSource::Caller(unsafe { OwnedFd::from_raw_fd(fd) }),
        None if config.interactive => {
            let (r, w) = pipe().map_err(|e| Error::sys("stdin pipe", e))?;
            StdinSource::Open { read: r, _write: w }
        }
        None => StdinSource::Null,
    };
    let info = crate::logs::tag::Info::of(&config);
    let mut logs = LogWriter::open_for(&dir, &info, &config.log_config)
        .map_err(|e| Error::io("open the log of", &dir, e))?;
    let me = std::process::id() as i32;
    let me_start = crate::proc::start_time(me).unwrap_or(0);
    let state = store.load_state(&a.id)?;
    let mut restarts = RestartManager::new(config.restart_policy, state.restart_count);
    let mut first = true;
    if a.adopt {
        let taken = adopt::take_over(&store, &a.id, me, me_start)?;
        report.send(&serde_json::json!({"ok": true, "pid": taken.pid}));
        first = false;
        let Some(ran_for) = adopt::watch(&store, &rt, &a.id, &taken) else {
            return Ok(()); // removed meanwhile
        };
        // Its exit status went to whoever reaped it: unknown here. Its
        // address and volumes go as at any end, and the run ends with
        // what its first monitor did not say (docker's disconnect,
        // unmount, die).
        let code = -1;
        crate::network::release(store.root(), &config.id);
        crate::volumes::driver::release(&store, &config.id);
        crate::events::run_end::complete(store.root(), &config, code);
        let decided = store.update_state(&a.id, |s| {
            s.status = Status::Exited;
            s.pid = 0;
            s.exit_code = code;
            s.error = adopt::UNKNOWN_EXIT.into();
            s.finished_at = Some(Utc::now());
            let delay = if config.auto_remove {
                None
            } else {
                restarts.should_restart(code, s.manually_stopped, ran_for)
            };
            if delay.is_some() {
                s.status = Status::Restarting;
                s.restart_count = restarts.restart_count;
            }
            Ok(delay)
        });
        match decided {
            Err(_) => return Ok(()),
            Ok((_, None)) => {
                finish(&store, &config, report, code);
                return Ok(());
            }
            Ok((_, Some(d))) => {
                if !sleep_unless_stopped(&store, &config.id, d) {
                    finish(&store, &config, report, code);
                    return Ok(());
                }
            }
        }
    }
    // fluentd without fluentd-async: the start fails when fluentd cannot
    // be reached (docker's "failed to initialize logging driver").
    let log_check = if first {
        logging_reachable(&config, &info)
    } else {
        Ok(())
    };
    loop {
        let config = store.load_config(&a.id)?;
        // Held until the container is recorded running: a user that ends
        // meanwhile must not unmount the volumes it mounted.
        let mut volumes_lock = None;
        let started_run = match &log_check {
            Err(msg) if first => Err(msg.clone()),
            _ => start_container(&rt, &config, &store, &stdin, &mut volumes_lock)
                .map_err(|e| e.to_string()),
        };
        let run = match started_run {
            Ok(r) => {
                // Docker's order: network connect (made while joining;
                // `none` and `host` here), volume mount, then start.
                crate::network::predefined_event(store.root(), &config, "connect");
                crate::volumes::mounted(store.root(), &config);
                r
            }
            Err(e) => {
                drop(volumes_lock.take());
                crate::volumes::driver::release(&store, &config.id);
                let code = if log_check.is_err() {
                    125
                } else if e.contains("No such file") {
                    127
                } else {
                    126
                };
                let msg = e;
                let _ = store.update_state(&a.id, |s| {
                    s.status = Status::Exited;
                    s.pid = 0;
                    s.exit_code = code;
                    s.error = msg.clone();
                    s.finished_at = Some(Utc::now());
                    s.monitor_pid = me;
                    s.monitor_start = me_start;
                    Ok(())
                });
                if first {
                    report.send(&serde_json::json!({"error": msg}));
                }
                finish(&store, &config, report, code);
                return Ok(());
            }
        };
        let started = Instant::now();
        let recorded = store.update_state(&a.id, |s| {
            if first {
                s.manually_stopped = false;
            }
            s.status = Status::Running;
            s.pid = run.container.pid();
            s.pid_start = crate::proc::start_time(s.pid).unwrap_or(0);
            s.monitor_pid = me;
            s.monitor_start = me_start;
            s.boot_id = crate::boot::current_boot_id().to_string();
            s.exit_code = 0;
            s.error.clear();
            s.oom_killed = false;
            s.started_at = Some(Utc::now());
            s.restart_count = restarts.restart_count;
            s.health = config.healthcheck.as_ref().map(|_| Health::default());
            Ok(s.manually_stopped)
        });
        // Recorded running (or not to be): another user's end may unmount.
        drop(volumes_lock.take());
        match recorded {
            Ok((_, true)) => {
                // Stopped (or removed) while restarting: end at once.
                let _ = run.container.signal(libc::SIGKILL, true);
            }
            Ok(_) => crate::events::container(store.root(), &config, "start", &[]),
            Err(_) => {
                // Removed while we started: take the container down.
                let _ = run.container.destroy();
                crate::network::release(store.root(), &config.id);
                crate::network::predefined_event(store.root(), &config, "disconnect");
                crate::volumes::driver::release(&store, &config.id);
                crate::volumes::unmounted(store.root(), &config);
                return Ok(());
            }
        }
        if first {
            report.send(&serde_json::json!({"ok": true, "pid": run.container.pid()}));
            first = false;
        }
        let (status, oom, oom_told) = supervise(run, &config, &store, &mut logs, started);
        // The core container is gone: give its address back, unmount the
        // volumes only it used (docker's disconnect and unmount events
        // come before its die, as docker's cleanup does).
        crate::network::release(store.root(), &config.id);
        crate::network::predefined_event(store.root(), &config, "disconnect");
        crate::volumes::driver::release(&store, &config.id);
        crate::volumes::unmounted(store.root(), &config);
        let code = status.code();
        let ran_for = started.elapsed();
        if oom && !oom_told {
            crate::events::container(store.root(), &config, "oom", &[]);
        }
        crate::events::container(
            store.root(),
            &config,
            "die",
            &[
                ("exitCode", code.to_string()),
                ("execDuration", ran_for.as_secs().to_string()),
            ],
        );
        // What the forwarder still holds goes out before the exit is
        // recorded (a destination that is away: 2 s at most).
        logs.drain(Duration::from_secs(2));
        let dropped = logs.dropped();
        // `cv update --restart` may have changed the policy meanwhile.
        if let Ok(c) = store.load_config(&config.id) {
            restarts.set_policy(c.restart_policy);
        }
        let decided = store.update_state(&config.id, |s| {
            s.pid = 0;
            s.exit_code = code;
            s.oom_killed = oom;
            s.finished_at = Some(Utc::now());
            s.log_lines_dropped = dropped;
            let delay = if config.auto_remove {
                None
            } else {
                restarts.should_restart(code, s.manually_stopped, ran_for)
            };
            if delay.is_some() {
                s.status = Status::Restarting;
                s.restart_count = restarts.restart_count;
            } else {
                s.status = Status::Exited;
            }
            Ok(delay)
        });
        let delay = match decided {
            Ok((_, d)) => d,
            // Removed (rm -f) meanwhile: nothing left to record.
            Err(Error::NoSuchContainer(_)) => return Ok(()),
            // The record cannot be written (a full disk): the exit code
            // goes into a file name (no data block needed) for
            // `load_state` to fold in.
            Err(_) => {
                store.record_exit_marker(&config.id, code);
                finish(&store, &config, report, code);
                return Ok(());
            }
        };
        match delay {
            None => {
                // The end: what the forwarder could not send is dropped
                // and counted.
                logs.close_forwarder(Duration::ZERO);
                let now = logs.dropped();
                if now != dropped {
                    let _ = store.update_state(&config.id, |s| {
                        s.log_lines_dropped = now;
                        Ok(())
                    });
                }
                finish(&store, &config, report, code);
                return Ok(());
            }
            Some(d) => {
                if !sleep_unless_stopped(&store, &config.id, d) {
                    finish(&store, &config, report, code);
                    return Ok(());
                }
            }
        }
    }
}

/// Sleeps `d` before a restart; false if the container was stopped or
/// removed meanwhile (then it is recorded as exited).
/// With `fluentd` and no `fluentd-async`: one connection attempt, as
/// docker makes when it creates the logger.
fn logging_reachable(
    config: &ContainerConfig,
    info: &crate::logs::tag::Info,
) -> std::result::Result<(), String> {
    use crate::logs::forward::{self, Kind, Settings};
    let Ok(Some(s)) = Settings::parse(&config.log_config) else {
        return Ok(());
    };
    let Kind::Fluentd(f) = &s.kind else {
        return Ok(());
    };
    if !forward::fluentd::connect_first(f) {
        return Ok(());
    }
    let mut sink = forward::sink(&s, &config.log_config, info);
    sink.connect().map_err(|e| {
        format!(
            "failed to initialize logging driver: {}: {e} (set --log-opt fluentd-async=true to start anyway)",
            sink.describe()
        )
    })
}

fn sleep_unless_stopped(store: &Store, id: &str, d: Duration) -> bool {
    let end = Instant::now() + d;
    loop {
        match store.load_state(id) {
            Ok(s) if s.manually_stopped || s.status != Status::Restarting => {
                let _ = store.update_state(id, |s| {
                    s.status = Status::Exited;
                    Ok(())
                });
                return false;
            }
            Err(_) => return false,
            Ok(_) => {}
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// The container's last exit: tell an attached `cv`, remove with `--rm`.
fn finish(store: &Store, config: &ContainerConfig, report: &mut Reporter, code: i32) {
    report.send(&serde_json::json!({"exit": code}));
    if config.auto_remove {
        // Let an attached `cv run --rm` read the last log lines first.
        if let Some(p) = &report.pipe {
            fd::wait_reader_gone(p, 10_000);
        }
        if let Ok(g) = store.lock(&config.id) {
            if store.remove(&config.id, g).is_ok() {
                crate::events::container(store.root(), config, "destroy", &[]);
            }
            crate::volumes::remove_anonymous(store, config);
        }
        if let Some(root) = &config.image_root {
            if let Ok(images) = containerv_image::ImageStore::open(root) {
                let _ = images.release(&config.id);
            }
        }
    }
}

/// A started container: the core handle, its main process (the init,
/// or under `--init` the command the reaper runs) and its output pipes.
struct Running {
    container: Container,
    main: Option<Process>,
    out: File,
    err: File,
    /// `-t`: where input for the terminal comes from, and the master to
    /// write it to.
    tty_in: Option<(File, File)>,
}

fn start_container(
    rt: &Runtime,
    config: &ContainerConfig,
    store: &Store,
    stdin: &StdinSource,
    volumes_lock: &mut Option<crate::store::LockGuard>,
) -> Result<Running> {
    // A core container left by a killed monitor.
    if let Ok(old) = rt.open(&config.id) {
        let _ = old.destroy();
    }
    // Volumes with mount options: mounted for their first user.
    *volumes_lock = crate::volumes::driver::acquire(store, config)?;
    let (mut spec, mut create) = crate::spec::build(config, &store.dir(&config.id))?;
    // A lease and the veth the core makes while the init waits (given
    // back if the container cannot be made), /etc/hosts and resolv.conf.
    crate::network::join_container_netns(store, config, &mut spec)?;
    let joined = crate::network::attach_with_files(store, config, &mut spec)?;
    if let Some(a) = &joined {
        create.network = Some(a.veth.clone());
    }
    // `-t`: the size of the attached caller's terminal, if it wrote one.
    if let Some((rows, cols)) = config
        .tty
        .then(|| read_size_file(&store.dir(&config.id).join(TTY_SIZE_FILE)))
        .flatten()
    {
        if let Some(p) = spec.process_mut().as_mut() {
            p.set_console_size(
                oci_spec::runtime::BoxBuilder::default()
                    .height(u64::from(rows))
                    .width(u64::from(cols))
                    .build()
                    .ok(),
            );
        }
    }
    let r = create_built(rt, config, spec, create, stdin);
    if r.is_err() && joined.is_some() {
        crate::network::release(store.root(), &config.id);
    }
    if r.is_err() {
        drop(volumes_lock.take());
        crate::volumes::driver::release(store, &config.id);
    }
    r
}

fn create_built(
    rt: &Runtime,
    config: &ContainerConfig,
    spec: containerv::Spec,
    mut create: containerv::CreateConfig,
    stdin: &StdinSource,
) -> Result<Running> {
    let (out_r, out_w) = pipe().map_err(|e| Error::sys("stdout pipe", e))?;
    let (err_r, err_w) = pipe().map_err(|e| Error::sys("stderr pipe", e))?;
    set_nonblocking(out_r.as_raw_fd());
    set_nonblocking(err_r.as_raw_fd());
    if config.init && config.tty {
        return start_init_with_terminal(rt, config, spec, create, stdin, err_r);
    }
    if config.init {
        let container = rt.create_from_spec(&config.id, spec, create)?;
        let opts = ProcessOptions {
            args: config.command.clone(),
            env: config.env.clone(),
            cwd: config.working_dir.as_ref().map(PathBuf::from),
            user: config.user.clone().map(User::Name),
            stdin: stdin.stdio(),
            stdout: Stdio::Fd(out_w.into()),
            stderr: Stdio::Fd(err_w.into()),
            wait: false,
        };
        let main = match container.spawn(opts) {
            Ok(p) => p,
            Err(e) => {
                let _ = container.destroy();
                return Err(e.into());
            }
        };
        return Ok(Running {
            container,
            main: Some(main),
            out: out_r,
            err: err_r,
            tty_in: None,
        });
    }
    if config.tty {
        return start_with_terminal(rt, config, spec, create, stdin, err_r);
    }
    create.stdin = stdin.stdio();
    create.stdout = Stdio::Fd(out_w.into());
    create.stderr = Stdio::Fd(err_w.into());
    let container = rt.create_from_spec(&config.id, spec, create)?;
    Ok(Running {
        container,
        main: None,
        out: out_r,
        err: err_r,
        tty_in: None,
    })
}

/// `-t`: the init gets a pty (from the container's devpts); its master
/// comes back over a console socket, its output is logged as stdout and
/// the caller's input (if any) is copied into it.
fn start_with_terminal(
    rt: &Runtime,
    config: &ContainerConfig,
    mut spec: containerv::Spec,
    mut create: containerv::CreateConfig,
    stdin: &StdinSource,
    unused_err: File,
) -> Result<Running> {
    let input = stdin.file();
    let process = spec
        .process_mut()
        .as_mut()
        .expect("built spec has a process");
    process.set_terminal(Some(true));
    if let Some((rows, cols)) = input.as_ref().and_then(|f| window_size(f.as_raw_fd())) {
        process.set_console_size(Some(
            oci_spec::runtime::BoxBuilder::default()
                .height(u64::from(rows))
                .width(u64::from(cols))
                .build()
                .map_err(|e| Error::option("-t", "", e.to_string()))?,
        ));
    }
    let sock = crate::tty::ConsoleSocket::listen(
        &std::env::temp_dir().join(format!("cv-monitor-{}.sock", std::process::id())),
    )?;
    create.console_socket = Some(sock.path().to_path_buf());
    create.stdin = Stdio::Null;
    create.stdout = Stdio::Null;
    create.stderr = Stdio::Null;
    let container = rt.create_from_spec(&config.id, spec, create)?;
    let master = match sock.receive() {
        Ok(m) => m,
        Err(e) => {
            let _ = container.destroy();
            return Err(e);
        }
    };
    let writer = master
        .try_clone()
        .map_err(|e| Error::sys("dup the terminal", e))?;
    set_nonblocking(master.as_raw_fd());
    Ok(Running {
        container,
        main: None,
        out: master,
        err: unused_err,
        tty_in: input.map(|i| (i, writer)),
    })
}

/// `--init -t`: the built-in init is pid 1 and the command is exec'd
/// into the container with a pty of its devpts (as `exec -t`); the
/// master comes back over a console socket and is logged as stdout.
fn start_init_with_terminal(
    rt: &Runtime,
    config: &ContainerConfig,
    spec: containerv::Spec,
    create: containerv::CreateConfig,
    stdin: &StdinSource,
    unused_err: File,
) -> Result<Running> {
    let mut process = spec.process().clone().unwrap_or_default();
    let size = spec.process().as_ref().and_then(|p| p.console_size());
    let container = rt.create_from_spec(&config.id, spec, create)?;
    process.set_args(Some(config.command.clone()));
    process.set_env(Some(config.env.clone()));
    process.set_cwd(PathBuf::from(
        config.working_dir.clone().unwrap_or_else(|| "/".into()),
    ));
    if let Some(u) = &config.user {
        match oci_spec::runtime::UserBuilder::default()
            .username(u.clone())
            .build()
        {
            Ok(user) => {
                process.set_user(user);
            }
            Err(e) => {
                let _ = container.destroy();
                return Err(Error::option("-u", u.as_str(), e.to_string()));
            }
        }
    }
    process.set_terminal(Some(true));
    process.set_console_size(size);
    let input = stdin.file();
    let r = (|| {
        let sock = crate::tty::ConsoleSocket::listen(
            &std::env::temp_dir().join(format!("cv-monitor-{}-init.sock", std::process::id())),
        )?;
        let io = containerv::linux::ProcessIo {
            console_socket: Some(sock.path().to_path_buf()),
            ..Default::default()
        };
        let main = container.exec(&process, io)?;
        let master = sock.receive()?;
        let writer = master
            .try_clone()
            .map_err(|e| Error::sys("dup the terminal", e))?;
        set_nonblocking(master.as_raw_fd());
        Ok::<_, Error>((main, master, writer))
    })();
    match r {
        Ok((main, master, writer)) => Ok(Running {
            container,
            main: Some(main),
            out: master,
            err: unused_err,
            tty_in: input.map(|i| (i, writer)),
        }),
        Err(e) => {
            let _ = container.destroy();
            Err(e)
        }
    }
}

use containerv::linux::console::{set_window_size, window_size};

/// The file in a container's directory where an attached `cv run -t`
/// keeps its terminal's size ("ROWS COLS").
pub const TTY_SIZE_FILE: &str = "tty-size";

fn read_size_file(p: &std::path::Path) -> Option<(u16, u16)> {
    let text = std::fs::read_to_string(p).ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<u16>().ok());
    match (it.next()??, it.next()??) {
        (0, _) | (_, 0) => None,
        size => Some(size),
    }
}

/// The poll loop of one run: logs, health probes, stats samples, the
/// main process's exit. Returns how it ended, whether the OOM killer
/// struck and whether that was already reported as an `oom` event; the
/// container is destroyed when this returns.
fn supervise(
    mut run: Running,
    config: &ContainerConfig,
    store: &Store,
    logs: &mut LogWriter,
    started: Instant,
) -> (ExitStatus, bool, bool) {
    let main_pid = run
        .main
        .as_ref()
        .map(|p| p.pid())
        .unwrap_or_else(|| run.container.pid());
    let pidfd = pidfd_open(main_pid).ok();
    let hc = config.healthcheck.clone();
    let mut next_probe = hc.as_ref().map(|h| Instant::now() + first_delay(h));
    let mut probe: Option<Probe> = None;
    let mut probe_events: Option<crate::events::exec::ExecEvents> = None;
    // A whole pipe (64 KiB by default) per read: one log write per read.
    let mut buf = vec![0u8; 64 * 1024];
    let mut out_open = true;
    let mut err_open = true;
    // `-t`: the attached caller writes its terminal's size to this file
    // (its stdin reaches us through a relay pipe, which has no size);
    // watched for resizes.
    let size_file = config
        .tty
        .then(|| store.dir(&config.id).join(TTY_SIZE_FILE));
    let mut term_size = size_file.as_deref().and_then(read_size_file);
    let mut sampler = sampler::Sampler::open(store, config);
    let mut reported_drops = logs.dropped();
    let mut next_drop_report = Instant::now();
    // Start-up's heap and code pages go once the container has run a
    // second (see `trim`): an idle monitor holds what it runs, and a
    // short-lived container (`run --rm … true`) does not wait for it.
    let mut trim_at = Some(started + Duration::from_secs(1));
    loop {
        // When to wake up without any descriptor being ready.
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        if let Some(p) = &probe {
            wake = Some(if p.eof {
                now + Duration::from_millis(10)
            } else {
                p.deadline
            });
        } else if let Some(n) = next_probe {
            wake = Some(n);
        }
        if pidfd.is_none() {
            wake = Some(wake.map_or(now + Duration::from_millis(100), |w| {
                w.min(now + Duration::from_millis(100))
            }));
        }
        if size_file.is_some() {
            let soon = now + Duration::from_millis(200);
            wake = Some(wake.map_or(soon, |w| w.min(soon)));
        }
        if logs.forwards() {
            // Lines dropped while a destination is away are recorded as
            // they happen (`State.LogLinesDropped`), once a second.
            let soon = now + Duration::from_secs(1);
            wake = Some(wake.map_or(soon, |w| w.min(soon)));
            let d = logs.dropped();
            if d != reported_drops && now >= next_drop_report {
                reported_drops = d;
                next_drop_report = now + Duration::from_secs(1);
                let _ = store.update_state(&config.id, |s| {
                    s.log_lines_dropped = d;
                    Ok(())
                });
            }
        }
        if let Some(t) = trim_at {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        }
        let mut timeout = wake.map(|w| {
            w.saturating_duration_since(now)
                .min(Duration::from_secs(60))
        });
        if let Some(s) = &sampler {
            let w = s.wait();
            timeout = Some(timeout.map_or(w, |t| t.min(w)));
        }
        let fds = [
            if out_open { run.out.as_raw_fd() } else { -1 },
            if err_open { run.err.as_raw_fd() } else { -1 },
            pidfd.as_ref().map_or(-1, |p| p.as_raw_fd()),
            probe.as_ref().map_or(-1, |p| p.fd()),
            run.tty_in.as_ref().map_or(-1, |(i, _)| i.as_raw_fd()),
        ];
        let ready = poll_readable(&fds, timeout);
        if trim_at.is_some_and(|t| Instant::now() >= t) {
            trim_at = None;
            trim::after_start();
        }
        if let Some(s) = sampler.as_mut() {
            if s.tick(&run.container) > 0 {
                crate::events::container(store.root(), config, "oom", &[]);
            }
        }
        if ready[4] {
            // Input for the terminal: one read, written to the master.
            let mut chunk = [0u8; 4096];
            let done = match run.tty_in.as_mut() {
                Some((input, master)) => match std::io::Read::read(input, &mut chunk) {
                    Ok(0) | Err(_) => true,
                    Ok(n) => master.write_all(&chunk[..n]).is_err(),
                },
                None => false,
            };
            if done {
                run.tty_in = None;
            }
        }
        if let Some(now_size) = size_file.as_deref().and_then(read_size_file) {
            if Some(now_size) != term_size {
                set_window_size(run.out.as_raw_fd(), now_size);
                term_size = Some(now_size);
            }
        }
        if ready[0] {
            out_open = pump(&mut run.out, Stream::Stdout, logs, &mut buf);
        }
        if ready[1] {
            err_open = pump(&mut run.err, Stream::Stderr, logs, &mut buf);
        }
        if ready[3] {
            if let Some(p) = probe.as_mut() {
                p.read();
            }
        }
        // Health probe bookkeeping.
        if let (Some(h), Some(p)) = (&hc, probe.as_mut()) {
            let result = if p.eof {
                p.try_finish().map(|r| (r.exit_code, r))
            } else if Instant::now() >= p.deadline {
                // Killed: docker's exec_die says 137.
                Some((137, p.time_out(h)))
            } else {
                None
            };
            if let Some((code, r)) = result {
                probe = None;
                if let Some(ev) = probe_events.take() {
                    ev.died(store.root(), config, code);
                }
                record_probe(store, config, h, r, started);
                next_probe = Some(Instant::now() + h.interval);
            }
        } else if let (Some(h), Some(n)) = (&hc, next_probe) {
            if Instant::now() >= n {
                next_probe = None;
                // docker runs each probe as an exec, with its events.
                let ev = crate::events::exec::ExecEvents::start(store.root(), config, &h.argv());
                match Probe::start(&run.container, h) {
                    Ok(p) => {
                        probe = Some(p);
                        probe_events = Some(ev);
                    }
                    Err(r) => {
                        record_probe(store, config, h, r, started);
                        next_probe = Some(Instant::now() + h.interval);
                    }
                }
            }
        }
        let exited = if pidfd.is_some() {
            ready[2]
        } else {
            crate::proc::start_time(main_pid).is_none()
        };
        if exited {
            drop(probe);
            let (status, oom) = wind_down(run, logs, &mut buf);
            return (status, oom, sampler.is_some_and(|s| s.oom_reported));
        }
    }
}

/// Docker runs the first probe one interval after the start.
fn first_delay(h: &crate::health::HealthConfig) -> Duration {
    h.interval
}

fn record_probe(
    store: &Store,
    config: &ContainerConfig,
    h: &crate::health::HealthConfig,
    r: crate::health::ProbeResult,
    started: Instant,
) {
    let since = started.elapsed().saturating_sub(Duration::from_millis(0));
    let flipped = store.update_state(&config.id, |s| {
        if s.status == Status::Running {
            let health = s.health.get_or_insert_with(Health::default);
            let before = health.status;
            health.record(h, r, since);
            return Ok((health.status != before).then_some(health.status));
        }
        Ok(None)
    });
    // docker: `health_status: healthy|unhealthy` at each change.
    if let Ok((_, Some(now))) = flipped {
        let action = match now {
            crate::health::HealthStatus::Healthy => "health_status: healthy",
            crate::health::HealthStatus::Unhealthy => "health_status: unhealthy",
            crate::health::HealthStatus::Starting => "health_status: starting",
        };
        crate::events::container(store.root(), config, action, &[]);
    }
}

/// Moves what is readable from a pipe to the log; false at EOF.
fn pump(f: &mut File, stream: Stream, logs: &mut LogWriter, buf: &mut [u8]) -> bool {
    loop {
        match read_some(f, buf) {
            ReadOutcome::Data(n) => logs.feed(stream, &buf[..n]),
            ReadOutcome::WouldBlock => return true,
            ReadOutcome::Eof => {
                logs.flush_stream(stream);
                return false;
            }
        }
    }
}

/// The main process ended: reap it, read the OOM counter, destroy the
/// container (which ends every other process and so closes the pipes),
/// and log the last output.
fn wind_down(mut run: Running, logs: &mut LogWriter, buf: &mut [u8]) -> (ExitStatus, bool) {
    let status = match run.main.as_mut() {
        Some(p) => p.wait(),
        None => run.container.wait(),
    }
    .unwrap_or(ExitStatus::Exited(-1));
    pump(&mut run.out, Stream::Stdout, logs, buf);
    pump(&mut run.err, Stream::Stderr, logs, buf);
    let oom = run
        .container
        .stats()
        .map(|s| s.oom_kills > 0)
        .unwrap_or(false);
    let Running {
        container,
        mut out,
        mut err,
        ..
    } = run;
    if let Err(e) = container.destroy() {
        eprintln!("destroy: {e}");
    }
    // Everything that held the pipes is gone: read to EOF.
    for (f, s) in [(&mut out, Stream::Stdout), (&mut err, Stream::Stderr)] {
        let deadline = Instant::now() + Duration::from_millis(500);
        while pump(f, s, logs, buf) && Instant::now() < deadline {
            poll_readable(&[f.as_raw_fd()], Some(Duration::from_millis(50)));
        }
        logs.flush_stream(s);
    }
    (status, oom)
}
