//! `-v` and `--mount` as docker reads them, and the record a container
//! keeps of each volume it mounts.
//!
//! - `-v /host:/ctr[:opts]`: a bind (the host path must exist);
//! - `-v NAME:/ctr[:opts]`: named volume NAME (made on first use);
//! - `-v /ctr`: an anonymous volume (random name, removed with the
//!   container by `rm -v` / `run --rm`);
//! - `--mount type=volume|bind,src=…,dst=…[,readonly][,volume-nocopy]`.
//!
//! Options: `ro`, `rw`, `nocopy` (no copy-up), comma-separated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::BindMount;

/// A volume mounted by a container (kept in its config record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub name: String,
    /// The volume's `_data` directory (set when the container is created).
    #[serde(default)]
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// `-v /path`: made for this container, removed with it by `rm -v`.
    pub anonymous: bool,
    /// Do not copy the image's content into a new volume.
    #[serde(default)]
    pub nocopy: bool,
    /// `--mount …,volume-opt=K=V`: the local driver's options for a
    /// volume this container makes (ignored for one that exists, as
    /// docker).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// One parsed `-v` / `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountArg {
    Bind(BindMount),
    Volume(VolumeMount),
    /// `--mount type=tmpfs`: the equivalent `--tmpfs PATH[:OPTS]` spec.
    Tmpfs(String),
}

struct Opts {
    read_only: bool,
    nocopy: bool,
    volume_opts: BTreeMap<String, String>,
}

fn parse_opts(flag: &str, whole: &str, s: &str) -> Result<Opts> {
    let mut o = Opts {
        read_only: false,
        nocopy: false,
        volume_opts: BTreeMap::new(),
    };
    for m in s.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => o.read_only = true,
            "rw" => o.read_only = false,
            "nocopy" => o.nocopy = true,
            // SELinux relabelling and propagation: nothing to do here.
            "z" | "Z" | "rprivate" | "private" => {}
            _ => {
                return Err(Error::option(
                    flag,
                    whole,
                    format!("unknown option {m:?} (use ro, rw or nocopy)"),
                ))
            }
        }
    }
    Ok(o)
}

fn check_destination(flag: &str, whole: &str, dst: &str) -> Result<()> {
    if !dst.starts_with('/') || Path::new(dst) == Path::new("/") {
        return Err(Error::option(
            flag,
            whole,
            "the container path must be absolute and not /",
        ));
    }
    if dst.split('/').any(|c| c == "..") {
        return Err(Error::option(
            flag,
            whole,
            "the container path must not contain \"..\"",
        ));
    }
    Ok(())
}

/// A bind of host path `src`. `--mount` refuses a missing one; `-v`
/// accepts it (docker makes the directory: see `make_missing_sources`).
fn bind(flag: &str, whole: &str, src: &str, dst: &str, read_only: bool) -> Result<MountArg> {
    if flag != "-v" && !Path::new(src).exists() {
        return Err(Error::option(
            flag,
            whole,
            format!("the host path {src} does not exist"),
        ));
    }
    Ok(MountArg::Bind(BindMount {
        source: src.into(),
        destination: dst.into(),
        read_only,
    }))
}

fn volume(flag: &str, whole: &str, name: Option<&str>, dst: &str, o: Opts) -> Result<MountArg> {
    let (name, anonymous) = match name {
        Some(n) => {
            super::validate_name(n).map_err(|e| Error::option(flag, whole, e.to_string()))?;
            (n.to_string(), false)
        }
        None => (super::random_name()?, true),
    };
    Ok(MountArg::Volume(VolumeMount {
        name,
        source: PathBuf::new(),
        destination: dst.to_string(),
        read_only: o.read_only,
        anonymous,
        nocopy: o.nocopy,
        options: o.volume_opts,
    }))
}

/// Makes the missing host directories of `-v` binds (mode 0755, as
/// docker), once everything else about the container was found valid.
pub fn make_missing_sources(binds: &[BindMount]) -> Result<()> {
    for b in binds {
        if std::fs::symlink_metadata(&b.source).is_err() {
            std::fs::create_dir_all(&b.source).map_err(|e| {
                Error::option(
                    "-v",
                    b.source.display().to_string(),
                    format!("cannot create the host directory: {e}"),
                )
            })?;
        }
    }
    Ok(())
}

/// `-v SPEC`.
pub fn parse_v(v: &str) -> Result<MountArg> {
    let parts: Vec<&str> = v.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => (None, *d, ""),
        [s, d] => (Some(*s), *d, ""),
        [s, d, m] => (Some(*s), *d, *m),
        _ => {
            return Err(Error::option(
                "-v",
                v,
                "expected /container/path, NAME:/container/path[:ro] or /host/path:/container/path[:ro]",
            ))
        }
    };
    check_destination("-v", v, dst)?;
    let o = parse_opts("-v", v, opts)?;
    match src {
        Some("") => Err(Error::option("-v", v, "empty source")),
        Some(s) if s.starts_with('/') => {
            if o.nocopy {
                return Err(Error::option("-v", v, "nocopy applies to volumes only"));
            }
            bind("-v", v, s, dst, o.read_only)
        }
        Some(name) => volume("-v", v, Some(name), dst, o),
        None => volume("-v", v, None, dst, o),
    }
}

/// `--mount`'s fields, split as docker's CSV reader does: a field in
/// double quotes may hold commas (`"volume-opt=o=size=64m,uid=1000"`).
fn csv_fields(m: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = m.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// `--mount type=…,src=…,dst=…[,readonly][,volume-nocopy][,volume-opt=K=V]`.
pub fn parse_mount(m: &str) -> Result<MountArg> {
    let bad = |why: String| Error::option("--mount", m, why);
    let (mut typ, mut src, mut dst) = (None, None, None);
    let mut tmpfs_opts: Vec<String> = Vec::new();
    let mut o = Opts {
        read_only: false,
        nocopy: false,
        volume_opts: BTreeMap::new(),
    };
    let fields = csv_fields(m);
    for field in fields.iter().map(String::as_str) {
        let (k, val) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let flag = |val: Option<&str>| match val {
            None | Some("1") | Some("true") => Ok(true),
            Some("0") | Some("false") => Ok(false),
            Some(x) => Err(bad(format!("{k}={x}: expected true or false"))),
        };
        match (k, val) {
            ("type", Some(t)) => typ = Some(t),
            ("source" | "src", Some(s)) => src = Some(s),
            ("destination" | "dst" | "target", Some(d)) => dst = Some(d),
            ("readonly" | "ro", v) => o.read_only = flag(v)?,
            ("volume-nocopy", v) => o.nocopy = flag(v)?,
            ("volume-opt", Some(kv)) => match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    o.volume_opts.insert(k.to_string(), v.to_string());
                }
                _ => return Err(bad(format!("{field:?}: expected volume-opt=KEY=VALUE"))),
            },
            ("bind-propagation", Some("rprivate" | "private")) => {}
            ("tmpfs-size", Some(v)) if !v.is_empty() => tmpfs_opts.push(format!("size={v}")),
            ("tmpfs-mode", Some(v)) if !v.is_empty() => tmpfs_opts.push(format!("mode={v}")),
            _ => return Err(bad(format!("unknown or incomplete field {field:?}"))),
        }
    }
    let Some(dst) = dst else {
        return Err(bad("dst (the container path) is required".into()));
    };
    check_destination("--mount", m, dst)?;
    if !o.volume_opts.is_empty() && typ != Some("volume") {
        return Err(bad("volume-opt applies to type=volume only".into()));
    }
    match typ {
        Some("volume") => volume("--mount", m, src.filter(|s| !s.is_empty()), dst, o),
        Some("bind") => match src {
            Some(s) if s.starts_with('/') => bind("--mount", m, s, dst, o.read_only),
            _ => Err(bad("a bind needs src=/absolute/host/path".into())),
        },
        Some("tmpfs") => {
            if src.is_some_and(|s| !s.is_empty()) {
                return Err(bad("a tmpfs mount takes no src".into()));
            }
            if o.read_only {
                tmpfs_opts.push("ro".into());
            }
            let spec = if tmpfs_opts.is_empty() {
                dst.to_string()
            } else {
                format!("{dst}:{}", tmpfs_opts.join(","))
            };
            // Checked as --tmpfs would be, but named as --mount.
            crate::options::parse_tmpfs(&spec).map_err(|e| bad(e.to_string()))?;
            Ok(MountArg::Tmpfs(spec))
        }
        Some(t) => Err(bad(format!(
            "unknown type {t:?} (use volume, bind or tmpfs)"
        ))),
        None => Err(bad("type=volume or type=bind is required".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(a: MountArg) -> VolumeMount {
        match a {
            MountArg::Volume(v) => v,
            b => panic!("not a volume: {b:?}"),
        }
    }

    #[test]
    fn v_forms() {
        let v = vol(parse_v("data:/d:ro").unwrap());
        assert_eq!((v.name.as_str(), v.destination.as_str()), ("data", "/d"));
        assert!(v.read_only && !v.anonymous);
        let a = vol(parse_v("/cache").unwrap());
        assert!(a.anonymous && a.name.len() == 64 && !a.read_only);
        assert!(matches!(parse_v("/tmp:/t:ro").unwrap(), MountArg::Bind(b) if b.read_only));
        assert!(vol(parse_v("data:/d:nocopy,rw").unwrap()).nocopy);
    }

    #[test]
    fn mount_forms() {
        let v = vol(parse_mount("type=volume,src=data,dst=/d,readonly").unwrap());
        assert!(v.read_only && v.name == "data");
        assert!(vol(parse_mount("type=volume,target=/d").unwrap()).anonymous);
        assert!(matches!(
            parse_mount("type=bind,source=/tmp,destination=/t").unwrap(),
            MountArg::Bind(b) if !b.read_only
        ));
    }

    #[test]
    fn volume_opts_in_quoted_fields() {
        let v = vol(parse_mount(
            "type=volume,src=tv,dst=/t,volume-opt=type=tmpfs,volume-opt=device=tmpfs,\"volume-opt=o=size=64m,uid=1000\"",
        )
        .unwrap());
        assert_eq!(v.options["type"], "tmpfs");
        assert_eq!(v.options["o"], "size=64m,uid=1000");
        assert!(parse_mount("type=bind,src=/tmp,dst=/t,volume-opt=size=1m").is_err());
        assert!(parse_mount("type=volume,dst=/t,volume-opt=nokey").is_err());
    }

    #[test]
    fn bad_specs_name_the_flag_and_the_problem() {
        for (s, want) in [
            ("./rel:/x", "volume name"),
            ("a/b:/x", "volume name"),
            ("x:/y:rx", "unknown option"),
            ("data:rel", "absolute"),
            ("data:/", "absolute"),
            ("data:/a/../b", ".."),
            ("a:b:c:d", "expected"),
            ("relative", "absolute"),
        ] {
            let e = parse_v(s).unwrap_err().to_string();
            assert!(e.contains("-v") && e.contains(want), "{s}: {e}");
        }
        for (s, want) in [
            ("type=volume,src=data", "dst"),
            ("type=nfs,dst=/x", "unknown type"),
            ("src=data,dst=/x", "type="),
            ("type=bind,src=rel,dst=/x", "absolute"),
            ("type=volume,dst=/x,bogus=1", "bogus"),
            ("type=volume,src=-x,dst=/x", "volume name"),
            ("type=bind,src=/no/such/host/path,dst=/x", "does not exist"),
        ] {
            let e = parse_mount(s).unwrap_err().to_string();
            assert!(e.contains("--mount") && e.contains(want), "{s}: {e}");
        }
    }
}
