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

/// [`rfc3339_nano`] of many nearby times without an allocation each: the
/// date and time of day are formatted once per second, the fraction per
/// call.
#[derive(Debug, Default)]
pub struct TimeText {
    /// The second `head` was made for.
    secs: Option<i64>,
    /// `2023-11-14T22:13:20`.
    head: String,
    buf: String,
}

impl TimeText {
    /// The RFC3339Nano text of `ns` nanoseconds since the epoch.
    pub fn of(&mut self, ns: i64) -> &str {
        let (secs, frac) = (
            ns.div_euclid(1_000_000_000),
            ns.rem_euclid(1_000_000_000) as u32,
        );
        if self.secs != Some(secs) {
            let t = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
            let full = t.to_rfc3339_opts(SecondsFormat::Secs, true);
            self.head = full.trim_end_matches('Z').to_string();
            self.secs = Some(secs);
        }
        self.buf.clear();
        self.buf.push_str(&self.head);
        if frac != 0 {
            let mut digits = [b'0'; 9];
            let mut f = frac;
            for d in digits.iter_mut().rev() {
                *d = b'0' + (f % 10) as u8;
                f /= 10;
            }
            let mut end = 9;
            while digits[end - 1] == b'0' {
                end -= 1;
            }
            self.buf.push('.');
            // ASCII digits.
            self.buf
                .push_str(std::str::from_utf8(&digits[..end]).unwrap_or(""));
        }
        self.buf.push('Z');
        &self.buf
    }
}

/// Appends the encoding of `e` for `driver` to `out`.
#[cfg(test)]
pub fn encode(driver: LogDriver, e: &Entry, out: &mut Vec<u8>) {
    encode_with(driver, e, None, out)
}

/// [`encode`] with json-file's `attrs` (ignored by `local`).
#[cfg(test)]
pub fn encode_with(
    driver: LogDriver,
    e: &Entry,
    attrs: Option<&BTreeMap<String, String>>,
    out: &mut Vec<u8>,
) {
    match driver {
        LogDriver::Local => encode_local(
            e.stream,
            e.time.timestamp_nanos_opt().unwrap_or(0),
            &e.line,
            out,
        ),
        _ => {
            let attrs = json_attrs(attrs);
            encode_json(e.stream, &rfc3339_nano(&e.time), &attrs, &e.line, out)
        }
    }
}

/// json-file's `,"attrs":{…}` (empty when there are none), made once per
/// container for [`encode_json`].
pub fn json_attrs(attrs: Option<&BTreeMap<String, String>>) -> Vec<u8> {
    match attrs.filter(|a| !a.is_empty()) {
        Some(a) => {
            let mut out = b",\"attrs\":".to_vec();
            // Serializing plain strings into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, a);
            out
        }
        None => Vec::new(),
    }
}

/// One json-file record, `{"log":…,"stream":…[,"attrs":…],"time":…}\n`,
/// from parts made once per pipe read (`time`, RFC3339Nano) or per
/// container (`attrs`, from [`json_attrs`]): no allocation per line.
pub fn encode_json(stream: Stream, time: &str, attrs: &[u8], line: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"log\":");
    // Go's encoder (docker's) writes invalid UTF-8 as U+FFFD too.
    let text = String::from_utf8_lossy(line);
    let _ = serde_json::to_writer(&mut *out, &*text);
    out.extend_from_slice(match stream {
        Stream::Stdout => b",\"stream\":\"stdout\"",
        Stream::Stderr => b",\"stream\":\"stderr\"",
    });
    out.extend_from_slice(attrs);
    out.extend_from_slice(b",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// One `local` record (time in nanoseconds since the epoch).
pub fn encode_local(stream: Stream, ns: i64, line: &[u8], out: &mut Vec<u8>) {
    let len = (1 + 8 + line.len()) as u32;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(match stream {
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    });
    out.extend_from_slice(&ns.to_be_bytes());
    out.extend_from_slice(line);
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
    fn time_text_is_rfc3339_nano() {
        let mut tt = TimeText::default();
        for ns in [
            0i64,
            1_700_000_000_000_000_000,
            1_700_000_000_123_450_000,
            1_700_000_000_000_000_001,
            1_700_000_000_999_999_999,
            1_700_000_001_100_000_000,
            1_765_000_000_000_000_010,
        ] {
            assert_eq!(tt.of(ns), rfc3339_nano(&Utc.timestamp_nanos(ns)), "{ns}");
        }
    }

    #[test]
    fn attrs_come_between_stream_and_time_as_docker_writes_them() {
        let mut a = BTreeMap::new();
        a.insert("tag".to_string(), "web".to_string());
        a.insert("env\"x".to_string(), "1".to_string());
        let mut out = Vec::new();
        encode_with(LogDriver::JsonFile, &entry("x\u{1}\n"), Some(&a), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"log\":\"x\\u0001\\n\",\"stream\":\"stderr\",\"attrs\":{\"env\\\"x\":\"1\",\"tag\":\"web\"},\"time\":\"2023-11-14T22:13:20.12345Z\"}\n"
        );
        let mut out = Vec::new();
        encode_with(
            LogDriver::JsonFile,
            &Entry {
                line: vec![b'a', 0xff, b'\n'],
                ..entry("")
            },
            None,
            &mut out,
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("{\"log\":\"a\u{fffd}\\n\""));
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
