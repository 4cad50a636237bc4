//! `cv attach CONTAINER`: follow a running container's output from now
//! on (the monitor's log, as `cv run` shows it) until it stops, then exit
//! with its exit code, as docker does. Signals are proxied to it
//! (`--sig-proxy`, default on, not for a `-t` container). The container's
//! stdin belongs to its monitor from the start (`run -i`): attaching
//! later gives output only, as `docker attach --no-stdin`.

use std::io::Write;
use std::time::Duration;

use anyhow::bail;
use containerv_engine::logs::{read_logs, LogDriver, ReadOptions, Stream};

use super::super::Context;

pub fn attach(ctx: &Context, reference: &str, sig_proxy: bool) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let id = e.store.resolve(reference)?;
    let config = e.store.load_config(&id)?;
    let st = e.store.load_state(&id)?.observed();
    if !st.status.is_active() {
        bail!("you cannot attach to a stopped container, start it first");
    }
    if st.status.as_str() == "paused" {
        bail!("you cannot attach to a paused container, unpause it first");
    }
    if config.log_config.file(&id).is_none() {
        bail!(
            "attach: the container keeps no local log (--log-driver {}{}): no output to follow",
            config.log_config.driver.as_str(),
            if config.log_config.driver == LogDriver::None {
                ""
            } else {
                " with cache-disabled=true"
            }
        );
    }
    containerv_engine::events::for_id(&e.store, &id, "attach", &[]);
    if sig_proxy && !config.tty {
        super::sigproxy::block();
        super::sigproxy::forward(ctx, &id);
    }
    let opts = ReadOptions {
        follow: true,
        tail: Some(0),
        poll: Some(Duration::from_millis(20)),
        ..Default::default()
    };
    let store = e.store.clone();
    let running = || {
        store
            .load_state(&id)
            .map(|s| s.observed().status.is_active())
            .unwrap_or(false)
    };
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    read_logs(
        &e.store.dir(&id),
        &id,
        &config.log_config,
        &opts,
        &running,
        &mut |entry| match entry.stream {
            Stream::Stdout => out.write_all(&entry.line).and_then(|_| out.flush()),
            Stream::Stderr => err.write_all(&entry.line),
        },
    )?;
    let code = e
        .store
        .load_state(&id)
        .map(|s| s.observed().exit_code)
        .unwrap_or(0);
    std::process::exit(code);
}
