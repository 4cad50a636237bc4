//! A container's config → the OCI `Spec` and `CreateConfig` the core
//! library creates it from. This is the engine's only way to a container:
//! the same builder (`ContainerOptions`) and the same `create_from_spec`
//! as every other caller, plus what the builder has no words for (the
//! image's environment as given, the user, `--tmpfs` mounts).

use std::path::Path;

use containerv::{ContainerOptions, CreateConfig, InitKind, Namespaces, Spec};
use oci_spec::runtime::{MountBuilder, UserBuilder};

use crate::error::{Error, Result};
use crate::options::parse_tmpfs;
use crate::record::{ContainerConfig, NetworkMode};

/// Builds the spec of container `config`; `dir` is its engine directory
/// (its writable layer lives in `dir/upper`, or `dir/layer/upper` with a
/// `--storage-opt size`, kept across restarts).
pub fn build(config: &ContainerConfig, dir: &Path) -> Result<(Spec, CreateConfig)> {
    let Some((root, above)) = config.layers.split_first() else {
        return Err(Error::option(
            "image",
            config.image.as_str(),
            "the image has no layers",
        ));
    };
    // `layers` is lowest first; the core wants the others topmost first.
    let lower: Vec<_> = above.iter().rev().cloned().collect();
    let mut o = ContainerOptions::new()
        .rootfs(root)
        .layers(lower)
        .overlay_upper_dir(crate::storage_opt::upper_dir(config, dir), true)
        .hostname(
            config
                .hostname
                .clone()
                .unwrap_or_else(|| config.id[..12].to_string()),
        )
        .namespaces(Namespaces {
            net: config.network != NetworkMode::Host,
            ..Namespaces::default()
        })
        .readonly_rootfs(config.read_only);
    if let Some(m) = &config.security.userns_remap {
        let (uid, gid) = m.to_core();
        o = o.user_namespace(uid, gid);
    }
    if !config.init {
        o = o.command(config.command.clone());
    }
    if let Some(w) = &config.working_dir {
        o = o.cwd(w);
    }
    // Binds and volumes together, parents before what is mounted in them.
    let mut binds: Vec<(&Path, &Path, bool)> = config
        .binds
        .iter()
        .map(|b| (b.source.as_path(), b.destination.as_path(), b.read_only))
        .chain(
            config
                .volumes
                .iter()
                .map(|v| (v.source.as_path(), Path::new(&v.destination), v.read_only)),
        )
        .collect();
    binds.sort_by_key(|(_, d, _)| d.components().count());
    for (src, dst, ro) in binds {
        o = o.bind(src, dst, ro);
    }
    let r = &config.resources;
    if let Some(v) = &r.memory {
        o = o.memory(v);
    }
    if let Some(v) = &r.memory_swap {
        o = o.memory_swap(v);
    }
    if let Some(v) = &r.cpus {
        o = o.cpus(v);
    }
    if let Some(v) = r.cpu_shares {
        o = o.cpu_shares(v);
    }
    if let Some(v) = &r.cpuset_cpus {
        o = o.cpuset_cpus(v);
    }
    if let Some(v) = r.pids_limit {
        o = o.pids(v);
    }
    let (mut spec, mut create) = o.build(&config.id).map_err(flag_error)?;
    create.init = if config.init {
        InitKind::BuiltinReaper
    } else {
        InitKind::SpecProcess
    };

    let process = spec
        .process_mut()
        .as_mut()
        .expect("built spec has a process");
    process.set_env(Some(config.env.clone()));
    if let Some(u) = &config.user {
        process.set_user(
            UserBuilder::default()
                .username(u.clone())
                .build()
                .map_err(|e| Error::option("-u", u.as_str(), e.to_string()))?,
        );
    }
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for t in &config.tmpfs {
        let (path, opts) = parse_tmpfs(t)?;
        mounts.push(
            MountBuilder::default()
                .destination(path)
                .typ("tmpfs")
                .source("tmpfs")
                .options(opts)
                .build()
                .map_err(|e| Error::option("--tmpfs", t.as_str(), e.to_string()))?,
        );
    }
    spec.set_mounts(Some(mounts));
    if config.network != NetworkMode::Host {
        // In a user namespace only its own gids can be named.
        let gids = config
            .security
            .userns_remap
            .as_ref()
            .map_or(2147483648, |m| m.gid_count().min(2147483648));
        allow_ping(&mut spec, gids - 1);
    }
    let upper = crate::storage_opt::upper_dir(config, dir);
    crate::security::apply(
        &mut spec,
        &config.security,
        config.user.as_deref(),
        &config.layers,
        &upper,
    )?;
    create.shm_from = config.security.shm_donor();
    Ok((spec, create))
}

/// Lets every group open ICMP echo sockets in the container's own network
/// namespace, as docker (and podman) do: `ping` then works without
/// CAP_NET_RAW. Never for the host's namespace, whose sysctl this would be.
fn allow_ping(spec: &mut Spec, last_gid: u64) {
    let Some(linux) = spec.linux_mut().as_mut() else {
        return;
    };
    let mut sysctl = linux.sysctl().clone().unwrap_or_default();
    sysctl
        .entry("net.ipv4.ping_group_range".to_string())
        .or_insert_with(|| format!("0 {last_gid}"));
    linux.set_sysctl(Some(sysctl));
}

/// The core names its own options ("memory", "cpus"); say which `cv`
/// flag that was.
fn flag_error(e: containerv::Error) -> Error {
    let msg = e.to_string();
    let flag = [
        ("memory swap", "--memory-swap"),
        ("memory_swap", "--memory-swap"),
        ("memory", "--memory"),
        ("cpu shares", "--cpu-shares"),
        ("cpuset", "--cpuset-cpus"),
        ("cpus", "--cpus"),
        ("pids", "--pids-limit"),
        ("bind", "-v"),
        ("cwd", "-w"),
    ]
    .iter()
    .find(|(k, _)| msg.contains(k))
    .map(|(_, f)| *f);
    match flag {
        Some(f) => Error::Flag {
            flag: f.to_string(),
            message: msg,
        },
        None => Error::Core(e),
    }
}
