//! The `journald` driver: journald's native protocol (one datagram per
//! entry on `/run/systemd/journal/socket`: `KEY=value\n`, or `KEY\n`, a
//! 64-bit little-endian length and the value for values with a newline),
//! with the fields docker writes: `MESSAGE` (the line without its
//! newline), `PRIORITY` (6 stdout, 3 stderr), `CONTAINER_ID` (12),
//! `CONTAINER_ID_FULL`, `CONTAINER_NAME`, `CONTAINER_TAG` and
//! `SYSLOG_IDENTIFIER` (the tag, `{{.ID}}` by default), `IMAGE_NAME`,
//! `CONTAINER_PARTIAL_MESSAGE=true` for pieces, and the extra attributes
//! with docker's key rule (upper case, `[A-Z0-9_]` only, no leading `_`).

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use super::dgram::Datagrams;
use super::{Line, Sink};
use crate::logs::config::LogConfig;
use crate::logs::format::Stream;
use crate::logs::tag::{self, Info};

/// The journal's socket.
pub const SOCKET: &str = "/run/systemd/journal/socket";

#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            socket: PathBuf::from(SOCKET),
        }
    }
}

/// docker's `sanitizeKeyMod`.
pub fn journal_key(k: &str) -> String {
    let up: String = k
        .chars()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    up.trim_start_matches('_').to_string()
}

fn field(out: &mut Vec<u8>, k: &str, v: &[u8]) {
    out.extend_from_slice(k.as_bytes());
    if v.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(v.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(v);
    out.push(b'\n');
}

/// The datagram of one line; `fields` are the container's fixed fields.
pub fn encode(fields: &[(String, String)], line: &Line<'_>, out: &mut Vec<u8>) {
    field(out, "MESSAGE", line.text);
    field(
        out,
        "PRIORITY",
        match line.stream {
            Stream::Stdout => b"6",
            Stream::Stderr => b"3",
        },
    );
    for (k, v) in fields {
        field(out, k, v.as_bytes());
    }
    if line.partial {
        field(out, "CONTAINER_PARTIAL_MESSAGE", b"true");
    }
}

pub struct JournaldSink {
    o: Options,
    fields: Vec<(String, String)>,
    sock: Option<UnixDatagram>,
    /// The datagrams of a batch, back to back.
    out: Datagrams,
}

impl JournaldSink {
    pub fn new(o: Options, c: &LogConfig, info: &Info) -> Self {
        let tag = tag::render(&c.opts, info, "{{.ID}}");
        let mut fields = vec![
            ("CONTAINER_ID".to_string(), info.short_id().to_string()),
            ("CONTAINER_ID_FULL".into(), info.id.clone()),
            (
                "CONTAINER_NAME".into(),
                info.name.trim_start_matches('/').to_string(),
            ),
            ("CONTAINER_TAG".into(), tag.clone()),
            ("IMAGE_NAME".into(), info.image.clone()),
            ("SYSLOG_IDENTIFIER".into(), tag),
        ];
        let extra = crate::logs::attrs::extra(&c.opts, &info.labels, &info.env, &journal_key);
        fields.extend(extra.into_iter().filter(|(k, _)| !k.is_empty()));
        JournaldSink {
            o,
            fields,
            sock: None,
            out: Datagrams::default(),
        }
    }
}

impl Sink for JournaldSink {
    fn describe(&self) -> String {
        format!("journald at {}", self.o.socket.display())
    }

    fn connect(&mut self) -> io::Result<()> {
        let s = UnixDatagram::unbound()?;
        s.connect(&self.o.socket)?;
        s.set_write_timeout(Some(std::time::Duration::from_secs(5)))?;
        self.sock = Some(s);
        Ok(())
    }

    fn send(&mut self, batch: &[Line<'_>]) -> io::Result<()> {
        let Some(s) = self.sock.as_ref() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "not connected"));
        };
        // One datagram per entry, all of the batch in few sendmmsg calls.
        self.out.clear();
        for l in batch {
            encode(&self.fields, l, &mut self.out.buf);
            self.out.end_message();
        }
        self.out.send_all(s.as_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_binary_values_as_the_journal_reads_them() {
        assert_eq!(journal_key("com.example-app"), "COM_EXAMPLE_APP");
        assert_eq!(journal_key("_x"), "X");
        let l = Line {
            stream: Stream::Stderr,
            time: chrono::Utc::now(),
            text: b"a\nb",
            partial: false,
        };
        let mut out = Vec::new();
        encode(&[("CONTAINER_NAME".into(), "web".into())], &l, &mut out);
        let mut want = b"MESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\nPRIORITY=3\nCONTAINER_NAME=web\n");
        assert_eq!(out, want);
    }
}
