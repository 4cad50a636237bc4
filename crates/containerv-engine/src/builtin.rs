//! The built-in default image, `containerv/busybox`: made on the spot from
//! the host's static busybox, so `cv run` works on a fresh machine with no
//! registry and no network.
//!
//! It is a real one-layer OCI image (an OCI layout written to a temporary
//! directory and loaded through the image store's ordinary `load`), so it
//! can be listed, saved, pushed and removed like any other. The layer tar
//! is deterministic (fixed mtimes and owners, sorted entries): the same
//! busybox binary always gives the same image id.
//!
//! Debian's busybox-static is linked against glibc. glibc's name service
//! reads `/etc/nsswitch.conf` (missing, it falls back to defaults that
//! may name modules a static binary cannot load) and `/etc/services` and
//! `/etc/protocols` for `wget`'s, `nc`'s and `ping`'s lookups, so the
//! image ships those files: `files` and `dns` are built into glibc, and
//! nothing is loaded at run time. `builtin_network` (cv tests) runs
//! wget, nc, nslookup and ping inside the image.

use std::path::{Path, PathBuf};

use containerv_image::{Digest, ImageStore};
use serde_json::json;

use crate::error::{Error, Result};

/// The image's name, as `cv run` accepts it.
pub const BUILTIN_IMAGE: &str = "containerv/busybox";

/// Its key in the image store's reference index.
const BUILTIN_KEY: &str = "docker.io/containerv/busybox:latest";

/// Where the static busybox is looked for (busybox-static installs it).
const BUSYBOX_PATHS: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];

/// Bumped whenever the image's contents change, so a store holding an
/// older built-in image gets the new one (see `ensure`).
const BUILTIN_VERSION: &str = "2";

/// The file in the image store's root that records which
/// `BUILTIN_VERSION` the store's built-in image is.
const VERSION_FILE: &str = "builtin-image.version";

use containerv::options::DEFAULT_PATH_ENV as PATH_ENV;

/// True if `image` names the built-in image (with or without a tag or
/// registry).
pub fn is_builtin(image: &str) -> bool {
    let base = image.strip_prefix("docker.io/").unwrap_or(image);
    base == BUILTIN_IMAGE || base == "containerv/busybox:latest"
}

/// Makes sure the built-in image is in `images`; returns its name.
pub fn ensure(images: &ImageStore) -> Result<&'static str> {
    // Looked up by its key and a version marker: no reference parsing
    // and no manifest read on the common path of every `cv run`.
    let marker = images.root().join(VERSION_FILE);
    let current = std::fs::read_to_string(&marker).is_ok_and(|v| v.trim() == BUILTIN_VERSION);
    if current
        && images
            .meta()
            .is_ok_and(|m| m.refs.contains_key(BUILTIN_KEY))
    {
        return Ok(BUILTIN_IMAGE);
    }
    let busybox = BUSYBOX_PATHS
        .iter()
        .map(Path::new)
        .find(|p| is_static_busybox(p))
        .ok_or_else(|| {
            Error::option(
                "image",
                BUILTIN_IMAGE,
                "the built-in image needs a static busybox at /bin/busybox (apt-get install busybox-static)",
            )
        })?;
    let tmp = images
        .root()
        .join(format!("builtin-{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let r = write_layout(busybox, &tmp).and_then(|_| {
        images
            .load(&tmp)
            .map_err(|e| Error::option("image", BUILTIN_IMAGE, e.to_string()))
    });
    let _ = std::fs::remove_dir_all(&tmp);
    r?;
    // Written after the load: a crash in between only means the image
    // is made again next time.
    let tmp_marker = images
        .root()
        .join(format!("{VERSION_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp_marker, BUILTIN_VERSION)
        .and_then(|_| std::fs::rename(&tmp_marker, &marker))
        .map_err(|e| Error::io("write", &marker, e))?;
    Ok(BUILTIN_IMAGE)
}

fn is_static_busybox(p: &Path) -> bool {
    // A dynamic busybox would need the host's libc inside the container:
    // refuse an ELF with a PT_INTERP program header.
    let Ok(data) = std::fs::read(p) else {
        return false;
    };
    if data.len() < 64 || !data.starts_with(b"\x7fELF") || data[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(data[32..40].try_into().expect("8 bytes")) as usize;
    let (size, num) = (u16_at(54), u16_at(56));
    (0..num).all(|i| {
        let o = phoff + i * size;
        data.get(o..o + 4)
            .is_some_and(|t| u32::from_le_bytes(t.try_into().expect("4 bytes")) != 3)
    })
}

fn applets(busybox: &Path) -> Result<Vec<String>> {
    let out = std::process::Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| Error::io("run", busybox, e))?;
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && !l.contains(".."))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

/// The name-service files of the image: users and groups, and what
/// glibc's lookups in busybox's network applets read.
const ETC_FILES: [(&str, &str); 5] = [
    (
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    ),
    ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    (
        "etc/nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n\
         protocols: files\nservices: files\nethers: files\nrpc: files\n",
    ),
    (
        "etc/services",
        "ftp\t\t21/tcp\nssh\t\t22/tcp\ntelnet\t\t23/tcp\nsmtp\t\t25/tcp\n\
         domain\t\t53/tcp\ndomain\t\t53/udp\nhttp\t\t80/tcp\nntp\t\t123/udp\n\
         https\t\t443/tcp\n",
    ),
    (
        "etc/protocols",
        "ip\t0\tIP\nicmp\t1\tICMP\ntcp\t6\tTCP\nudp\t17\tUDP\nipv6-icmp\t58\tIPv6-ICMP\n",
    ),
];

/// The layer: directories, /bin/busybox, one symlink per applet, and
/// `ETC_FILES`.
fn layer_tar(busybox: &Path) -> Result<Vec<u8>> {
    let bin = std::fs::read(busybox).map_err(|e| Error::io("read", busybox, e))?;
    let mut b = tar::Builder::new(Vec::new());
    let io = |e: std::io::Error| Error::sys("build the built-in image layer", e);
    let dirs = [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("run", 0o755),
        ("sbin", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var", 0o755),
        ("var/tmp", 0o1777),
    ];
    for (d, mode) in dirs {
        let mut h = header(tar::EntryType::Directory, mode, 0);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())
            .map_err(io)?;
    }
    let mut h = header(tar::EntryType::Regular, 0o755, bin.len() as u64);
    b.append_data(&mut h, "bin/busybox", &bin[..]).map_err(io)?;
    for (p, text) in ETC_FILES {
        let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
        b.append_data(&mut h, p, text.as_bytes()).map_err(io)?;
    }
    for a in applets(busybox)? {
        if a == "bin/busybox" {
            continue;
        }
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, &a, "/bin/busybox").map_err(io)?;
    }
    b.into_inner().map_err(io)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

/// Writes an OCI image layout for the image into `dir`.
fn write_layout(busybox: &Path, dir: &Path) -> Result<()> {
    let layer = layer_tar(busybox)?;
    let layer_d = Digest::of(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_d.to_string()]},
        "history": [{"created_by": "containerv: built-in image from the host's static busybox"}]
    }))
    .expect("json");
    let config_d = Digest::of(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": containerv_image::spec::OCI_MANIFEST,
        "config": {"mediaType": containerv_image::spec::OCI_CONFIG,
                   "digest": config_d.to_string(), "size": config.len()},
        "layers": [{"mediaType": containerv_image::spec::OCI_LAYER,
                    "digest": layer_d.to_string(), "size": layer.len()}]
    }))
    .expect("json");
    let manifest_d = Digest::of(&manifest);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": containerv_image::spec::OCI_MANIFEST,
                       "digest": manifest_d.to_string(), "size": manifest.len(),
                       "annotations": {containerv_image::spec::REF_NAME_ANNOTATION:
                                       format!("{BUILTIN_IMAGE}:latest")}}]
    }))
    .expect("json");
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| Error::io("create", &blobs, e))?;
    let write =
        |p: PathBuf, data: &[u8]| std::fs::write(&p, data).map_err(|e| Error::io("write", &p, e));
    write(blobs.join(layer_d.hex()), &layer)?;
    write(blobs.join(config_d.hex()), &config)?;
    write(blobs.join(manifest_d.hex()), &manifest)?;
    write(dir.join("index.json"), &index)?;
    write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}
