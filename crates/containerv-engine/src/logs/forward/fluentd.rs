//! The `fluentd` driver: fluentd's forward protocol (msgpack, the `rmp`
//! crate) over tcp or a unix socket, with docker's options and record:
//! `fluentd-address` (`host:port`, `tcp://host:port`, `unix:///path`;
//! default `127.0.0.1:24224`), `fluentd-async` (false: the start fails
//! when fluentd cannot be reached, as docker's; true: connect in the
//! background), `fluentd-buffer-limit` (lines kept while it is away),
//! `fluentd-retry-wait`, `fluentd-max-retries`,
//! `fluentd-sub-second-precision` (EventTime instead of whole seconds),
//! `fluentd-write-timeout`. Each record is docker's map: `container_id`
//! (64 hex), `container_name` (`/name`), `source` (`stdout`/`stderr`),
//! `log` (the line without its newline), `partial_message` for pieces,
//! plus the extra attributes; the tag is `{{.ID}}` unless `tag` says
//! otherwise. A batch goes out in Forward mode (`[tag, [[time, record],
//! …]]`), which every fluentd and fluent-bit accepts.
//! `fluentd-request-ack` is refused (no acknowledgements yet).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::{Line, Sink};
use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::logs::config::LogConfig;
use crate::logs::format::Stream;
use crate::logs::tag::{self, Info};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp(String),
    Unix(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub address: Address,
    pub async_connect: bool,
    pub buffer_limit: usize,
    pub retry_wait: Duration,
    pub max_retries: Option<u64>,
    pub sub_second: bool,
    pub write_timeout: Duration,
}

fn bool_opt(o: &BTreeMap<String, String>, k: &str) -> Result<bool> {
    match o.get(k) {
        None => Ok(false),
        Some(v) => v.parse().map_err(|_| {
            Error::option(
                format!("--log-opt {k}"),
                v.as_str(),
                "must be true or false",
            )
        }),
    }
}

impl Options {
    pub fn parse(o: &BTreeMap<String, String>) -> Result<Self> {
        let address = parse_address(o.get("fluentd-address").map(String::as_str).unwrap_or(""))?;
        if bool_opt(o, "fluentd-request-ack")? {
            return Err(Error::option(
                "--log-opt fluentd-request-ack",
                "true",
                "acknowledged delivery is not supported",
            ));
        }
        let async_connect = bool_opt(o, "fluentd-async")? || bool_opt(o, "fluentd-async-connect")?;
        let buffer_limit = match o.get("fluentd-buffer-limit") {
            None => 1024 * 1024,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::option(
                    "--log-opt fluentd-buffer-limit",
                    v.as_str(),
                    "must be a number of lines > 0",
                )
            })?,
        };
        let dur = |k: &str, default: Duration| -> Result<Duration> {
            match o.get(k) {
                None => Ok(default),
                Some(v) => parse_duration(&format!("--log-opt {k}"), v),
            }
        };
        let retry_wait = dur("fluentd-retry-wait", Duration::from_secs(1))?;
        let write_timeout = dur("fluentd-write-timeout", Duration::from_secs(5))?;
        let max_retries = match o.get("fluentd-max-retries") {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                Error::option(
                    "--log-opt fluentd-max-retries",
                    v.as_str(),
                    "must be a number >= 0",
                )
            })?),
        };
        Ok(Options {
            address,
            async_connect,
            buffer_limit,
            retry_wait,
            max_retries,
            sub_second: bool_opt(o, "fluentd-sub-second-precision")?,
            write_timeout,
        })
    }
}

/// docker's `parseAddress` for fluentd.
pub fn parse_address(a: &str) -> Result<Address> {
    if a.is_empty() {
        return Ok(Address::Tcp("127.0.0.1:24224".into()));
    }
    let bad = |why: &str| Error::option("--log-opt fluentd-address", a, why.to_string());
    let full = if a.contains("://") {
        a.to_string()
    } else {
        format!("tcp://{a}")
    };
    let (scheme, rest) = full.split_once("://").unwrap_or_default();
    match scheme {
        "unix" => {
            if rest.trim_start_matches('/').is_empty() {
                return Err(bad("path is empty"));
            }
            Ok(Address::Unix(PathBuf::from(rest)))
        }
        "tcp" => {
            if rest.contains('/') {
                return Err(bad("should not contain a path element"));
            }
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(':') => (h, p),
                _ => (rest, "24224"),
            };
            let host = if host.is_empty() { "127.0.0.1" } else { host };
            port.parse::<u16>().map_err(|_| bad("invalid port"))?;
            Ok(Address::Tcp(format!("{host}:{port}")))
        }
        "tls" => Err(bad("fluentd over TLS is not supported (use tcp or unix)")),
        s => Err(bad(&format!("unsupported scheme {s:?} (use tcp or unix)"))),
    }
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

pub struct FluentdSink {
    o: Options,
    tag: String,
    id: String,
    name: String,
    extra: BTreeMap<String, String>,
    conn: Option<Conn>,
    buf: Vec<u8>,
}

impl FluentdSink {
    pub fn new(o: Options, c: &LogConfig, info: &Info) -> Self {
        FluentdSink {
            o,
            tag: tag::render(&c.opts, info, "{{.ID}}"),
            id: info.id.clone(),
            name: format!("/{}", info.name.trim_start_matches('/')),
            extra: crate::logs::attrs::extra(&c.opts, &info.labels, &info.env, &|k| k.to_string()),
            conn: None,
            buf: Vec::new(),
        }
    }
}

/// Whether the start must wait for a connection (`fluentd-async=false`).
pub fn connect_first(o: &Options) -> bool {
    !o.async_connect
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Writing into a Vec cannot fail.
    let _ = rmp::encode::write_str_len(out, s.len() as u32);
    out.extend_from_slice(s);
}

/// One Forward-mode message: `[tag, [[time, record], …]]`.
pub fn encode(
    tag: &str,
    id: &str,
    name: &str,
    extra: &BTreeMap<String, String>,
    sub_second: bool,
    batch: &[Line<'_>],
    out: &mut Vec<u8>,
) {
    let _ = rmp::encode::write_array_len(out, 2);
    put_str(out, tag.as_bytes());
    let _ = rmp::encode::write_array_len(out, batch.len() as u32);
    for l in batch {
        let _ = rmp::encode::write_array_len(out, 2);
        if sub_second {
            // EventTime: ext type 0, seconds and nanoseconds, big-endian.
            let _ = rmp::encode::write_ext_meta(out, 8, 0);
            out.extend_from_slice(&(l.time.timestamp() as u32).to_be_bytes());
            out.extend_from_slice(&l.time.timestamp_subsec_nanos().to_be_bytes());
        } else {
            let _ = rmp::encode::write_uint(out, l.time.timestamp().max(0) as u64);
        }
        let n = 4 + extra.len() + usize::from(l.partial);
        let _ = rmp::encode::write_map_len(out, n as u32);
        put_str(out, b"container_id");
        put_str(out, id.as_bytes());
        put_str(out, b"container_name");
        put_str(out, name.as_bytes());
        put_str(out, b"source");
        put_str(
            out,
            match l.stream {
                Stream::Stdout => b"stdout",
                Stream::Stderr => b"stderr",
            },
        );
        put_str(out, b"log");
        put_str(out, l.text);
        if l.partial {
            put_str(out, b"partial_message");
            put_str(out, b"true");
        }
        for (k, v) in extra {
            put_str(out, k.as_bytes());
            put_str(out, v.as_bytes());
        }
    }
}

impl Sink for FluentdSink {
    fn describe(&self) -> String {
        match &self.o.address {
            Address::Tcp(a) => format!("fluentd at tcp://{a}"),
            Address::Unix(p) => format!("fluentd at unix://{}", p.display()),
        }
    }

    fn connect(&mut self) -> io::Result<()> {
        self.conn = None;
        let t = self.o.write_timeout;
        self.conn = Some(match &self.o.address {
            Address::Tcp(a) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{a}: no address"));
                let mut found = None;
                for sa in a.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&sa, Duration::from_secs(5)) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = found.ok_or(last)?;
                s.set_write_timeout(Some(t))?;
                Conn::Tcp(s)
            }
            Address::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_write_timeout(Some(t))?;
                Conn::Unix(s)
            }
        });
        Ok(())
    }

    fn send(&mut self, batch: &[Line<'_>]) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        encode(
            &self.tag,
            &self.id,
            &self.name,
            &self.extra,
            self.o.sub_second,
            batch,
            &mut buf,
        );
        let r = match self.conn.as_mut() {
            Some(Conn::Tcp(s)) => s.write_all(&buf),
            Some(Conn::Unix(s)) => s.write_all(&buf),
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
        };
        self.buf = buf;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_docker_reads_them() {
        assert_eq!(
            parse_address("").unwrap(),
            Address::Tcp("127.0.0.1:24224".into())
        );
        assert_eq!(parse_address("h:1").unwrap(), Address::Tcp("h:1".into()));
        assert_eq!(
            parse_address("tcp://h").unwrap(),
            Address::Tcp("h:24224".into())
        );
        assert_eq!(
            parse_address("unix:///run/f.sock").unwrap(),
            Address::Unix("/run/f.sock".into())
        );
        assert!(parse_address("ftp://x").is_err());
        assert!(parse_address("tcp://h:1/x").is_err());
        assert!(parse_address("unix://").is_err());
    }
}
