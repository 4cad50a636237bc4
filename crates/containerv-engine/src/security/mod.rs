//! docker's isolation defaults and the flags that change them: what a
//! container may do (capabilities, syscalls, privilege escalation,
//! devices, kernel parameters, limits, shared namespaces, block I/O).
//!
//! Two halves, like the rest of the engine's options:
//! - [`SecurityOptions`]: the flags as given (strings), validated by
//!   [`SecurityOptions::validate`] at create time into a
//! - [`SecurityConfig`]: kept in the container's record, and applied to
//!   the OCI spec at every start by [`apply`] (spec.rs calls it last).
//!
//! Defaults are docker's: its 14 capabilities (bounding; effective and
//! permitted only for uid 0), moby's default seccomp profile compiled for
//! those capabilities, nofile 1024:524288 (the hard limit capped at ours,
//! which cannot be raised without CAP_SYS_RESOURCE). `--privileged` is
//! every capability, every host device, no seccomp, no masked or
//! read-only paths and a writable /sys.

mod blkio;
pub mod caps;
mod devices;
mod lsm;
mod namespaces;
pub mod seccomp;
mod sysctl;
mod ulimit;
mod userlookup;
pub mod userns;

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Spec};
use serde::{Deserialize, Serialize};

pub use blkio::BlkioConfig;
pub use devices::{DeviceMapping, DeviceRule};
pub use namespaces::NsMode;
pub use ulimit::Ulimit;

use crate::error::{Error, Result};

/// The flags, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct SecurityOptions {
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt` (seccomp=, no-new-privileges, label=, apparmor=,
    /// systempaths=unconfined).
    pub security_opt: Vec<String>,
    /// `--device HOST[:CTR[:rwm]]`.
    pub devices: Vec<String>,
    /// `--device-cgroup-rule 'c 1:3 rwm'`.
    pub device_cgroup_rules: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
    /// `--sysctl key=value`.
    pub sysctls: Vec<String>,
    /// `--shm-size`.
    pub shm_size: Option<String>,
    /// `--pid`, `--ipc`, `--uts`, `--userns`.
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub uts: Option<String>,
    pub userns: Option<String>,
    /// `--blkio-weight`.
    pub blkio_weight: Option<String>,
    /// `--device-read-bps DEV:RATE` and the other three throttles.
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
}

/// Where the syscall filter comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompChoice {
    /// moby's default profile.
    #[default]
    Default,
    /// `seccomp=unconfined`.
    Unconfined,
    /// `seccomp=PATH`: the file's contents, read at create time.
    Profile(String),
}

/// The validated settings, kept in the record (docker's `HostConfig`
/// names where it has them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityConfig {
    pub privileged: bool,
    /// The bounding set ("CAP_CHOWN", ...).
    pub capabilities: Vec<String>,
    pub seccomp: SeccompChoice,
    pub no_new_privileges: bool,
    /// `systempaths=unconfined`: no masked or read-only paths.
    #[serde(default)]
    pub unmasked_paths: bool,
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    #[serde(default)]
    pub device_cgroup_rules: Vec<DeviceRule>,
    #[serde(default)]
    pub group_add: Vec<String>,
    #[serde(default)]
    pub ulimits: Vec<Ulimit>,
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// Bytes; `None`: docker's 64 MiB.
    #[serde(default)]
    pub shm_size: Option<u64>,
    #[serde(default)]
    pub pid: NsMode,
    #[serde(default)]
    pub ipc: NsMode,
    #[serde(default)]
    pub uts: NsMode,
    #[serde(default)]
    pub userns: NsMode,
    #[serde(default)]
    pub blkio: BlkioConfig,
    /// The engine store holding a container joined by `container:NAME`
    /// (set at create with the join).
    #[serde(default)]
    pub store_root: Option<std::path::PathBuf>,
    /// The engine's `userns-remap` ranges, fixed at create (`None`: no
    /// user namespace, or `--userns host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_remap: Option<userns::IdMaps>,
}

impl Default for SecurityConfig {
    /// docker's defaults (also what a record written before these flags
    /// existed gets).
    fn default() -> Self {
        SecurityOptions::default()
            .validate(false)
            .expect("the defaults are valid")
    }
}

impl SecurityOptions {
    /// Checks every flag (`host_network`: `--network host`, which rules
    /// out net.* sysctls); nothing is created. Errors name the flag.
    pub fn validate(&self, host_network: bool) -> Result<SecurityConfig> {
        let capabilities = caps::tweak(&self.cap_add, &self.cap_drop, self.privileged)?;
        let mut seccomp = SeccompChoice::Default;
        let mut no_new_privileges = false;
        let mut unmasked_paths = false;
        for o in &self.security_opt {
            let (key, value) = o
                .split_once('=')
                .or_else(|| o.split_once(':'))
                .unwrap_or((o.as_str(), ""));
            match key {
                "seccomp" => {
                    seccomp = match value {
                        "unconfined" => SeccompChoice::Unconfined,
                        "" => return Err(Error::option("--security-opt", o.as_str(), "seccomp needs unconfined, builtin or a profile path")),
                        "builtin" | "default" => SeccompChoice::Default,
                        path => {
                            let text = std::fs::read_to_string(path).map_err(|e| {
                                Error::option("--security-opt", o.as_str(), format!("cannot read the profile: {e}"))
                            })?;
                            SeccompChoice::Profile(text)
                        }
                    }
                }
                "no-new-privileges" => {
                    no_new_privileges = match value {
                        "" | "true" => true,
                        "false" => false,
                        _ => return Err(Error::option("--security-opt", o.as_str(), "no-new-privileges takes true or false")),
                    }
                }
                "label" | "apparmor" => lsm::check(key, value, o)?,
                "systempaths" if value == "unconfined" => unmasked_paths = true,
                _ => {
                    return Err(Error::option(
                        "--security-opt",
                        o.as_str(),
                        "unknown option (use seccomp=, no-new-privileges, label=, apparmor=, systempaths=unconfined)",
                    ))
                }
            }
        }
        let config = SecurityConfig {
            privileged: self.privileged,
            capabilities,
            seccomp,
            no_new_privileges,
            unmasked_paths,
            devices: devices::parse_devices(&self.devices)?,
            device_cgroup_rules: devices::parse_rules(&self.device_cgroup_rules)?,
            group_add: userlookup::check_groups(&self.group_add)?,
            ulimits: ulimit::parse_all(&self.ulimits)?,
            sysctls: BTreeMap::new(),
            shm_size: match &self.shm_size {
                None => None,
                Some(s) => Some(
                    containerv::limits::parse_size("shm-size", s)
                        .map_err(|e| Error::option("--shm-size", s.as_str(), e.to_string()))?,
                ),
            },
            pid: namespaces::parse(
                "--pid",
                self.pid.as_deref(),
                &["host", "private", "container:"],
            )?,
            ipc: namespaces::parse(
                "--ipc",
                self.ipc.as_deref(),
                &["host", "private", "shareable", "none", "container:"],
            )?,
            uts: namespaces::parse("--uts", self.uts.as_deref(), &["host"])?,
            userns: namespaces::parse("--userns", self.userns.as_deref(), &["host"])?,
            blkio: blkio::parse(self)?,
            store_root: None,
            userns_remap: None,
        };
        let sysctls = sysctl::parse_all(&self.sysctls, &config, host_network)?;
        let config = SecurityConfig { sysctls, ..config };
        // A profile file's filter, compiled now: a bad profile fails
        // before anything exists. The built-in profile compiles for any
        // capabilities (`seccomp.rs` tests), so it is not compiled twice
        // per `cv run` (the runtime compiles it at start).
        if matches!(config.seccomp, SeccompChoice::Profile(_)) {
            if let Some(s) = config.seccomp_filter()? {
                containerv::linux::seccomp::compile(&s)
                    .map_err(|e| Error::option("--security-opt", "seccomp", e.to_string()))?;
            }
        }
        Ok(config)
    }
}

impl SecurityConfig {
    /// `--pid/--ipc container:NAME` → the container's id (create time; an
    /// unknown container is an error naming the flag).
    pub fn resolve_joins(&mut self, store: &crate::store::Store) -> Result<()> {
        for (flag, mode) in [("--pid", &mut self.pid), ("--ipc", &mut self.ipc)] {
            if let NsMode::Container(name) = mode {
                let id = store
                    .resolve(name)
                    .map_err(|e| Error::option(flag, format!("container:{name}"), e.to_string()))?;
                // docker's rule: only a donor made `--ipc shareable` shares
                // its IPC namespace and /dev/shm.
                if flag == "--ipc" && store.load_config(&id)?.security.ipc != NsMode::Shareable {
                    return Err(Error::option(
                        flag,
                        format!("container:{name}"),
                        "non-shareable IPC (hint: use --ipc shareable for the donor container)",
                    ));
                }
                *name = id;
                self.store_root = Some(store.root().to_path_buf());
            }
        }
        Ok(())
    }

    /// The mount namespace whose /dev/shm a container joining another's
    /// IPC namespace binds (docker shares the donor's /dev/shm): the
    /// donor's running init's, else `None`.
    pub fn shm_donor(&self) -> Option<std::path::PathBuf> {
        namespaces::ipc_donor(self).map(|pid| format!("/proc/{pid}/ns/mnt").into())
    }

    /// The OCI filter, or `None` (unconfined, privileged).
    pub fn seccomp_filter(&self) -> Result<Option<oci_spec::runtime::LinuxSeccomp>> {
        if self.privileged {
            return Ok(None);
        }
        match &self.seccomp {
            SeccompChoice::Unconfined => Ok(None),
            SeccompChoice::Default => {
                seccomp::resolve(seccomp::DEFAULT_PROFILE, &self.capabilities).map(Some)
            }
            SeccompChoice::Profile(p) => seccomp::resolve(p, &self.capabilities).map(Some),
        }
    }
}

fn cap_set(names: &[String]) -> Result<Capabilities> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::String(n.clone()))
                .map_err(|_| Error::option("--cap-add", n.as_str(), "unknown capability"))
        })
        .collect()
}

/// Applies `sec` to `spec` (built by spec.rs for the container whose
/// layers are `layers`, lowest first, and writable layer `upper`).
pub fn apply(
    spec: &mut Spec,
    sec: &SecurityConfig,
    user: Option<&str>,
    layers: &[std::path::PathBuf],
    upper: &Path,
) -> Result<()> {
    let roots = userlookup::Roots::new(upper, layers);
    let bounding = cap_set(&sec.capabilities)?;
    let root_user = roots.is_root(user);
    let mut lc = LinuxCapabilities::default();
    lc.set_bounding(Some(bounding.clone()));
    let granted = if root_user {
        bounding
    } else {
        Capabilities::new()
    };
    lc.set_effective(Some(granted.clone()));
    lc.set_permitted(Some(granted));
    lc.set_inheritable(Some(Capabilities::new()));
    lc.set_ambient(Some(Capabilities::new()));
    let filter = sec.seccomp_filter()?;
    let process = spec
        .process_mut()
        .as_mut()
        .expect("built spec has a process");
    process.set_capabilities(Some(lc));
    process.set_no_new_privileges(Some(sec.no_new_privileges));
    ulimit::apply(process, &sec.ulimits)?;
    if !sec.group_add.is_empty() {
        let mut gids = process.user().additional_gids().clone().unwrap_or_default();
        gids.extend(roots.group_ids(&sec.group_add)?);
        let mut u = process.user().clone();
        u.set_additional_gids(Some(gids));
        process.set_user(u);
    }
    let linux = spec.linux_mut().as_mut().expect("built spec has linux");
    linux.set_seccomp(filter);
    if sec.privileged || sec.unmasked_paths {
        linux.set_masked_paths(Some(vec![]));
        linux.set_readonly_paths(Some(vec![]));
    }
    if !sec.sysctls.is_empty() {
        // Merged over what spec.rs set (e.g. ping_group_range): ours win.
        let mut all = linux.sysctl().clone().unwrap_or_default();
        all.extend(sec.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())));
        linux.set_sysctl(Some(all));
    }
    devices::apply(spec, sec)?;
    namespaces::apply(spec, sec, upper)?;
    blkio::apply(spec, &sec.blkio)?;
    let shm = sec.shm_size.unwrap_or(64 << 20);
    let privileged = sec.privileged;
    let host_ipc = sec.ipc == NsMode::Host;
    if let Some(mounts) = spec.mounts_mut().as_mut() {
        for m in mounts.iter_mut() {
            let dest = m.destination().to_string_lossy().into_owned();
            let mut opts = m.options().clone().unwrap_or_default();
            match dest.as_str() {
                "/dev/shm" if host_ipc => {
                    // The host's IPC namespace has the host's POSIX shared
                    // memory: docker binds the host's /dev/shm for
                    // `--ipc host` (a private tmpfs would split the two).
                    m.set_typ(Some("bind".into()));
                    m.set_source(Some("/dev/shm".into()));
                    opts = ["rbind", "nosuid", "noexec", "nodev"]
                        .map(String::from)
                        .to_vec();
                }
                "/dev/shm" => {
                    opts.retain(|o| !o.starts_with("size="));
                    opts.push(format!("size={}k", shm.div_ceil(1024)));
                }
                "/sys" | "/sys/fs/cgroup" if privileged => {
                    opts.retain(|o| o != "ro");
                    opts.push("rw".into());
                }
                _ => continue,
            }
            m.set_options(Some(opts));
        }
    }
    Ok(())
}
