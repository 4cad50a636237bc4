//! The `syslog` driver, as docker's (`daemon/logger/syslog`, on srslog):
//! `syslog-address` `udp://host[:514]`, `tcp://…`, `unix:///path` (a
//! stream socket), `unixgram:///path`, or none (the local `/dev/log`);
//! `syslog-facility` (a name or 0–23, default `daemon`); `syslog-format`
//! unset (docker's "unix" format: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`),
//! `rfc3164` (with the hostname), `rfc5424` (`<PRI>1 TIME HOST TAG PID
//! TAG - MSG`, seconds) or `rfc5424micro` (microseconds). The tag is `{{.ID}}`
//! unless `tag` says otherwise; stdout is severity info, stderr err. Every
//! message ends with a newline (srslog's framing; rsyslog takes it as the
//! end of a message on tcp and unix streams). TLS is not supported.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::dgram::Datagrams;
use super::{Line, Sink};
use crate::error::{Error, Result};
use crate::logs::config::LogConfig;
use crate::logs::format::Stream;
use crate::logs::tag::{self, Info};

/// Where to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Udp(String),
    Tcp(String),
    Unix(PathBuf),
    Unixgram(PathBuf),
    /// No address: the host's syslog socket.
    Local,
}

/// Message format (`syslog-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Unix,
    Rfc3164,
    Rfc5424,
    Rfc5424Micro,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub address: Address,
    pub facility: u8,
    pub format: Format,
}

const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

impl Options {
    pub fn parse(o: &BTreeMap<String, String>) -> Result<Self> {
        for k in [
            "syslog-tls-ca-cert",
            "syslog-tls-cert",
            "syslog-tls-key",
            "syslog-tls-skip-verify",
        ] {
            if let Some(v) = o.get(k) {
                return Err(Error::option(
                    format!("--log-opt {k}"),
                    v.as_str(),
                    "syslog over TLS is not supported (use udp, tcp, unix or unixgram)",
                ));
            }
        }
        let address = parse_address(o.get("syslog-address").map(String::as_str).unwrap_or(""))?;
        let facility = match o.get("syslog-facility").map(String::as_str) {
            None | Some("") => 3,
            Some(f) => parse_facility(f).ok_or_else(|| {
                Error::option(
                    "--log-opt syslog-facility",
                    f,
                    "not a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7, or 0..23)",
                )
            })?,
        };
        let format = match o.get("syslog-format").map(String::as_str) {
            None | Some("") => Format::Unix,
            Some("rfc3164") => Format::Rfc3164,
            Some("rfc5424") => Format::Rfc5424,
            Some("rfc5424micro") => Format::Rfc5424Micro,
            Some(f) => {
                return Err(Error::option(
                    "--log-opt syslog-format",
                    f,
                    "must be rfc3164, rfc5424 or rfc5424micro",
                ))
            }
        };
        Ok(Options {
            address,
            facility,
            format,
        })
    }
}

fn parse_facility(f: &str) -> Option<u8> {
    if let Ok(n) = f.parse::<u8>() {
        return (n <= 23).then_some(n);
    }
    FACILITIES
        .iter()
        .position(|n| !n.is_empty() && *n == f)
        .map(|i| i as u8)
}

/// docker's `parseAddress`: `proto://address`, unix paths must exist,
/// udp/tcp get port 514 when none is given.
pub fn parse_address(a: &str) -> Result<Address> {
    if a.is_empty() {
        return Ok(Address::Local);
    }
    let bad = |why: &str| Error::option("--log-opt syslog-address", a, why.to_string());
    let (scheme, rest) = a
        .split_once("://")
        .ok_or_else(|| bad("should be in the form proto://address (udp, tcp, unix, unixgram)"))?;
    match scheme {
        "unix" | "unixgram" => {
            let p = PathBuf::from(rest);
            if rest.is_empty() || !p.is_absolute() {
                return Err(bad("needs an absolute socket path (unix:///path)"));
            }
            std::fs::metadata(&p).map_err(|e| bad(&format!("{}: {e}", p.display())))?;
            Ok(if scheme == "unix" {
                Address::Unix(p)
            } else {
                Address::Unixgram(p)
            })
        }
        "udp" | "tcp" => {
            let host = rest.trim_end_matches('/');
            if host.is_empty() || host.contains('/') {
                return Err(bad("needs host[:port]"));
            }
            let hp = if has_port(host) {
                host.to_string()
            } else if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:514")
            } else {
                format!("{host}:514")
            };
            let (_, port) = hp.rsplit_once(':').unwrap_or_default();
            port.parse::<u16>().map_err(|_| bad("invalid port"))?;
            Ok(if scheme == "udp" {
                Address::Udp(hp)
            } else {
                Address::Tcp(hp)
            })
        }
        "tcp+tls" => Err(bad(
            "syslog over TLS is not supported (use udp, tcp, unix or unixgram)",
        )),
        _ => Err(bad(
            "should be in the form proto://address (udp, tcp, unix, unixgram)",
        )),
    }
}

fn has_port(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.contains("]:");
    }
    host.matches(':').count() == 1
}

/// The syslog line of one log line (with srslog's final newline).
pub fn format(
    f: Format,
    facility: u8,
    hostname: &str,
    tag: &str,
    pid: u32,
    line: &Line<'_>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(header(f, facility, hostname, tag, pid, line).as_bytes());
    out.extend_from_slice(line.text);
    out.push(b'\n');
}

/// What comes before the message: priority, time, host, tag, pid.
fn header(f: Format, facility: u8, hostname: &str, tag: &str, pid: u32, line: &Line<'_>) -> String {
    let severity = match line.stream {
        Stream::Stdout => 6,
        Stream::Stderr => 3,
    };
    let pri = facility as u32 * 8 + severity;
    let t: DateTime<Local> = line.time.with_timezone(&Local);
    match f {
        Format::Unix => format!("<{pri}>{} {tag}[{pid}]: ", t.format("%b %e %H:%M:%S")),
        Format::Rfc3164 => format!(
            "<{pri}>{} {hostname} {tag}[{pid}]: ",
            t.format("%b %e %H:%M:%S")
        ),
        Format::Rfc5424 => format!(
            "<{pri}>1 {} {hostname} {tag} {pid} {tag} - ",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        Format::Rfc5424Micro => format!(
            "<{pri}>1 {} {hostname} {tag} {pid} {tag} - ",
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        ),
    }
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Unix(UnixStream),
    Unixgram(UnixDatagram),
}

pub struct SyslogSink {
    o: Options,
    tag: String,
    hostname: String,
    pid: u32,
    conn: Option<Conn>,
    /// The messages of a batch, back to back.
    out: Datagrams,
    /// The last header made, for the (time, stream) it was made for: the
    /// lines of one pipe read share their time, so most lines reuse it.
    head: Option<(DateTime<Utc>, Stream, String)>,
}

const IO_TIMEOUT: Duration = Duration::from_secs(5);

impl SyslogSink {
    pub fn new(o: Options, c: &LogConfig, info: &Info) -> Self {
        SyslogSink {
            o,
            tag: tag::render(&c.opts, info, "{{.ID}}"),
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into()),
            pid: std::process::id(),
            conn: None,
            out: Datagrams::default(),
            head: None,
        }
    }
}

fn tcp(hp: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{hp}: no address"));
    for a in hp.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, IO_TIMEOUT) {
            Ok(s) => {
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn udp(hp: &str) -> io::Result<UdpSocket> {
    let a = hp
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{hp}: no address")))?;
    let s = UdpSocket::bind(if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
    s.connect(a)?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

fn unixgram(p: &std::path::Path) -> io::Result<UnixDatagram> {
    let s = UnixDatagram::unbound()?;
    s.connect(p)?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

fn unix(p: &std::path::Path) -> io::Result<UnixStream> {
    let s = UnixStream::connect(p)?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

impl Sink for SyslogSink {
    fn describe(&self) -> String {
        match &self.o.address {
            Address::Udp(a) => format!("udp://{a}"),
            Address::Tcp(a) => format!("tcp://{a}"),
            Address::Unix(p) => format!("unix://{}", p.display()),
            Address::Unixgram(p) => format!("unixgram://{}", p.display()),
            Address::Local => "the local syslog socket (/dev/log)".into(),
        }
    }

    fn connect(&mut self) -> io::Result<()> {
        self.conn = None;
        let c = match &self.o.address {
            Address::Udp(a) => Conn::Udp(udp(a)?),
            Address::Tcp(a) => Conn::Tcp(tcp(a)?),
            Address::Unix(p) => Conn::Unix(unix(p)?),
            Address::Unixgram(p) => Conn::Unixgram(unixgram(p)?),
            Address::Local => {
                // srslog's unixSyslog: datagram first, then stream, on
                // each of the usual paths.
                let mut found = None;
                for p in ["/dev/log", "/var/run/syslog", "/var/run/log"] {
                    let p = std::path::Path::new(p);
                    if let Ok(s) = unixgram(p) {
                        found = Some(Conn::Unixgram(s));
                        break;
                    }
                    if let Ok(s) = unix(p) {
                        found = Some(Conn::Unix(s));
                        break;
                    }
                }
                found.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "no syslog socket at /dev/log")
                })?
            }
        };
        self.conn = Some(c);
        Ok(())
    }

    fn send(&mut self, batch: &[Line<'_>]) -> io::Result<()> {
        if self.conn.is_none() {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "not connected"));
        }
        // Every message of the batch, back to back: one write on a stream,
        // sendmmsg of them all on a datagram socket.
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        for l in batch {
            let fresh = match &self.head {
                Some((t, s, _)) => *t != l.time || *s != l.stream,
                None => true,
            };
            if fresh {
                let h = header(
                    self.o.format,
                    self.o.facility,
                    &self.hostname,
                    &self.tag,
                    self.pid,
                    l,
                );
                self.head = Some((l.time, l.stream, h));
            }
            if let Some((_, _, h)) = &self.head {
                out.buf.extend_from_slice(h.as_bytes());
            }
            out.buf.extend_from_slice(l.text);
            out.buf.push(b'\n');
            out.end_message();
        }
        let result = match self.conn.as_mut() {
            Some(Conn::Tcp(s)) => s.write_all(&out.buf),
            Some(Conn::Unix(s)) => s.write_all(&out.buf),
            Some(Conn::Udp(s)) => out.send_all(s.as_fd()),
            Some(Conn::Unixgram(s)) => out.send_all(s.as_fd()),
            None => Ok(()),
        };
        self.out = out;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn addresses_as_docker_reads_them() {
        assert_eq!(
            parse_address("udp://127.0.0.1").unwrap(),
            Address::Udp("127.0.0.1:514".into())
        );
        assert_eq!(
            parse_address("tcp://h:601").unwrap(),
            Address::Tcp("h:601".into())
        );
        assert_eq!(
            parse_address("tcp://[::1]").unwrap(),
            Address::Tcp("[::1]:514".into())
        );
        assert!(parse_address("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("syslog-address"));
        assert!(parse_address("127.0.0.1:514").is_err());
        assert!(parse_address("unix:///no/such/socket").is_err());
        assert!(parse_address("tcp+tls://h")
            .unwrap_err()
            .to_string()
            .contains("TLS"));
        assert_eq!(parse_facility("local7"), Some(23));
        assert_eq!(parse_facility("daemon"), Some(3));
        assert_eq!(parse_facility("24"), None);
    }

    #[test]
    fn formats_like_srslog() {
        let l = Line {
            stream: Stream::Stderr,
            time: Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
            text: b"hello",
            partial: false,
        };
        let mut out = Vec::new();
        format(Format::Rfc5424Micro, 16, "host", "web", 42, &l, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("<131>1 "), "{s}");
        assert!(s.ends_with(" host web 42 web - hello\n"), "{s}");
        assert!(s.contains(".123456"), "{s}");
        let mut out = Vec::new();
        format(Format::Unix, 3, "host", "web", 42, &l, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("<27>") && s.ends_with(" web[42]: hello\n"),
            "{s}"
        );
    }
}
