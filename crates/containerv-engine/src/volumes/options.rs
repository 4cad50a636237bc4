//! docker's `local` volume driver options (`cv volume create --opt K=V`,
//! `--mount …,volume-opt=K=V`, the engine file's `[volumes]
//! default-opts`): `type`, `device`, `o` (mount(8)'s), `size` (a quota).
//!
//! Why one parser for every source: the same keys reach a volume from the
//! command line, from `run --mount` and from the engine's file, and each
//! must be refused the same way, before anything is made.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The keys docker's local driver takes.
pub const KEYS: [&str; 4] = ["type", "device", "o", "size"];

/// A volume's options, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeOptions {
    /// `type=`: the filesystem to mount (`tmpfs`, `none` with `o=bind`,
    /// `ext4`…); `None`: a plain directory.
    pub fs_type: Option<String>,
    /// `device=`: what to mount.
    pub device: Option<String>,
    /// `o=`: mount options, comma-separated.
    pub o: Option<String>,
    /// `size=`: the quota, in bytes.
    pub size: Option<u64>,
}

impl VolumeOptions {
    /// Checks `opts` as docker's local driver does: known keys, `size` a
    /// size, `type` and `device` together, `o` only with both.
    pub fn parse(opts: &BTreeMap<String, String>) -> Result<Self> {
        for (k, v) in opts {
            if !KEYS.contains(&k.as_str()) {
                return Err(Error::option(
                    "--opt",
                    format!("{k}={v}"),
                    format!(
                        "invalid option {k:?} (the local driver takes type, device, o and size)"
                    ),
                ));
            }
        }
        let size =
            match opts.get("size") {
                Some(v) => Some(containerv::limits::parse_size("size", v).map_err(|_| {
                    Error::option("--opt size", v, "not a size (use e.g. 100m or 1g)")
                })?),
                None => None,
            };
        for (key, needs) in [
            ("device", &["type"][..]),
            ("type", &["device"][..]),
            ("o", &["device", "type"][..]),
        ] {
            if let Some(v) = opts.get(key) {
                if let Some(missing) = needs.iter().find(|n| !opts.contains_key(**n)) {
                    return Err(Error::option(
                        format!("--opt {key}"),
                        v,
                        format!("missing required option {missing:?}"),
                    ));
                }
            }
        }
        Ok(VolumeOptions {
            fs_type: opts.get("type").cloned(),
            device: opts.get("device").cloned(),
            o: opts.get("o").cloned(),
            size,
        })
    }

    /// Nothing to mount and no quota: a plain directory.
    pub fn is_plain(&self) -> bool {
        *self == VolumeOptions::default()
    }
}

/// `K=V` strings (`--opt`) as a map; a later key wins, as docker's.
pub fn from_flags(flag: &str, kvs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for kv in kvs {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                m.insert(k.to_string(), v.to_string());
            }
            _ => return Err(Error::option(flag, kv, "expected KEY=VALUE")),
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kv: &[&str]) -> BTreeMap<String, String> {
        from_flags(
            "--opt",
            &kv.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn docker_forms_parse() {
        let o = VolumeOptions::parse(&m(&["type=tmpfs", "device=tmpfs", "o=size=64m,uid=1000"]))
            .unwrap();
        assert_eq!(o.fs_type.as_deref(), Some("tmpfs"));
        assert_eq!(o.o.as_deref(), Some("size=64m,uid=1000"));
        assert_eq!(
            VolumeOptions::parse(&m(&["size=100m"])).unwrap().size,
            Some(100 << 20)
        );
        assert!(VolumeOptions::parse(&m(&[])).unwrap().is_plain());
    }

    #[test]
    fn bad_options_are_named() {
        for (kv, want) in [
            (&["size=abc"][..], "--opt size \"abc\""),
            (&["colour=red"][..], "invalid option \"colour\""),
            (&["type=tmpfs"][..], "missing required option \"device\""),
            (&["device=/dev/x"][..], "missing required option \"type\""),
            (
                &["o=bind", "device=/x"][..],
                "missing required option \"type\"",
            ),
        ] {
            let e = VolumeOptions::parse(&m(kv)).unwrap_err().to_string();
            assert!(e.contains(want), "{kv:?}: {e}");
        }
        assert!(from_flags("--opt", &["novalue".into()]).is_err());
        assert!(from_flags("--opt", &["=v".into()]).is_err());
    }
}
