//! `--log-driver` and `--log-opt`, validated before a container exists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which log driver a container uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LogDriver {
    /// One JSON object per line: `{"log","stream","time"}` (docker's default).
    #[default]
    #[serde(rename = "json-file")]
    JsonFile,
    /// Length-framed binary records, compressed rotation by default.
    #[serde(rename = "local")]
    Local,
    /// Output is discarded (`cv logs` says so).
    #[serde(rename = "none")]
    None,
    /// Forwarded to a syslog server (RFC 3164 / 5424 over udp, tcp, unix).
    #[serde(rename = "syslog")]
    Syslog,
    /// Forwarded to a fluentd (forward protocol, msgpack).
    #[serde(rename = "fluentd")]
    Fluentd,
    /// Forwarded to systemd-journald (its native datagram protocol).
    #[serde(rename = "journald")]
    Journald,
}

impl LogDriver {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "json-file" => Ok(LogDriver::JsonFile),
            "local" => Ok(LogDriver::Local),
            "none" => Ok(LogDriver::None),
            "syslog" => Ok(LogDriver::Syslog),
            "fluentd" => Ok(LogDriver::Fluentd),
            "journald" => Ok(LogDriver::Journald),
            _ => Err(Error::option(
                "--log-driver",
                s,
                "unknown log driver (use json-file, local, none, syslog, fluentd or journald)",
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::Local => "local",
            LogDriver::None => "none",
            LogDriver::Syslog => "syslog",
            LogDriver::Fluentd => "fluentd",
            LogDriver::Journald => "journald",
        }
    }

    /// Lines go to a destination outside the container's directory.
    pub fn forwards(&self) -> bool {
        matches!(
            self,
            LogDriver::Syslog | LogDriver::Fluentd | LogDriver::Journald
        )
    }

    /// The options docker's driver of this name accepts.
    fn accepts(&self, k: &str) -> bool {
        const STRUCTURED: &[&str] = &["tag", "labels", "labels-regex", "env", "env-regex"];
        const ANY: &[&str] = &["mode", "max-buffer-size"];
        const CACHE: &[&str] = &[
            "cache-disabled",
            "cache-max-size",
            "cache-max-file",
            "cache-compress",
        ];
        const SYSLOG: &[&str] = &[
            "syslog-address",
            "syslog-facility",
            "syslog-format",
            "syslog-tls-ca-cert",
            "syslog-tls-cert",
            "syslog-tls-key",
            "syslog-tls-skip-verify",
        ];
        const FLUENTD: &[&str] = &[
            "fluentd-address",
            "fluentd-async",
            "fluentd-async-connect",
            "fluentd-buffer-limit",
            "fluentd-retry-wait",
            "fluentd-max-retries",
            "fluentd-sub-second-precision",
            "fluentd-request-ack",
            "fluentd-write-timeout",
        ];
        let rotation = ["max-size", "max-file", "compress"].contains(&k);
        match self {
            LogDriver::None => false,
            LogDriver::Local => rotation || ANY.contains(&k),
            LogDriver::JsonFile => rotation || ANY.contains(&k) || STRUCTURED.contains(&k),
            LogDriver::Syslog => {
                SYSLOG.contains(&k)
                    || STRUCTURED.contains(&k)
                    || ANY.contains(&k)
                    || CACHE.contains(&k)
            }
            LogDriver::Fluentd => {
                FLUENTD.contains(&k)
                    || STRUCTURED.contains(&k)
                    || ANY.contains(&k)
                    || CACHE.contains(&k)
            }
            LogDriver::Journald => {
                STRUCTURED.contains(&k) || ANY.contains(&k) || CACHE.contains(&k)
            }
        }
    }
}

/// The driver, its options as given and the rotation of the local file
/// (`HostConfig.LogConfig`). For the forwarding drivers the local file is
/// docker 20.10's "dual logging" cache (`container-cached.log`, in the
/// `local` format, `cache-max-size` 20m × `cache-max-file` 5, compressed),
/// so `cv logs` works for every driver unless `cache-disabled=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// Rotate when the current file would exceed this; `None`: never.
    pub max_size: Option<u64>,
    /// Files kept, the current one included (≥ 1).
    pub max_file: u32,
    /// Gzip rotated files (all but the newest rotated one, `.1`).
    pub compress: bool,
    /// Every `--log-opt` as given (docker's `LogConfig.Config`): the
    /// forwarding, tag and attribute options are read from here.
    #[serde(default)]
    pub opts: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: None,
            max_file: 1,
            compress: false,
            opts: BTreeMap::new(),
        }
    }
}

/// The local file of a container's log: its encoding and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// `JsonFile` or `Local`: how records are encoded.
    pub format: LogDriver,
    pub name: String,
}

impl LogConfig {
    /// From `--log-driver` (None: json-file) and `--log-opt k=v` entries,
    /// with docker's defaults per driver (local and the dual-logging
    /// cache: 20m, 5 files, compressed). Every option is checked here, so
    /// a bad one fails `create` before anything exists.
    pub fn from_flags(driver: Option<&str>, opts: &[String]) -> Result<Self> {
        let driver = match driver {
            Some(d) => LogDriver::parse(d)?,
            None => LogDriver::JsonFile,
        };
        let mut c = match driver {
            LogDriver::Local | LogDriver::Syslog | LogDriver::Fluentd | LogDriver::Journald => {
                LogConfig {
                    driver,
                    max_size: Some(20 * 1024 * 1024),
                    max_file: 5,
                    compress: true,
                    opts: BTreeMap::new(),
                }
            }
            _ => LogConfig {
                driver,
                ..Default::default()
            },
        };
        let mut max_file_set = false;
        for o in opts {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| Error::option("--log-opt", o.as_str(), "expected KEY=VALUE"))?;
            if driver == LogDriver::None {
                return Err(Error::option(
                    "--log-opt",
                    o.as_str(),
                    "the none driver takes no options",
                ));
            }
            if !driver.accepts(k) {
                return Err(Error::option(
                    "--log-opt",
                    o.as_str(),
                    format!(
                        "unknown log opt {k:?} for the {} log driver",
                        driver.as_str()
                    ),
                ));
            }
            let flag = format!("--log-opt {k}");
            // Rotation of the file: its own options for json-file and
            // local, the cache's for the forwarding drivers.
            match k.strip_prefix("cache-").unwrap_or(k) {
                "max-size" => {
                    let n = parse_size(v).ok_or_else(|| {
                        Error::option(&flag, v, "not a size (e.g. 10m, 512k, 1g)")
                    })?;
                    // docker: "max-size must be a positive number" (0 is
                    // not "unlimited": leave the option out for that).
                    if n == 0 {
                        return Err(Error::option(
                            &flag,
                            v,
                            "max-size must be a positive number",
                        ));
                    }
                    c.max_size = Some(n);
                }
                "max-file" => {
                    let n: u32 = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| Error::option(&flag, v, "must be a number >= 1"))?;
                    c.max_file = n;
                    max_file_set = true;
                }
                "compress" | "disabled" => {
                    v.parse::<bool>()
                        .map_err(|_| Error::option(&flag, v, "must be true or false"))?;
                    if k.ends_with("compress") {
                        c.compress = v == "true";
                    }
                }
                _ => {}
            }
            c.opts.insert(k.to_string(), v.to_string());
        }
        if driver == LogDriver::JsonFile && c.max_size.is_none() && max_file_set && c.max_file > 1 {
            return Err(Error::option(
                "--log-opt max-file",
                c.max_file.to_string(),
                "needs max-size",
            ));
        }
        // Tag, attributes, buffer and the destination's own options.
        super::tag::validate(&c.opts)?;
        super::attrs::validate(&c.opts)?;
        super::forward::Settings::parse(&c)?;
        Ok(c)
    }

    /// The local file, if the driver keeps one.
    pub fn file(&self, id: &str) -> Option<LogFile> {
        match self.driver {
            LogDriver::JsonFile => Some(LogFile {
                format: LogDriver::JsonFile,
                name: format!("{id}-json.log"),
            }),
            LogDriver::Local => Some(LogFile {
                format: LogDriver::Local,
                name: "container.log".into(),
            }),
            LogDriver::None => None,
            _ if self.opts.get("cache-disabled").map(String::as_str) == Some("true") => None,
            _ => Some(LogFile {
                format: LogDriver::Local,
                name: "container-cached.log".into(),
            }),
        }
    }
}

/// `10m`, `512k`, `1g`, `100` (bytes), docker's units (powers of 1024):
/// the core's one size parser, `containerv::limits::parse_size`.
/// Zero ("0", "0m") is 0 here, so the caller can say docker's "must be
/// positive" (the core refuses sizes under one byte).
pub fn parse_size(s: &str) -> Option<u64> {
    let num = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if num.parse::<f64>() == Ok(0.0) {
        return Some(0);
    }
    containerv::limits::parse_size("size", s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_rotation_options() {
        let c = LogConfig::from_flags(
            None,
            &opts(&["max-size=10m", "max-file=3", "compress=true"]),
        )
        .unwrap();
        assert_eq!(c.driver, LogDriver::JsonFile);
        assert_eq!(c.max_size, Some(10 << 20));
        assert_eq!(c.max_file, 3);
        assert!(c.compress);
        let l = LogConfig::from_flags(Some("local"), &[]).unwrap();
        assert_eq!(
            (l.max_size, l.max_file, l.compress),
            (Some(20 << 20), 5, true)
        );
        assert_eq!(parse_size("512k"), Some(512 * 1024));
        assert_eq!(parse_size("100"), Some(100));
    }

    #[test]
    fn bad_options_name_what_is_wrong() {
        let cases: &[(Option<&str>, &[&str], &str)] = &[
            (Some("gelf"), &[], "--log-driver"),
            (
                Some("syslog"),
                &["syslog-address=ftp://x"],
                "syslog-address",
            ),
            (Some("syslog"), &["max-size=1m"], "unknown log opt"),
            (Some("local"), &["tag=x"], "unknown log opt"),
            (
                Some("syslog"),
                &["syslog-facility=kitchen"],
                "syslog-facility",
            ),
            (Some("syslog"), &["syslog-format=rfc9999"], "syslog-format"),
            (
                Some("fluentd"),
                &["fluentd-address=ftp://x"],
                "fluentd-address",
            ),
            (Some("fluentd"), &["fluentd-async=perhaps"], "fluentd-async"),
            (
                Some("fluentd"),
                &["fluentd-retry-wait=soon"],
                "fluentd-retry-wait",
            ),
            (Some("journald"), &["tag={{.Nope}}"], "tag"),
            (Some("journald"), &["tag={{.Name"], "tag"),
            (None, &["env-regex=("], "env-regex"),
            (Some("syslog"), &["cache-max-size=x"], "cache-max-size"),
            (None, &["max-size=lots"], "max-size"),
            (None, &["max-size=0"], "positive"),
            (None, &["max-file=0"], "max-file"),
            (None, &["compress=maybe"], "compress"),
            (None, &["colour=red"], "colour"),
            (None, &["max-size"], "KEY=VALUE"),
            (Some("none"), &["max-size=1m"], "none driver"),
            (None, &["max-file=3"], "needs max-size"),
        ];
        for (d, o, want) in cases {
            let e = LogConfig::from_flags(*d, &opts(o)).unwrap_err().to_string();
            assert!(e.contains(want), "{e} lacks {want}");
        }
    }
}
