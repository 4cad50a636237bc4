//! `cv system metrics`: the engine's Prometheus text (cAdvisor's names,
//! see `containerv::metrics`), once on stdout, or served over HTTP with
//! `--listen ADDR` for a Prometheus to scrape.
//!
//! The server is a small blocking loop on a std `TcpListener`: one scrape
//! at a time, each bounded by read/write timeouts, which is what a
//! Prometheus (one request per interval) needs. It keeps a
//! `containerv_engine::metrics::Scraper`, so the containers' cgroup files
//! stay open between scrapes. A bare port, or `:PORT`,
//! listens on 127.0.0.1 only; another interface must be named.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::Context;
use crate::exit;

#[derive(Args)]
pub struct MetricsArgs {
    /// Serve the text over HTTP at ADDR (`HOST:PORT`, `PORT` or `:PORT`
    /// for 127.0.0.1) on `/metrics` instead of printing it once.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

/// `PORT`, `:PORT` (127.0.0.1) or a socket address.
pub fn parse_listen(s: &str) -> anyhow::Result<SocketAddr> {
    let port = s.strip_prefix(':').unwrap_or(s);
    if let Ok(p) = port.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], p)));
    }
    s.parse().map_err(|_| {
        anyhow::anyhow!(
            "invalid --listen address {s:?}: expected HOST:PORT with an IP address \
             (127.0.0.1:9323, [::1]:9323), PORT or :PORT"
        )
    })
}

pub fn run(ctx: &Context, a: MetricsArgs) -> anyhow::Result<()> {
    let Some(listen) = a.listen else {
        let e = ctx.engine()?;
        print!("{}", containerv_engine::metrics::scrape(&e)?);
        return Ok(());
    };
    // Address and port problems are cv's own failure (docker's 125).
    let listener = match parse_listen(&listen).and_then(|addr| {
        TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))
    }) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Error: {}", crate::diag::chain(&e));
            std::process::exit(exit::CV_FAILED);
        }
    };
    let e = ctx.engine()?;
    eprintln!(
        "Serving metrics on http://{}/metrics",
        listener.local_addr()?
    );
    let mut scraper = containerv_engine::metrics::Scraper::default();
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        // One client's failure (gone, too slow) never ends the server.
        if let Err(err) = serve(conn, || scraper.scrape(&e).map_err(anyhow::Error::from)) {
            tracing::debug!("metrics client: {err:#}");
        }
    }
    Ok(())
}

/// Answers one HTTP/1.x request: `GET /metrics` (or `/`) with the text.
fn serve(
    mut c: TcpStream,
    mut scrape: impl FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    c.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut req = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = c.read(&mut buf)?;
        if n == 0 {
            anyhow::bail!("closed before the end of the request");
        }
        req.extend_from_slice(&buf[..n]);
        if req.len() > 16 * 1024 {
            return reply(
                &mut c,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            );
        }
    }
    let line = String::from_utf8_lossy(&req);
    let mut parts = line.lines().next().unwrap_or("").split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    if path != "/metrics" && path != "/" {
        return reply(
            &mut c,
            "404 Not Found",
            "text/plain",
            "not found; try /metrics\n",
        );
    }
    if method != "GET" && method != "HEAD" {
        return reply(&mut c, "405 Method Not Allowed", "text/plain", "");
    }
    match scrape() {
        Ok(text) if method == "GET" => {
            reply(&mut c, "200 OK", containerv::metrics::CONTENT_TYPE, &text)
        }
        Ok(_) => reply(&mut c, "200 OK", containerv::metrics::CONTENT_TYPE, ""),
        Err(e) => reply(
            &mut c,
            "500 Internal Server Error",
            "text/plain",
            &format!("{e:#}\n"),
        ),
    }
}

fn reply(c: &mut TcpStream, status: &str, ctype: &str, body: &str) -> anyhow::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes())?;
    c.write_all(body.as_bytes())?;
    c.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("9323").unwrap().to_string(), "127.0.0.1:9323");
        assert_eq!(parse_listen(":0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(parse_listen("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in [
            "",
            "localhost",
            "1.2.3.4",
            "127.0.0.1:99999",
            "host:80",
            "-1",
        ] {
            let e = parse_listen(bad).unwrap_err().to_string();
            assert!(e.contains("invalid --listen address"), "{bad}: {e}");
        }
    }
}
