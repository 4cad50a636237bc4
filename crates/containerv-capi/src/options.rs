//! `struct containerv_options` and its setters: what the seed's caller
//! sets, kept as given (strings copied) and turned into the core's
//! [`cv_core::ContainerOptions`] by `containerv_create`.
//!
//! The setters return void (the seed's signatures): a value they cannot use
//! is recorded at once (errno, `containerv_last_error`) and kept, so the
//! next create with these options fails before anything exists.

use std::ffi::{c_char, c_int};

use cv_core::ContainerOptions;

use crate::cstr;
use crate::error::{guard_void, CError};
use crate::layers::{containerv_layer_context, Composition};
use crate::limits::{self, Cpu, Limits};

/// Namespace flags (`enum containerv_capabilities`).
pub const CV_CAP_NETWORK: c_int = 0x1;
pub const CV_CAP_PROCESS_CONTROL: c_int = 0x2;
pub const CV_CAP_IPC: c_int = 0x4;
pub const CV_CAP_FILESYSTEM: c_int = 0x8;
pub const CV_CAP_CGROUPS: c_int = 0x10;
pub const CV_CAP_USERS: c_int = 0x20;
const ALL_CAPS: c_int = 0x3f;

/// Network settings given to `containerv_options_set_network(_ex)`.
#[derive(Debug, Clone)]
#[cfg_attr(windows, allow(dead_code))]
pub(crate) struct Network {
    pub container_ip: String,
    pub netmask: String,
    pub host_ip: String,
    pub gateway: Option<String>,
    pub dns: Option<String>,
}

impl Network {
    /// The core's veth option: the host end is named after the container
    /// ([`host_ifname`]), the container's is `eth0`.
    #[cfg(target_os = "linux")]
    fn apply(&self, o: ContainerOptions, id: &str) -> Result<ContainerOptions, CError> {
        if let Some(dns) = &self.dns {
            return Err(CError::notsup(format!(
                "dns {dns:?}: DNS servers are not supported by this containerv \
                 (the container's /etc/resolv.conf is its rootfs's)"
            )));
        }
        let mut v = cv_core::Veth::new(
            &host_ifname(id),
            &self.container_ip,
            &self.host_ip,
            &self.netmask,
        )?;
        if let Some(g) = &self.gateway {
            v.gateway = Some(g.trim().parse().map_err(|_| {
                CError::inval(format!("invalid gateway_ip {g:?}: not an IPv4 address"))
            })?);
        }
        Ok(o.veth_config(v))
    }

    #[cfg(windows)]
    fn apply(&self, _: ContainerOptions, _: &str) -> Result<ContainerOptions, CError> {
        Err(CError::notsup(
            "network on Windows: a job object has no network of its own",
        ))
    }
}

/// The host end of a container's veth pair: `cv` and 12 hex digits of a
/// hash of the id (interface names have at most 15 bytes; ids up to 128).
#[cfg(target_os = "linux")]
pub(crate) fn host_ifname(id: &str) -> String {
    // FNV-1a, 64 bits.
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("cv{:012x}", h >> 16)
}

/// The C options object.
#[allow(non_camel_case_types)]
#[derive(Debug, Default)]
pub struct containerv_options {
    caps: Option<c_int>,
    layers: Option<Composition>,
    #[cfg(target_os = "linux")]
    uid_map: Option<cv_core::IdMap>,
    #[cfg(target_os = "linux")]
    gid_map: Option<cv_core::IdMap>,
    limits: Option<Limits>,
    network: Option<Network>,
    /// The first value a setter could not use, reported by create.
    deferred: Option<CError>,
}

impl containerv_options {
    /// Keeps the first setter error for create.
    fn defer(&mut self, e: &CError) {
        if self.deferred.is_none() {
            self.deferred = Some(CError::new(e.errno, e.message.clone()));
        }
    }

    /// The core's builder for these options, or the first error.
    pub(crate) fn to_core(&self, id: &str) -> Result<ContainerOptions, CError> {
        if let Some(e) = &self.deferred {
            return Err(CError::new(e.errno, e.message.clone()));
        }
        let mut o = ContainerOptions::new();
        if let Some(n) = &self.network {
            o = n.apply(o, id)?;
        }
        if let Some(c) = &self.layers {
            o = c.apply(o)?;
        }
        o = self.apply_namespaces(o);
        if let Some(l) = &self.limits {
            o = apply_limits(o, l);
        }
        Ok(o)
    }

    #[cfg(target_os = "linux")]
    fn apply_namespaces(&self, mut o: ContainerOptions) -> ContainerOptions {
        if let Some(caps) = self.caps {
            o = o.namespaces(cv_core::Namespaces {
                pid: caps & CV_CAP_PROCESS_CONTROL != 0,
                net: caps & CV_CAP_NETWORK != 0,
                uts: caps & CV_CAP_NETWORK != 0,
                ipc: caps & CV_CAP_IPC != 0,
                cgroup: caps & CV_CAP_CGROUPS != 0,
                user: caps & CV_CAP_USERS != 0,
            });
        }
        if self.uid_map.is_some() || self.gid_map.is_some() {
            o = o.user_namespace(
                self.uid_map.into_iter().collect(),
                self.gid_map.into_iter().collect(),
            );
        }
        o
    }

    /// Windows: a job object has no namespaces; the caps are ignored.
    #[cfg(windows)]
    fn apply_namespaces(&self, o: ContainerOptions) -> ContainerOptions {
        o
    }
}

#[cfg(target_os = "linux")]
fn apply_limits(mut o: ContainerOptions, l: &Limits) -> ContainerOptions {
    if let Some(m) = &l.memory {
        o = o.memory(m);
    }
    match l.cpu {
        Cpu::Unlimited => {}
        Cpu::Weight(w) => o = o.cpu_shares(limits::weight_to_shares(w)),
        Cpu::Percent(p) => o = o.cpus(&format!("{p}%")),
    }
    if let Some(n) = l.pids {
        o = o.pids(n);
    }
    o
}

#[cfg(windows)]
fn apply_limits(mut o: ContainerOptions, l: &Limits) -> ContainerOptions {
    if let Some(m) = &l.memory {
        o = o.memory(m);
    }
    match l.cpu {
        Cpu::Unlimited => {}
        // A job object has no weights: the nearest is a rate of 100 %.
        Cpu::Weight(_) => {}
        Cpu::Percent(p) => o = o.cpu_percent(p.round().clamp(1.0, 100.0) as u32),
    }
    if let Some(n) = l.pids {
        o = o.pids(n);
    }
    o
}

/// The options behind a C pointer, or None for NULL.
///
/// # Safety
/// `p` is NULL or from `containerv_options_new`, not yet deleted, and not
/// used by another thread meanwhile.
unsafe fn options_mut<'a>(p: *mut containerv_options) -> Option<&'a mut containerv_options> {
    // SAFETY: the caller's contract.
    unsafe { p.as_mut() }
}

/// Runs a setter body on the options; its error is recorded and deferred.
fn set(
    function: &str,
    p: *mut containerv_options,
    body: impl FnOnce(&mut containerv_options) -> Result<(), CError>,
) {
    guard_void(function, || {
        // SAFETY: the C caller's contract for an options pointer.
        let Some(o) = (unsafe { options_mut(p) }) else {
            return Err(CError::inval("options is NULL"));
        };
        body(o).inspect_err(|e| o.defer(e))
    })
}

#[no_mangle]
pub extern "C" fn containerv_options_new() -> *mut containerv_options {
    crate::error::guard_ptr("containerv_options_new", || {
        Ok(Box::into_raw(Box::<containerv_options>::default()))
    })
}

/// # Safety
/// `options` is NULL or from `containerv_options_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn containerv_options_delete(options: *mut containerv_options) {
    guard_void("containerv_options_delete", || {
        if !options.is_null() {
            // SAFETY: made by Box::into_raw in containerv_options_new.
            drop(unsafe { Box::from_raw(options) });
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn containerv_options_set_caps(options: *mut containerv_options, caps: c_int) {
    set("containerv_options_set_caps", options, |o| {
        if caps & !ALL_CAPS != 0 {
            return Err(CError::inval(format!(
                "unknown capability bits {:#x}",
                caps & !ALL_CAPS
            )));
        }
        o.caps = Some(caps);
        Ok(())
    })
}

/// # Safety
/// `layers` is NULL or a live context from `containerv_layers_compose`.
#[no_mangle]
pub unsafe extern "C" fn containerv_options_set_layers(
    options: *mut containerv_options,
    layers: *mut containerv_layer_context,
) {
    set("containerv_options_set_layers", options, |o| {
        // SAFETY: the caller's contract.
        let Some(ctx) = (unsafe { layers.as_ref() }) else {
            return Err(CError::inval("layers is NULL"));
        };
        o.layers = Some(ctx.composition.clone());
        Ok(())
    })
}

/// # Safety
/// Each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn containerv_options_set_network(
    options: *mut containerv_options,
    container_ip: *const c_char,
    container_netmask: *const c_char,
    host_ip: *const c_char,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_network(
            "containerv_options_set_network",
            options,
            [container_ip, container_netmask, host_ip],
            std::ptr::null(),
            std::ptr::null(),
        )
    }
}

/// # Safety
/// Each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn containerv_options_set_network_ex(
    options: *mut containerv_options,
    container_ip: *const c_char,
    container_netmask: *const c_char,
    host_ip: *const c_char,
    gateway_ip: *const c_char,
    dns: *const c_char,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_network(
            "containerv_options_set_network_ex",
            options,
            [container_ip, container_netmask, host_ip],
            gateway_ip,
            dns,
        )
    }
}

/// # Safety
/// Each string is NULL or NUL-terminated.
unsafe fn set_network(
    function: &str,
    options: *mut containerv_options,
    [ip, mask, host]: [*const c_char; 3],
    gateway: *const c_char,
    dns: *const c_char,
) {
    set(function, options, |o| {
        // SAFETY: the caller's contract.
        let n = unsafe {
            Network {
                container_ip: cstr::required(ip, "container_ip")?.to_string(),
                netmask: cstr::required(mask, "container_netmask")?.to_string(),
                host_ip: cstr::required(host, "host_ip")?.to_string(),
                gateway: cstr::optional(gateway, "gateway_ip")?.map(str::to_string),
                dns: cstr::optional(dns, "dns")?.map(str::to_string),
            }
        };
        o.network = Some(n);
        Ok(())
    })
}

/// Reads three optional limit strings with their defaults.
///
/// # Safety
/// Each string is NULL or NUL-terminated.
unsafe fn limit_args<'a>(
    args: [(*const c_char, &'static str, &'static str); 3],
) -> Result<[&'a str; 3], CError> {
    let mut out = [""; 3];
    for (slot, (p, what, default)) in out.iter_mut().zip(args) {
        // SAFETY: the caller's contract.
        *slot = unsafe { cstr::optional(p, what) }?.unwrap_or(default);
    }
    Ok(out)
}

/// # Safety
/// Each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn containerv_options_set_resource_limits(
    options: *mut containerv_options,
    memory_max: *const c_char,
    cpu_percent: *const c_char,
    process_count: *const c_char,
) {
    set("containerv_options_set_resource_limits", options, |o| {
        // SAFETY: the caller's contract.
        let [m, c, p] = unsafe {
            limit_args([
                (memory_max, "memory_max", limits::DEFAULT_MEMORY),
                (cpu_percent, "cpu_percent", limits::DEFAULT_CPU_PERCENT),
                (process_count, "process_count", limits::DEFAULT_PROCESSES),
            ])
        }?;
        o.limits = Some(Limits {
            memory: limits::memory(m)?,
            cpu: limits::cpu_percent(c)?,
            pids: limits::processes(p)?,
        });
        Ok(())
    })
}

/// # Safety
/// Each string is NULL or NUL-terminated.
#[cfg(target_os = "linux")]
#[no_mangle]
pub unsafe extern "C" fn containerv_options_set_cgroup_limits(
    options: *mut containerv_options,
    memory_max: *const c_char,
    cpu_weight: *const c_char,
    pids_max: *const c_char,
) {
    set("containerv_options_set_cgroup_limits", options, |o| {
        // SAFETY: the caller's contract.
        let [m, c, p] = unsafe {
            limit_args([
                (memory_max, "memory_max", limits::DEFAULT_MEMORY),
                (cpu_weight, "cpu_weight", limits::DEFAULT_CPU_WEIGHT),
                (pids_max, "pids_max", limits::DEFAULT_PROCESSES),
            ])
        }?;
        o.limits = Some(Limits {
            memory: limits::memory(m)?,
            cpu: limits::cpu_weight(c)?,
            pids: limits::processes(p)?,
        });
        Ok(())
    })
}

#[cfg(target_os = "linux")]
fn id_map(host: u32, child: u32, count: c_int) -> Result<cv_core::IdMap, CError> {
    if count <= 0 {
        return Err(CError::inval(format!("count {count} is not positive")));
    }
    Ok(cv_core::IdMap {
        container_id: child,
        host_id: host,
        size: count as u32,
    })
}

#[cfg(target_os = "linux")]
#[no_mangle]
pub extern "C" fn containerv_options_set_users(
    options: *mut containerv_options,
    host_uid_start: libc::uid_t,
    child_uid_start: libc::uid_t,
    count: c_int,
) {
    set("containerv_options_set_users", options, |o| {
        o.uid_map = Some(id_map(host_uid_start, child_uid_start, count)?);
        Ok(())
    })
}

#[cfg(target_os = "linux")]
#[no_mangle]
pub extern "C" fn containerv_options_set_groups(
    options: *mut containerv_options,
    host_gid_start: libc::gid_t,
    child_gid_start: libc::gid_t,
    count: c_int,
) {
    set("containerv_options_set_groups", options, |o| {
        o.gid_map = Some(id_map(host_gid_start, child_gid_start, count)?);
        Ok(())
    })
}
