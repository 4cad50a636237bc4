//! The isolation flags of `cv run` / `cv create` (docker's names):
//! capabilities, seccomp and other `--security-opt`s, devices, sysctls,
//! ulimits, shared namespaces and block I/O. Flattened into [`RunArgs`];
//! the engine's `security` module validates and applies them.
//!
//! [`RunArgs`]: super::args::RunArgs

use clap::Args;
use containerv_engine::security::SecurityOptions;

#[derive(Args, Debug, Default)]
pub struct SecurityArgs {
    /// Give extended privileges: all capabilities and devices, no seccomp, writable /sys.
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities (CAP_NET_ADMIN, net_admin, ALL).
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities (ALL drops all).
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Security options: seccomp=unconfined|PATH, no-new-privileges[=true|false], label=..., apparmor=..., systempaths=unconfined.
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Add a host device (HOST[:CONTAINER[:PERMISSIONS]]).
    #[arg(long)]
    pub device: Vec<String>,
    /// Add a rule to the cgroup device allow list ('c 1:3 rwm').
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rule: Vec<String>,
    /// Add additional groups to join.
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Ulimit options (nofile=1024:2048).
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Namespaced kernel parameters (net.ipv4.ip_forward=1).
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Size of /dev/shm (default 64m).
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// PID namespace: host (default: the container's own).
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC namespace: host, private, shareable, none.
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace: host.
    #[arg(long)]
    pub uts: Option<String>,
    /// User namespace: host (no remapping, the default).
    #[arg(long)]
    pub userns: Option<String>,
    /// Block IO weight (10 to 1000; 0: none), where the kernel has one.
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// Limit read rate from a device (/dev/sda:10mb).
    #[arg(long = "device-read-bps")]
    pub device_read_bps: Vec<String>,
    /// Limit write rate to a device (/dev/sda:10mb).
    #[arg(long = "device-write-bps")]
    pub device_write_bps: Vec<String>,
    /// Limit read operations per second from a device (/dev/sda:1000).
    #[arg(long = "device-read-iops")]
    pub device_read_iops: Vec<String>,
    /// Limit write operations per second to a device (/dev/sda:1000).
    #[arg(long = "device-write-iops")]
    pub device_write_iops: Vec<String>,
}

impl SecurityArgs {
    pub fn options(&self) -> SecurityOptions {
        SecurityOptions {
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            security_opt: self.security_opt.clone(),
            devices: self.device.clone(),
            device_cgroup_rules: self.device_cgroup_rule.clone(),
            group_add: self.group_add.clone(),
            ulimits: self.ulimit.clone(),
            sysctls: self.sysctl.clone(),
            shm_size: self.shm_size.clone(),
            pid: self.pid.clone(),
            ipc: self.ipc.clone(),
            uts: self.uts.clone(),
            userns: self.userns.clone(),
            blkio_weight: self.blkio_weight.clone(),
            device_read_bps: self.device_read_bps.clone(),
            device_write_bps: self.device_write_bps.clone(),
            device_read_iops: self.device_read_iops.clone(),
            device_write_iops: self.device_write_iops.clone(),
        }
    }
}
