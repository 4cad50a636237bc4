//! `--log-driver` and `--log-opt`, validated before a container exists.

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
}

impl LogDriver {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "json-file" => Ok(LogDriver::JsonFile),
            "local" => Ok(LogDriver::Local),
            "none" => Ok(LogDriver::None),
            _ => Err(Error::option(
                "--log-driver",
                s,
                "unknown driver (use json-file, local or none)",
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::Local => "local",
            LogDriver::None => "none",
        }
    }
}

/// The driver and its rotation settings (`HostConfig.LogConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// Rotate when the current file would exceed this; `None`: never.
    pub max_size: Option<u64>,
    /// Files kept, the current one included (≥ 1).
    pub max_file: u32,
    /// Gzip rotated files (all but the newest rotated one, `.1`).
    pub compress: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: None,
            max_file: 1,
            compress: false,
        }
    }
}

impl LogConfig {
    /// From `--log-driver` (None: json-file) and `--log-opt k=v` entries,
    /// with docker's defaults per driver (local: 20m, 5 files, compressed).
    pub fn from_flags(driver: Option<&str>, opts: &[String]) -> Result<Self> {
        let driver = match driver {
            Some(d) => LogDriver::parse(d)?,
            None => LogDriver::JsonFile,
        };
        let mut c = match driver {
            LogDriver::Local => LogConfig {
                driver,
                max_size: Some(20 * 1024 * 1024),
                max_file: 5,
                compress: true,
            },
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
            match k {
                "max-size" => {
                    let n = parse_size(v).ok_or_else(|| {
                        Error::option("--log-opt max-size", v, "not a size (e.g. 10m, 512k, 1g)")
                    })?;
                    // docker: "max-size must be a positive number" (0 is
                    // not "unlimited": leave the option out for that).
                    if n == 0 {
                        return Err(Error::option(
                            "--log-opt max-size",
                            v,
                            "max-size must be a positive number",
                        ));
                    }
                    c.max_size = Some(n);
                }
                "max-file" => {
                    let n: u32 = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        Error::option("--log-opt max-file", v, "must be a number >= 1")
                    })?;
                    c.max_file = n;
                    max_file_set = true;
                }
                "compress" => {
                    c.compress = v.parse().map_err(|_| {
                        Error::option("--log-opt compress", v, "must be true or false")
                    })?;
                }
                _ => {
                    return Err(Error::option(
                        "--log-opt",
                        o.as_str(),
                        format!("unknown option {k:?} for the {} driver", driver.as_str()),
                    ))
                }
            }
        }
        if driver == LogDriver::JsonFile && c.max_size.is_none() && max_file_set && c.max_file > 1 {
            return Err(Error::option(
                "--log-opt max-file",
                c.max_file.to_string(),
                "needs max-size",
            ));
        }
        Ok(c)
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
            (Some("syslog"), &[], "--log-driver"),
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
