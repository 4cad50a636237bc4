//! `cv run` in the foreground (and `start -a`): start the container, print
//! its output as the monitor logs it, and exit with its exit code. The
//! output comes from the log (`logs -f`), so what `cv run` shows is what
//! `cv logs` will show; the exit code comes from the monitor's pipe.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use containerv_engine::logs::{read_logs, ReadOptions, Stream};
use containerv_engine::monitor::launch::Launched;
use containerv_engine::Engine;

use super::super::Context;
use super::args::RunArgs;

pub fn run(ctx: &Context, args: RunArgs, detach: bool, sig_proxy: bool) -> anyhow::Result<()> {
    let opts = args.options();
    let proxy = sig_proxy && !opts.tty && !detach;
    if proxy {
        super::sigproxy::block();
    }
    let resize = opts.tty && !detach && containerv_engine::tty::window_size().is_some();
    if resize {
        super::winsize::block();
    }
    crate::commands::image::pull_for_run(ctx, opts.image.as_deref(), args.pull)?;
    let e = ctx.engine()?;
    let id = e.create(&opts)?;
    if resize {
        super::winsize::follow(e.store.dir(&id));
    }
    if detach {
        if let Err(err) = e.start(&id, false) {
            if opts.rm {
                let _ = e.remove(&id, true);
                wait_removed(&e, &id);
            }
            return Err(err.into());
        }
        println!("{id}");
        return Ok(());
    }
    // docker's `attach` event: the client attaches before the start.
    containerv_engine::events::for_id(&e.store, &id, "attach", &[]);
    let launched = match e.start(&id, opts.interactive) {
        Ok(Some(l)) => l,
        Ok(None) => unreachable!("a new container is not running"),
        Err(err) => {
            if opts.rm {
                let _ = e.remove(&id, true);
                wait_removed(&e, &id);
            }
            return Err(err.into());
        }
    };
    if proxy {
        super::sigproxy::forward(ctx, &id);
    }
    // With -t our terminal goes raw: the container's pty does the echo
    // and line editing.
    let raw = (opts.tty && containerv_engine::tty::window_size().is_some())
        .then(containerv_engine::tty::RawMode::stdin)
        .flatten();
    let code = follow(&e, &id, launched)?;
    drop(raw);
    std::process::exit(code);
}

pub fn start_attached(ctx: &Context, reference: &str) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let id = e.store.resolve(reference)?;
    if !e.store.load_state(&id)?.observed().status.is_active() {
        containerv_engine::events::for_id(&e.store, &id, "attach", &[]);
    }
    match e.start(&id, false)? {
        Some(l) => {
            let code = follow(&e, &id, l)?;
            std::process::exit(code)
        }
        None => anyhow::bail!("container {reference} is already running"),
    }
}

/// Prints the container's output until its monitor reports the exit.
fn follow(e: &Engine, id: &str, mut launched: Launched) -> anyhow::Result<i32> {
    let config = e.store.load_config(id)?;
    let dir = e.store.dir(id);
    let done = Arc::new(AtomicBool::new(false));
    let printer = config.log_config.file(id).is_some().then(|| {
        let done = done.clone();
        let id = id.to_string();
        let log_config = config.log_config.clone();
        std::thread::spawn(move || {
            let opts = ReadOptions {
                follow: true,
                poll: Some(std::time::Duration::from_millis(10)),
                ..Default::default()
            };
            let running = || !done.load(Ordering::Acquire);
            let mut out = std::io::stdout();
            let mut err = std::io::stderr();
            let _ = read_logs(
                &dir,
                &id,
                &log_config,
                &opts,
                &running,
                &mut |entry| match entry.stream {
                    Stream::Stdout => out.write_all(&entry.line).and_then(|_| out.flush()),
                    Stream::Stderr => err.write_all(&entry.line),
                },
            );
        })
    });
    let code = launched.wait_exit();
    done.store(true, Ordering::Release);
    if let Some(p) = printer {
        // Out of its poll wait now (it parks), not up to 10 ms later.
        p.thread().unpark();
        let _ = p.join();
    }
    drop(launched);
    if config.auto_remove {
        // docker's `run --rm` returns once the container is gone.
        wait_removed(e, id);
    }
    Ok(match code {
        Some(c) => c,
        None => e
            .store
            .load_state(id)
            .map(|s| s.observed().exit_code)
            .unwrap_or(-1),
    })
}

/// docker's `run --rm` returns once the container is gone (its monitor
/// may still be deleting it): waits, at most 10 s. Polled every
/// millisecond (three `stat`s): the removal takes a few, and a coarser
/// period was added whole to every `run --rm`.
fn wait_removed(e: &containerv_engine::Engine, id: &str) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while e.store.present(id) && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
