//! One log record and its two on-disk encodings.
//!
//! - json-file: `{"log":"text\n","stream":"stdout","time":"<RFC3339Nano>"}\n`,
//!   byte for byte the shape docker writes, so tools that read docker's
//!   logs read these.
//! - local: `len:u32be | stream:u8 | time_ns:i64be | bytes | len:u32be`,
//!   no escaping and no parsing of JSON when reading back.
//!
//! Decoding is incremental: only complete records are consumed, so a
//! reader racing the writer never sees half a line.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::LogDriver;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of output (with its trailing newline, if it had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub stream: Stream,
    pub time: DateTime<Utc>,
    pub line: Vec<u8>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    log: &'a str,
    stream: Stream,
    /// `--log-opt labels/env/tag` (docker writes them before the time).
    #[serde(skip_serializing_if = "Option::is_none")]
    attrs: Option<&'a BTreeMap<String, String>>,
    time: &'a str,
}

#[derive(Deserialize)]
struct JsonIn {
    log: String,
    stream: Stream,
    time: DateTime<Utc>,
}

/// Go's RFC3339Nano: nanoseconds with trailing zeros trimmed, `Z`.
pub fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // "....123456000Z" -> "....123456Z"; ".000000000Z" -> "Z"
    let body = &s[..s.len() - 1];
    match body.rfind('.') {
        Some(dot) => {
            let trimmed = body.trim_end_matches('0');
            let trimmed = if trimmed.len() == dot + 1 {
                &body[..dot]
            } else {
                trimmed
            };
            format!("{trimmed}Z")
        }
        None => s,
    }
}

/// Appends the encoding of `e` for `driver` to `out`.
#[cfg(test)]
pub fn encode(driver: LogDriver, e: &Entry, out: &mut Vec<u8>) {
    encode_with(driver, e, None, out)
}

/// [`encode`] with json-file's `attrs` (ignored by `local`).
pub fn encode_with(
    driver: LogDriver,
    e: &Entry,
    attrs: Option<&BTreeMap<String, String>>,
    out: &mut Vec<u8>,
) {
    match driver {
        LogDriver::Local => encode_local(e, out),
        _ => {
            let text = String::from_utf8_lossy(&e.line);
            let time = rfc3339_nano(&e.time);
            let rec = JsonOut {
                log: &text,
                stream: e.stream,
                attrs: attrs.filter(|a| !a.is_empty()),
                time: &time,
            };
            // Serializing plain strings into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, &rec);
            out.push(b'\n');
        }
    }
}

fn encode_local(e: &Entry, out: &mut Vec<u8>) {
    let len = (1 + 8 + e.line.len()) as u32;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(match e.stream {
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    });
    let ns = e.time.timestamp_nanos_opt().unwrap_or(0);
    out.extend_from_slice(&ns.to_be_bytes());
    out.extend_from_slice(&e.line);
    out.extend_from_slice(&len.to_be_bytes());
}

/// Decodes the complete records at the start of `buf`, returning them and
/// the bytes consumed. Records that cannot be parsed (a line cut short by
/// a full disk) are skipped.
pub fn decode(driver: LogDriver, buf: &[u8], out: &mut Vec<Entry>) -> usize {
    let mut pos = 0;
    match driver {
        LogDriver::JsonFile
        | LogDriver::None
        | LogDriver::Syslog
        | LogDriver::Fluentd
        | LogDriver::Journald => {
            while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
                let line = &buf[pos..pos + nl];
                pos += nl + 1;
                if let Ok(j) = serde_json::from_slice::<JsonIn>(line) {
                    out.push(Entry {
                        stream: j.stream,
                        time: j.time,
                        line: j.log.into_bytes(),
                    });
                }
            }
        }
        LogDriver::Local => loop {
            let rest = &buf[pos..];
            if rest.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if !(9..=64 << 20).contains(&len) {
                // Not a frame start: resynchronise byte by byte.
                pos += 1;
                continue;
            }
            if rest.len() < 4 + len + 4 {
                break;
            }
            let p = &rest[4..4 + len];
            let tail = &rest[4 + len..8 + len];
            pos += 8 + len;
            if tail != (len as u32).to_be_bytes() {
                continue;
            }
            let stream = if p[0] == 2 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            let mut ns = [0u8; 8];
            ns.copy_from_slice(&p[1..9]);
            out.push(Entry {
                stream,
                time: Utc.timestamp_nanos(i64::from_be_bytes(ns)),
                line: p[9..].to_vec(),
            });
        },
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> Entry {
        Entry {
            stream: Stream::Stderr,
            time: Utc.timestamp_nanos(1_700_000_000_123_450_000),
            line: s.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_file_is_dockers_shape() {
        let mut out = Vec::new();
        encode(LogDriver::JsonFile, &entry("hi \"there\"\n"), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"log\":\"hi \\\"there\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.12345Z\"}\n"
        );
        assert_eq!(
            rfc3339_nano(&Utc.timestamp_nanos(1_700_000_000_000_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn both_formats_round_trip_and_wait_for_whole_records() {
        for d in [LogDriver::JsonFile, LogDriver::Local] {
            let mut buf = Vec::new();
            encode(d, &entry("one\n"), &mut buf);
            encode(d, &entry("two\n"), &mut buf);
            let full = buf.len();
            let mut got = Vec::new();
            // Cut the second record short: only the first comes out.
            let used = decode(d, &buf[..full - 3], &mut got);
            assert_eq!(got, vec![entry("one\n")], "{d:?}");
            let used2 = decode(d, &buf[used..], &mut got);
            assert_eq!(used + used2, full);
            assert_eq!(got[1], entry("two\n"));
        }
    }

    #[test]
    fn garbage_json_lines_are_skipped() {
        let mut buf = b"{\"log\":\"tru\n".to_vec();
        encode(LogDriver::JsonFile, &entry("ok\n"), &mut buf);
        let mut got = Vec::new();
        decode(LogDriver::JsonFile, &buf, &mut got);
        assert_eq!(got, vec![entry("ok\n")]);
    }
}
