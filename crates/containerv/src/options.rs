//! `ContainerOptions`: the builder a library user starts from.
//!
//! It validates everything up front (so a bad value fails before anything
//! exists) and produces the same OCI runtime [`Spec`] the OCI CLI reads from
//! `config.json`, plus a [`CreateConfig`]: there is one path to a container.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
    RootBuilder, Spec,
};

use crate::config::{CreateConfig, InitKind, OverlayConfig};
use crate::error::{Error, Result};
use crate::limits::ResourceLimits;
use crate::network::Veth;

macro_rules! default_path {
    () => {
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    };
}

/// The PATH a process gets when its spec or image sets none (runc's and
/// docker's), and the one the program is looked up in then. The one copy
/// for the core, the runtime's `spec` and the engine.
pub const DEFAULT_PATH: &str = default_path!();

/// [`DEFAULT_PATH`] as an environment entry.
pub const DEFAULT_PATH_ENV: &str = concat!("PATH=", default_path!());

/// Masked paths the builder adds to the OCI defaults (podman's list).
pub const EXTRA_MASKED_PATHS: [&str; 2] = ["/sys/devices/virtual/powercap", "/sys/dev/block"];

/// Which namespaces a container gets. The mount namespace is always
/// created (the rootfs needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespaces {
    pub pid: bool,
    pub net: bool,
    pub uts: bool,
    pub ipc: bool,
    pub cgroup: bool,
    pub user: bool,
}

impl Default for Namespaces {
    /// Everything but the user namespace, like runc's default spec.
    fn default() -> Self {
        Namespaces {
            pid: true,
            net: true,
            uts: true,
            ipc: true,
            cgroup: true,
            user: false,
        }
    }
}

/// A uid or gid mapping for a user namespace: `size` ids from
/// `container_id` map to `host_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The veth option as given: the seed's four strings (checked in
/// `build`) or a full [`Veth`].
#[derive(Debug, Clone)]
enum VethOpt {
    Strings([String; 4]),
    Config(Veth),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Bind {
    source: PathBuf,
    target: PathBuf,
    readonly: bool,
}

/// Builder for a container. See the crate docs for an example.
#[derive(Debug, Clone, Default)]
pub struct ContainerOptions {
    rootfs: Option<PathBuf>,
    binds: Vec<Bind>,
    overlay: Option<OverlayConfig>,
    namespaces: Namespaces,
    net_ns_path: Option<PathBuf>,
    veth: Option<VethOpt>,
    uid_map: Vec<IdMap>,
    gid_map: Vec<IdMap>,
    hostname: Option<String>,
    env: Vec<String>,
    rlimits: Vec<(String, u64, u64)>,
    command: Option<Vec<String>>,
    cwd: Option<PathBuf>,
    readonly_rootfs: bool,
    cgroups_path: Option<String>,
    annotations: HashMap<String, String>,
    /// Resource limits (strings parsed when the spec is built).
    pub limits: ResourceLimits,
    /// Windows-only settings (job object limits): see `crate::windows::spec`.
    #[cfg(windows)]
    windows: crate::windows::WindowsOptions,
}

impl ContainerOptions {
    /// Options with runc's defaults: all namespaces but user, no limits,
    /// the built-in init.
    pub fn new() -> Self {
        Self::default()
    }

    /// The base root filesystem (a directory on the host). Required.
    pub fn rootfs(mut self, dir: impl Into<PathBuf>) -> Self {
        self.rootfs = Some(dir.into());
        self
    }

    /// Bind-mount host directory (or file) `source` at `target` inside.
    pub fn bind(
        mut self,
        source: impl Into<PathBuf>,
        target: impl Into<PathBuf>,
        readonly: bool,
    ) -> Self {
        self.binds.push(Bind {
            source: source.into(),
            target: target.into(),
            readonly,
        });
        self
    }

    /// Put a writable overlay layer over the rootfs (the base stays
    /// untouched). `keep_upper` keeps the written files after destroy.
    pub fn overlay(mut self, keep_upper: bool) -> Self {
        self.overlay.get_or_insert_with(Default::default).keep_upper = keep_upper;
        self
    }

    /// Like [`Self::overlay`], with the upper layer in `dir` (created if
    /// missing), e.g. to find the written files after destroy.
    pub fn overlay_upper_dir(mut self, dir: impl Into<PathBuf>, keep_upper: bool) -> Self {
        let o = self.overlay.get_or_insert_with(Default::default);
        o.upper_dir = Some(dir.into());
        o.keep_upper = keep_upper;
        self
    }

    /// Extra read-only layers above the rootfs, topmost first (an overlay
    /// is implied).
    pub fn layers<I: IntoIterator<Item = PathBuf>>(mut self, layers: I) -> Self {
        self.overlay
            .get_or_insert_with(Default::default)
            .lower
            .extend(layers);
        self
    }

    /// Which namespaces to create.
    pub fn namespaces(mut self, ns: Namespaces) -> Self {
        self.namespaces = ns;
        self
    }

    /// Join an existing network namespace (e.g. `/run/netns/NAME`, prepared
    /// by someone else) instead of creating one.
    pub fn network_namespace_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.net_ns_path = Some(path.into());
        self
    }

    /// The seed's network option: a veth pair between the host and the
    /// container's new network namespace. `host_ifname` is the host end
    /// (addressed `host_addr`), the container gets `eth0` with
    /// `container_addr` and a default route via `host_addr`; `netmask` is
    /// `255.255.255.0` or `24`. Checked in `build`; a taken name fails
    /// `create` and leaves nothing behind. Linux only.
    pub fn veth(
        mut self,
        host_ifname: impl Into<String>,
        container_addr: impl Into<String>,
        host_addr: impl Into<String>,
        netmask: impl Into<String>,
    ) -> Self {
        self.veth = Some(VethOpt::Strings([
            host_ifname.into(),
            container_addr.into(),
            host_addr.into(),
            netmask.into(),
        ]));
        self
    }

    /// A veth pair described in full (bridge, gateway, MAC, names).
    pub fn veth_config(mut self, veth: Veth) -> Self {
        self.veth = Some(VethOpt::Config(veth));
        self
    }

    /// Create a user namespace with these mappings.
    pub fn user_namespace(mut self, uid_map: Vec<IdMap>, gid_map: Vec<IdMap>) -> Self {
        self.namespaces.user = true;
        self.uid_map = uid_map;
        self.gid_map = gid_map;
        self
    }

    /// The container's hostname (default: its id).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.hostname = Some(name.into());
        self
    }

    /// Add `KEY=VALUE` to the environment of the init and of spawned processes.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push(format!("{key}={value}"));
        self
    }

    /// Set a resource limit, e.g. `rlimit("RLIMIT_NOFILE", 1024, 1024)` or
    /// `rlimit("nofile", ...)`.
    pub fn rlimit(mut self, kind: &str, soft: u64, hard: u64) -> Self {
        self.rlimits.push((kind.to_string(), soft, hard));
        self
    }

    /// Run this command as the init instead of the built-in reaper.
    pub fn command<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.command = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Working directory of the init command.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Mount the rootfs read-only.
    pub fn readonly_rootfs(mut self, yes: bool) -> Self {
        self.readonly_rootfs = yes;
        self
    }

    /// OCI `cgroupsPath`: an absolute cgroup path, or one relative to the
    /// caller's own cgroup. Default: `containerv-<id>` under the caller's.
    pub fn cgroups_path(mut self, path: impl Into<String>) -> Self {
        self.cgroups_path = Some(path.into());
        self
    }

    /// An OCI annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_string(), value.to_string());
        self
    }

    /// Memory limit: "512M", "1G", bytes, or "75%" of host RAM.
    pub fn memory(mut self, v: &str) -> Self {
        self.limits.memory = Some(v.to_string());
        self
    }

    /// CPUs: "0.5", "2", or "75%" of all host CPUs.
    pub fn cpus(mut self, v: &str) -> Self {
        self.limits.cpus = Some(v.to_string());
        self
    }

    /// Most tasks (processes and threads) at once.
    pub fn pids(mut self, n: i64) -> Self {
        self.limits.pids = Some(n);
        self
    }

    /// Memory soft limit / reservation: same forms as [`Self::memory`].
    pub fn memory_reservation(mut self, v: &str) -> Self {
        self.limits.memory_reservation = Some(v.to_string());
        self
    }

    /// Memory + swap limit (docker's `--memory-swap`): a size, a percent,
    /// or "-1" for unlimited swap. Needs [`Self::memory`].
    pub fn memory_swap(mut self, v: &str) -> Self {
        self.limits.memory_swap = Some(v.to_string());
        self
    }

    /// Relative CPU weight as cgroup v1 shares (2..262144; converted to
    /// `cpu.weight` on cgroup v2).
    pub fn cpu_shares(mut self, shares: u64) -> Self {
        self.limits.cpu_shares = Some(shares);
        self
    }

    /// CPUs the container may run on: "0-1", "0,2".
    pub fn cpuset_cpus(mut self, v: &str) -> Self {
        self.limits.cpuset_cpus = Some(v.to_string());
        self
    }

    /// Memory nodes the container may use: "0".
    pub fn cpuset_mems(mut self, v: &str) -> Self {
        self.limits.cpuset_mems = Some(v.to_string());
        self
    }

    /// Block I/O weight (10..1000), where the kernel has one.
    pub fn blkio_weight(mut self, w: u16) -> Self {
        self.limits.blkio_weight = Some(w);
        self
    }

    /// Read bytes/s limit on a device ("MAJOR:MINOR" or "/dev/sda"): "10M".
    pub fn device_read_bps(mut self, device: &str, rate: &str) -> Self {
        self.limits
            .device_read_bps
            .push((device.to_string(), rate.to_string()));
        self
    }

    /// Write bytes/s limit on a device: "10M".
    pub fn device_write_bps(mut self, device: &str, rate: &str) -> Self {
        self.limits
            .device_write_bps
            .push((device.to_string(), rate.to_string()));
        self
    }

    /// Read operations/s limit on a device.
    pub fn device_read_iops(mut self, device: &str, iops: u64) -> Self {
        self.limits
            .device_read_iops
            .push((device.to_string(), iops));
        self
    }

    /// Write operations/s limit on a device.
    pub fn device_write_iops(mut self, device: &str, iops: u64) -> Self {
        self.limits
            .device_write_iops
            .push((device.to_string(), iops));
        self
    }

    /// Huge page limit: page size ("2MB", "1GB") and a size ("64M").
    pub fn hugetlb(mut self, page_size: &str, limit: &str) -> Self {
        self.limits
            .hugetlb
            .push((page_size.to_string(), limit.to_string()));
        self
    }

    /// Validates everything and produces the OCI spec and create config for
    /// container `id`. Nothing is created.
    #[cfg_attr(windows, allow(unreachable_code))]
    pub fn build(&self, id: &str) -> Result<(Spec, CreateConfig)> {
        #[cfg(windows)]
        {
            return self.build_windows(id);
        }
        crate::id::validate_id(id)?;
        let rootfs = self
            .rootfs
            .as_ref()
            .ok_or_else(|| Error::option("rootfs", "", "no root filesystem given"))?;
        check_dir("rootfs", rootfs)?;
        for b in &self.binds {
            if !b.source.exists() {
                return Err(Error::option(
                    "bind source",
                    b.source.display().to_string(),
                    "does not exist",
                ));
            }
            if !b.target.is_absolute() {
                return Err(Error::option(
                    "bind target",
                    b.target.display().to_string(),
                    "must be an absolute path inside the container",
                ));
            }
        }
        if let Some(o) = &self.overlay {
            for l in &o.lower {
                check_dir("layer", l)?;
            }
        }
        if self.namespaces.user && (self.uid_map.is_empty() || self.gid_map.is_empty()) {
            return Err(Error::option(
                "user namespace",
                "",
                "needs at least one uid and one gid mapping",
            ));
        }

        let mut spec = Spec::default();
        spec.set_hostname(Some(
            self.hostname.clone().unwrap_or_else(|| id.to_string()),
        ));
        spec.set_root(Some(
            RootBuilder::default()
                .path(rootfs.clone())
                .readonly(self.readonly_rootfs)
                .build()
                .map_err(spec_err)?,
        ));

        let mut mounts = spec.mounts().clone().unwrap_or_default();
        // /proc as docker and podman mount it: no set-uid, device or
        // executable files through it.
        for m in mounts.iter_mut() {
            if m.destination() == Path::new("/proc") {
                m.set_options(Some(
                    ["nosuid", "noexec", "nodev"].map(String::from).to_vec(),
                ));
            }
        }
        for b in &self.binds {
            let mut opts = vec!["rbind".to_string(), "rprivate".to_string()];
            if b.readonly {
                opts.push("ro".to_string());
            }
            mounts.push(
                MountBuilder::default()
                    .destination(b.target.clone())
                    .typ("bind")
                    .source(b.source.clone())
                    .options(opts)
                    .build()
                    .map_err(spec_err)?,
            );
        }
        spec.set_mounts(Some(mounts));

        let process = spec
            .process_mut()
            .as_mut()
            .expect("default spec has a process");
        let mut env = vec![DEFAULT_PATH_ENV.to_string(), "TERM=xterm".to_string()];
        env.extend(self.env.iter().cloned());
        process.set_env(Some(env));
        process.set_terminal(Some(false));
        if let Some(cmd) = &self.command {
            if cmd.is_empty() {
                return Err(Error::option("command", "", "an empty command"));
            }
            process.set_args(Some(cmd.clone()));
        }
        if let Some(cwd) = &self.cwd {
            process.set_cwd(cwd.clone());
        }
        let mut rlimits = process.rlimits().clone().unwrap_or_default();
        for (kind, soft, hard) in &self.rlimits {
            let typ = parse_rlimit(kind)?;
            if soft > hard {
                return Err(Error::option(
                    "rlimit",
                    format!("{kind}={soft}:{hard}"),
                    "soft limit above hard limit",
                ));
            }
            rlimits.retain(|r: &PosixRlimit| r.typ() != typ);
            rlimits.push(
                PosixRlimitBuilder::default()
                    .typ(typ)
                    .soft(*soft)
                    .hard(*hard)
                    .build()
                    .map_err(spec_err)?,
            );
        }
        process.set_rlimits(Some(rlimits));

        let linux = spec.linux_mut().as_mut().expect("default spec has linux");
        linux.set_namespaces(Some(self.namespace_list()?));
        // Beyond the OCI defaults, what podman masks too (docker the
        // first): power-capping controls (energy counters, RAPL side
        // channel) and the host's block devices.
        let mut masked = linux.masked_paths().clone().unwrap_or_default();
        for p in EXTRA_MASKED_PATHS {
            if !masked.iter().any(|m| m == p) {
                masked.push(p.to_string());
            }
        }
        linux.set_masked_paths(Some(masked));
        if self.namespaces.user {
            linux.set_uid_mappings(Some(id_maps(&self.uid_map)?));
            linux.set_gid_mappings(Some(id_maps(&self.gid_map)?));
        }
        linux.set_resources(Some(crate::limits::to_linux_resources(&self.limits)?));
        linux.set_cgroups_path(self.cgroups_path.as_ref().map(PathBuf::from));

        if !self.annotations.is_empty() {
            spec.set_annotations(Some(self.annotations.clone()));
        }

        let config = CreateConfig {
            init: if self.command.is_some() {
                InitKind::SpecProcess
            } else {
                InitKind::BuiltinReaper
            },
            overlay: self.overlay.clone(),
            network: self.veth_checked()?,
            etc_files: true,
            ..Default::default()
        };
        Ok((spec, config))
    }

    fn veth_checked(&self) -> Result<Option<Veth>> {
        let v = match &self.veth {
            None => return Ok(None),
            Some(VethOpt::Strings([h, c, a, m])) => Veth::new(h, c, a, m)?,
            Some(VethOpt::Config(v)) => {
                v.validate()?;
                v.clone()
            }
        };
        if self.net_ns_path.is_some() || !self.namespaces.net {
            return Err(Error::option(
                "veth",
                v.host_ifname,
                "needs a new network namespace (not a joined one or the host's)",
            ));
        }
        Ok(Some(v))
    }

    fn namespace_list(&self) -> Result<Vec<LinuxNamespace>> {
        let ns = self.namespaces;
        let mut kinds = vec![LinuxNamespaceType::Mount];
        for (on, kind) in [
            (ns.pid, LinuxNamespaceType::Pid),
            (ns.uts, LinuxNamespaceType::Uts),
            (ns.ipc, LinuxNamespaceType::Ipc),
            (ns.cgroup, LinuxNamespaceType::Cgroup),
            (ns.user, LinuxNamespaceType::User),
        ] {
            if on {
                kinds.push(kind);
            }
        }
        let mut list: Vec<LinuxNamespace> = kinds
            .into_iter()
            .map(|k| LinuxNamespaceBuilder::default().typ(k).build())
            .collect::<std::result::Result<_, _>>()
            .map_err(spec_err)?;
        if let Some(path) = &self.net_ns_path {
            check_exists("network namespace", path)?;
            list.push(
                LinuxNamespaceBuilder::default()
                    .typ(LinuxNamespaceType::Network)
                    .path(path.clone())
                    .build()
                    .map_err(spec_err)?,
            );
        } else if ns.net {
            list.push(
                LinuxNamespaceBuilder::default()
                    .typ(LinuxNamespaceType::Network)
                    .build()
                    .map_err(spec_err)?,
            );
        }
        Ok(list)
    }
}

/// Windows (job object) settings; see `crate::windows::spec` for the mapping
/// to the OCI spec. `memory`, `cpus` and `pids` apply on Windows too.
#[cfg(windows)]
impl ContainerOptions {
    /// Most committed memory of any one process: "64M", bytes.
    pub fn process_memory(mut self, v: &str) -> Self {
        self.windows.process_memory = Some(v.to_string());
        self
    }

    /// CPU hard cap in percent of all processors (1..=100).
    pub fn cpu_percent(mut self, percent: u32) -> Self {
        self.windows.cpu_percent = Some(percent);
        self
    }

    /// Most processes alive at once (like `pids`; give one of the two).
    pub fn active_processes(mut self, n: u32) -> Self {
        self.windows.active_processes = Some(n);
        self
    }

    /// UI restrictions by name: "desktop", "display-settings",
    /// "exit-windows", "global-atoms", "handles", "read-clipboard",
    /// "write-clipboard", "system-parameters", or "all".
    pub fn ui_restrictions<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.windows
            .ui_restrictions
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// End every process when the last handle to the job closes (default true).
    pub fn kill_on_close(mut self, yes: bool) -> Self {
        self.windows.kill_on_close = Some(yes);
        self
    }

    /// Use this directory as the container's working directory (created if
    /// missing, kept on destroy) instead of one under the runtime root.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.windows.working_dir = Some(dir.into());
        self
    }

    fn build_windows(&self, id: &str) -> Result<(Spec, CreateConfig)> {
        let linux_only = [
            ("rootfs", self.rootfs.is_some()),
            ("bind", !self.binds.is_empty()),
            ("overlay", self.overlay.is_some()),
            ("network namespace path", self.net_ns_path.is_some()),
            ("veth", self.veth.is_some()),
            ("user namespace", self.namespaces.user),
            ("rlimit", !self.rlimits.is_empty()),
            ("readonly rootfs", self.readonly_rootfs),
            ("cgroups path", self.cgroups_path.is_some()),
        ];
        crate::windows::spec::build(
            id,
            crate::windows::spec::BuildInput {
                windows: &self.windows,
                limits: &self.limits,
                env: &self.env,
                command: self.command.as_deref(),
                cwd: self.cwd.as_deref(),
                annotations: &self.annotations,
                linux_only: &linux_only,
            },
        )
    }
}

fn spec_err(e: oci_spec::OciSpecError) -> Error {
    Error::InvalidSpec(e.to_string())
}

fn check_exists(option: &'static str, p: &Path) -> Result<()> {
    if p.exists() {
        Ok(())
    } else {
        Err(Error::option(
            option,
            p.display().to_string(),
            "does not exist",
        ))
    }
}

fn check_dir(option: &'static str, p: &Path) -> Result<()> {
    check_exists(option, p)?;
    if p.is_dir() {
        Ok(())
    } else {
        Err(Error::option(
            option,
            p.display().to_string(),
            "is not a directory",
        ))
    }
}

fn id_maps(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container_id)
                .host_id(m.host_id)
                .size(m.size)
                .build()
                .map_err(spec_err)
        })
        .collect()
}

fn parse_rlimit(kind: &str) -> Result<PosixRlimitType> {
    let upper = kind.to_ascii_uppercase();
    let name = if upper.starts_with("RLIMIT_") {
        upper
    } else {
        format!("RLIMIT_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(name))
        .map_err(|_| Error::option("rlimit", kind, "unknown resource (e.g. RLIMIT_NOFILE)"))
}

// Both tests build Linux specs (a rootfs is required there).
#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    #[test]
    fn build_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, cfg) = ContainerOptions::new()
            .rootfs(dir.path())
            .hostname("box")
            .rlimit("nofile", 100, 200)
            .build("c1")
            .unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("box"));
        assert_eq!(cfg.init, InitKind::BuiltinReaper);
        let ns = spec
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap();
        assert_eq!(ns.len(), 6);
    }

    #[test]
    fn bad_input_names_the_problem() {
        let e = ContainerOptions::new().build("c1").unwrap_err().to_string();
        assert!(e.contains("rootfs"), "{e}");
        let e = ContainerOptions::new()
            .rootfs("/nonexistent/rootfs")
            .build("c1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/rootfs") && e.contains("does not exist"),
            "{e}"
        );
        let e = ContainerOptions::new()
            .rootfs("/")
            .build("bad/id")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid container id"), "{e}");
        let e = ContainerOptions::new()
            .rootfs("/")
            .rlimit("nosuch", 1, 1)
            .build("c1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nosuch"), "{e}");
    }
}
