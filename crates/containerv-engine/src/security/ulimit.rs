//! `--ulimit name=soft[:hard]` (docker's names: nofile, nproc, core,
//! memlock, stack, ...), and docker's default nofile of 1024:524288.
//!
//! Raising a hard limit above the caller's needs CAP_SYS_RESOURCE, which
//! this engine may not have (ENVIRONMENT.md: a sandboxed root): a hard
//! limit above ours is refused at create time when we cannot raise it,
//! and the default's hard limit is capped at ours.

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One limit (docker's `Ulimit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

const NAMES: [&str; 16] = [
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    serde_json::from_value(serde_json::Value::String(format!(
        "RLIMIT_{}",
        name.to_ascii_uppercase()
    )))
    .ok()
}

/// Our own limit of `resource` (soft, hard).
fn own(resource: libc::__rlimit_resource_t) -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(resource, &mut r) } != 0 {
        return (u64::MAX, u64::MAX);
    }
    (r.rlim_cur, r.rlim_max)
}

/// Whether we hold CAP_SYS_RESOURCE (may raise hard limits).
fn can_raise() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|m| m & (1 << 24) /* CAP_SYS_RESOURCE */ != 0)
}

fn parse_value(flag_value: &str, v: &str) -> Result<u64> {
    if v == "-1" || v == "unlimited" {
        return Ok(u64::MAX);
    }
    v.parse::<u64>()
        .map_err(|_| Error::option("--ulimit", flag_value, format!("{v:?} is not a number")))
}

/// Parses every `--ulimit`; later ones for the same name win.
pub(super) fn parse_all(given: &[String]) -> Result<Vec<Ulimit>> {
    let mut out: Vec<Ulimit> = Vec::new();
    for u in given {
        let (name, values) = u
            .split_once('=')
            .ok_or_else(|| Error::option("--ulimit", u.as_str(), "not name=soft[:hard]"))?;
        if !NAMES.contains(&name) {
            return Err(Error::option(
                "--ulimit",
                u.as_str(),
                format!("unknown limit {name:?} (e.g. nofile, nproc, core, memlock, stack)"),
            ));
        }
        let (soft, hard) = match values.split_once(':') {
            Some((s, h)) => (parse_value(u, s)?, parse_value(u, h)?),
            None => {
                let v = parse_value(u, values)?;
                (v, v)
            }
        };
        if soft > hard {
            return Err(Error::option(
                "--ulimit",
                u.as_str(),
                "the soft limit is above the hard limit",
            ));
        }
        if let Some(typ) = rlimit_type(name) {
            let res = rlimit_resource(typ);
            let (_, our_hard) = own(res);
            if hard > our_hard && !can_raise() {
                return Err(Error::option(
                    "--ulimit",
                    u.as_str(),
                    format!(
                        "the hard limit is above this engine's own ({our_hard}) and it lacks CAP_SYS_RESOURCE to raise it"
                    ),
                ));
            }
        }
        out.retain(|x| x.name != name);
        out.push(Ulimit {
            name: name.to_string(),
            soft,
            hard,
        });
    }
    Ok(out)
}

fn rlimit_resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    match t {
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
    }
}

fn rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> PosixRlimit {
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .expect("all fields set")
}

/// Sets the process's limits: docker's default nofile, then the flags.
pub(super) fn apply(process: &mut Process, ulimits: &[Ulimit]) -> Result<()> {
    let (_, our_hard) = own(libc::RLIMIT_NOFILE);
    let hard = if can_raise() {
        524288
    } else {
        524288.min(our_hard)
    };
    let mut list = vec![rlimit(PosixRlimitType::RlimitNofile, 1024.min(hard), hard)];
    for u in ulimits {
        let typ = rlimit_type(&u.name)
            .ok_or_else(|| Error::option("--ulimit", u.name.as_str(), "unknown limit"))?;
        list.retain(|r| r.typ() != typ);
        list.push(rlimit(typ, u.soft, u.hard));
    }
    process.set_rlimits(Some(list));
    Ok(())
}
