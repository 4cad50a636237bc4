//! The engine's configuration file: defaults an administrator sets once for
//! every `cv` on the machine (what dockerd's `daemon.json` is to docker),
//! in TOML.
//!
//! Why a file read by every `cv`: there is no daemon to hold settings, so
//! each `cv` process reads it when it opens the engine (one small read).
//! Values that shape a container or a volume are applied when it is made
//! and recorded with it, so a later change of the file never changes what
//! already exists (as docker: a changed `daemon.json` applies to new
//! containers).
//!
//! Which file: `cv --config-file PATH`, else `$CONTAINERV_CONFIG_FILE`,
//! else [`DEFAULT_PATH`]. A file named by the flag or the variable must
//! exist; the default one may be absent (every value is then its default).
//! Unknown keys are refused, not ignored (a misspelt key must not leave a
//! default silently in place), and every value is checked here: a bad file
//! fails every engine command with the file, the key and the value named,
//! before anything is made (dockerd refuses to start on a bad
//! `daemon.json`).
//!
//! ```toml
//! [storage]
//! # The engine's state root; `--root` and $CONTAINERV_ROOT win over it.
//! root = "/var/lib/containerv/engine"
//! # The image store; `--image-root` and $CONTAINERV_IMAGE_ROOT win.
//! image-root = "/var/lib/containerv/images"
//!
//! [volumes]
//! # `--opt`s every new local volume gets for each key its own `--opt`s
//! # do not name (docker's local driver keys: type, device, o, size).
//! default-opts = { size = "10g" }
//!
//! [log]
//! # Default log driver and options for new containers (dockerd's
//! # `log-driver` and `log-opts`): `--log-driver` wins; the options apply
//! # when the container's driver is this one, for the keys its own
//! # `--log-opt`s leave out. Checked as `--log-opt`s are.
//! driver = "syslog"
//! opts = { syslog-address = "udp://127.0.0.1:514", tag = "{{.Name}}" }
//!
//! [security]
//! # dockerd's `userns-remap`: new containers run in a user namespace whose
//! # root is the first id of USER's ranges in the subuid file (GROUP's in
//! # the subgid file); "default" is the user `containerv`. `cv run
//! # --userns host` opts a container out. See `security::userns`.
//! userns-remap = "USER[:GROUP]"
//! subuid-file = "/etc/subuid"   # where the ranges are read (defaults shown)
//! subgid-file = "/etc/subgid"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the engine looks for its configuration when told nothing.
pub const DEFAULT_PATH: &str = "/etc/containerv/engine.toml";

/// The variable naming another configuration file (tests, a second engine).
pub const PATH_ENV: &str = "CONTAINERV_CONFIG_FILE";

/// The engine's configuration (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineConfig {
    /// `[storage]`: where the engine keeps things.
    #[serde(default)]
    pub storage: StorageConfig,
    /// `[volumes]`: defaults for new volumes.
    #[serde(default)]
    pub volumes: VolumeDefaults,
    /// `[log]`: the default log driver and options.
    #[serde(default)]
    pub log: LogDefaults,
    /// `[security]`: user-namespace remapping.
    #[serde(default)]
    pub security: SecurityDefaults,
    /// The file this was read from (`None`: no file, all defaults).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[storage]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageConfig {
    /// The engine's state root (containers, volumes, networks).
    pub root: Option<PathBuf>,
    /// The image store's root.
    pub image_root: Option<PathBuf>,
}

/// `[volumes]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VolumeDefaults {
    /// Options a new local volume gets for the keys its `--opt`s leave out.
    #[serde(default)]
    pub default_opts: BTreeMap<String, String>,
}

/// `[log]` (dockerd's `log-driver`, `log-opts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogDefaults {
    /// The driver of a container started without `--log-driver`
    /// (default `json-file`).
    pub driver: Option<String>,
    /// Options for containers whose driver is the default one.
    #[serde(default)]
    pub opts: BTreeMap<String, String>,
}

/// `[security]` (dockerd's `userns-remap`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecurityDefaults {
    /// "default", "USER" or "USER:GROUP" (names as in the subid files).
    pub userns_remap: Option<String>,
    /// The subordinate uid file (default /etc/subuid).
    pub subuid_file: Option<PathBuf>,
    /// The subordinate gid file (default /etc/subgid).
    pub subgid_file: Option<PathBuf>,
    /// The ranges `userns-remap` names, read when the file is loaded.
    #[serde(skip)]
    pub remap: Option<crate::security::userns::IdMaps>,
}

impl SecurityDefaults {
    fn resolve(&mut self) -> std::result::Result<(), String> {
        let Some(v) = &self.userns_remap else {
            return Ok(());
        };
        let uid = self
            .subuid_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/subuid"));
        let gid = self
            .subgid_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/subgid"));
        let maps = crate::security::userns::IdMaps::resolve(v, &uid, &gid)
            .map_err(|e| format!("security.userns-remap = {v:?}: {e}"))?;
        self.remap = Some(maps);
        Ok(())
    }
}

impl LogDefaults {
    /// The default driver's name.
    pub fn driver(&self) -> &str {
        self.driver.as_deref().unwrap_or("json-file")
    }

    /// A container's `--log-driver` and `--log-opt`s with the defaults
    /// applied as dockerd merges them: the default driver when none is
    /// given; the default options, for keys not given, only when the
    /// container's driver is the default one.
    pub fn apply(&self, driver: Option<&str>, opts: &[String]) -> (Option<String>, Vec<String>) {
        let driver = driver.unwrap_or(self.driver()).to_string();
        let mut out = opts.to_vec();
        if driver == self.driver() {
            for (k, v) in &self.opts {
                let given = opts
                    .iter()
                    .any(|o| o.split_once('=').is_some_and(|(ok, _)| ok == k));
                if !given {
                    out.push(format!("{k}={v}"));
                }
            }
        }
        (Some(driver), out)
    }
}

impl EngineConfig {
    /// The file to read: `explicit` (the `--config-file` flag), else
    /// `$CONTAINERV_CONFIG_FILE`, else [`DEFAULT_PATH`]; the bool says
    /// whether it was named (then it must exist).
    pub fn locate(explicit: Option<&Path>) -> (PathBuf, bool) {
        if let Some(p) = explicit {
            return (p.to_path_buf(), true);
        }
        match std::env::var_os(PATH_ENV) {
            Some(p) if !p.is_empty() => (PathBuf::from(p), true),
            _ => (PathBuf::from(DEFAULT_PATH), false),
        }
    }

    /// Reads and checks the configuration (see the module doc for which
    /// file).
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let (path, named) = Self::locate(explicit);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                return Ok(EngineConfig::default())
            }
            Err(e) => return Err(Error::io("read the engine configuration", &path, e)),
        };
        let mut c = Self::parse(&text).map_err(|reason| Error::Config {
            path: path.clone(),
            reason,
        })?;
        c.source = Some(path);
        Ok(c)
    }

    /// Parses and checks a configuration's text; the error names the key
    /// and the value.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut c: EngineConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()?;
        c.security.resolve()?;
        Ok(c)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        for (key, p) in [
            ("storage.root", &self.storage.root),
            ("storage.image-root", &self.storage.image_root),
            ("security.subuid-file", &self.security.subuid_file),
            ("security.subgid-file", &self.security.subgid_file),
        ] {
            if let Some(p) = p {
                if !p.is_absolute() {
                    return Err(format!(
                        "{key} = {:?}: must be an absolute path",
                        p.display().to_string()
                    ));
                }
            }
        }
        crate::volumes::options::VolumeOptions::parse(&self.volumes.default_opts)
            .map_err(|e| format!("volumes.default-opts: {e}"))?;
        let (driver, opts) = self.log.apply(None, &[]);
        crate::logs::LogConfig::from_flags(driver.as_deref(), &opts)
            .map_err(|e| format!("log: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_full_files() {
        assert_eq!(EngineConfig::parse("").unwrap(), EngineConfig::default());
        let c = EngineConfig::parse(
            "[storage]\nroot = \"/srv/cv\"\nimage-root = \"/srv/img\"\n\
             [volumes]\ndefault-opts = { size = \"10g\" }\n",
        )
        .unwrap();
        assert_eq!(c.storage.root.as_deref(), Some(Path::new("/srv/cv")));
        assert_eq!(c.storage.image_root.as_deref(), Some(Path::new("/srv/img")));
        assert_eq!(c.volumes.default_opts["size"], "10g");
    }

    #[test]
    fn errors_name_the_key_and_the_value() {
        for (text, want) in [
            ("[storage]\nrooot = \"/x\"\n", "rooot"),
            ("[storge]\n", "storge"),
            (
                "[storage]\nroot = \"rel/dir\"\n",
                "storage.root = \"rel/dir\"",
            ),
            ("[storage]\nroot = 5\n", "root"),
            (
                "[volumes]\ndefault-opts = { size = \"abc\" }\n",
                "volumes.default-opts: invalid --opt size \"abc\"",
            ),
            (
                "[volumes]\ndefault-opts = { colour = \"red\" }\n",
                "\"colour\"",
            ),
            ("[storage\n", "line 1"),
            ("[log]\ndriver = \"gelf\"\n", "log: "),
            (
                "[log]\ndriver = \"syslog\"\nopts = { syslog-address = \"ftp://x\" }\n",
                "syslog-address",
            ),
            ("[log]\nopts = { colour = \"red\" }\n", "colour"),
            ("[log]\ndrivr = \"local\"\n", "drivr"),
            (
                "[security]\nuserns-remap = \"x\"\nsubuid-file = \"/nonexistent/subuid\"\n",
                "security.userns-remap = \"x\": cannot read /nonexistent/subuid",
            ),
            (
                "[security]\nsubgid-file = \"rel\"\n",
                "security.subgid-file = \"rel\"",
            ),
            ("[security]\nuserns-remap = \"\"\n", "security.userns-remap"),
            ("[security]\nuserns = \"x\"\n", "userns"),
        ] {
            let e = EngineConfig::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn log_defaults_merge_as_dockerd() {
        let c = EngineConfig::parse(
            "[log]\ndriver = \"syslog\"\nopts = { tag = \"{{.Name}}\", syslog-format = \"rfc5424\" }\n",
        )
        .unwrap();
        let (d, o) = c.log.apply(None, &["tag=mine".to_string()]);
        assert_eq!(d.as_deref(), Some("syslog"));
        assert_eq!(o, ["tag=mine", "syslog-format=rfc5424"]);
        // Another driver: the defaults' options do not apply.
        let (d, o) = c.log.apply(Some("json-file"), &[]);
        assert_eq!((d.as_deref(), o.len()), (Some("json-file"), 0));
    }

    #[test]
    fn a_named_file_must_exist_the_default_may_not() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("none.toml");
        let e = EngineConfig::load(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("none.toml"), "{e}");
        let f = d.path().join("engine.toml");
        std::fs::write(&f, "[volumes]\ndefault-opts = { siz = \"1g\" }\n").unwrap();
        let e = EngineConfig::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("engine.toml") && e.contains("siz"), "{e}");
        std::fs::write(&f, "[storage]\nroot = \"/srv/x\"\n").unwrap();
        let c = EngineConfig::load(Some(&f)).unwrap();
        assert_eq!(c.source.as_deref(), Some(f.as_path()));
    }
}
