//! Hostile layers cannot write outside their directory: `../` paths, a
//! write through an absolute symlink, a hardlink to a file outside, device
//! nodes, a huge sparse file. Plus the normal cases: whiteouts, opaque
//! directories, hardlinks, ownership, modes, mtimes, xattrs, gzip/zstd.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use containerv_image::unpack::{unpack_layer, UnpackLimits};
use containerv_image::Error;
use containerv_testutil::require_root;

/// A tar entry with a raw name (no path validation, unlike tar's
/// `append_data`).
fn raw(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    data: &[u8],
    link: Option<&str>,
) {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(1_600_000_000);
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn build(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    f(&mut b);
    b.into_inner().unwrap()
}

struct Sandbox {
    _dir: tempfile::TempDir,
    layer: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("a/b/layer");
    let outside = dir.path().join("a/b");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(dir.path().join("a/secret"), "secret").unwrap();
    Sandbox {
        _dir: dir,
        layer,
        outside,
    }
}

fn unpack(s: &Sandbox, tar: &[u8]) -> Result<(), Error> {
    unpack_layer(tar, &s.layer, "test", &UnpackLimits::default()).map(|_| ())
}

/// Names under `dir` other than `layer` (what escaped).
fn escaped(s: &Sandbox) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&s.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "layer")
        .collect();
    v.extend(
        std::fs::read_dir(s.outside.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "b" && n != "secret"),
    );
    v
}

#[test]
fn dotdot_paths_are_refused() {
    let s = sandbox();
    for name in ["../evil", "x/../../evil", "./../evil"] {
        let t = build(|b| raw(b, name, tar::EntryType::Regular, b"pwned", None));
        let e = unpack(&s, &t).unwrap_err();
        assert!(matches!(e, Error::UnsafeEntry { .. }), "{name}: {e}");
        assert!(e.to_string().contains(".."), "{e}");
    }
    assert!(escaped(&s).is_empty(), "{:?}", escaped(&s));
}

#[test]
fn write_through_absolute_symlink_stays_inside() {
    let s = sandbox();
    let target = s.outside.parent().unwrap().to_str().unwrap().to_string();
    let t = build(|b| {
        raw(b, "root", tar::EntryType::Symlink, b"", Some("/"));
        raw(b, "root/evil", tar::EntryType::Regular, b"pwned", None);
        raw(b, "up", tar::EntryType::Symlink, b"", Some("../../.."));
        raw(b, "up/evil2", tar::EntryType::Regular, b"pwned", None);
    });
    unpack(&s, &t).unwrap();
    // A link to an absolute directory that exists only outside: resolved
    // in-root it dangles, so the write is refused.
    let t2 = build(|b| {
        raw(b, "link", tar::EntryType::Symlink, b"", Some(&target));
        raw(b, "link/secret", tar::EntryType::Regular, b"pwned", None);
    });
    let e = unpack(&s, &t2).unwrap_err();
    assert!(matches!(e, Error::UnsafeEntry { .. }), "{e}");
    assert_eq!(
        std::fs::read_to_string(s.outside.parent().unwrap().join("secret")).unwrap(),
        "secret"
    );
    assert!(escaped(&s).is_empty(), "{:?}", escaped(&s));
    // The other writes landed inside the layer, where the links resolve in-root.
    assert!(s.layer.join("evil").is_file());
    assert!(s.layer.join("evil2").is_file());
    assert!(!Path::new("/evil").exists() && !Path::new("/evil2").exists());
}

#[test]
fn hardlink_outside_is_refused() {
    let s = sandbox();
    let secret = s.outside.parent().unwrap().join("secret");
    for target in ["../secret", "../../secret"] {
        let t = build(|b| raw(b, "h", tar::EntryType::Link, b"", Some(target)));
        let e = unpack(&s, &t).unwrap_err();
        assert!(matches!(e, Error::UnsafeEntry { .. }), "{e}");
    }
    // Absolute target: resolved inside the layer, where it does not exist.
    let abs = secret.to_str().unwrap().to_string();
    let t = build(|b| raw(b, "h", tar::EntryType::Link, b"", Some(&abs)));
    let e = unpack(&s, &t).unwrap_err();
    assert!(e.to_string().contains("hardlink"), "{e}");
    // Through a symlink to the outside: also in-root.
    let t = build(|b| {
        raw(
            b,
            "l",
            tar::EntryType::Symlink,
            b"",
            Some(s.outside.parent().unwrap().to_str().unwrap()),
        );
        raw(b, "h2", tar::EntryType::Link, b"", Some("l/secret"));
    });
    assert!(unpack(&s, &t).is_err());
    assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);
    assert!(escaped(&s).is_empty());
}

#[test]
fn device_nodes_are_created_inside_only() {
    require_root();
    let s = sandbox();
    let mut t = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path("dev/null").unwrap();
    h.set_entry_type(tar::EntryType::Char);
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    h.set_mode(0o666);
    h.set_size(0);
    h.set_cksum();
    t.append(&h, &[][..]).unwrap();
    let mut h2 = h.clone();
    h2.as_old_mut().name = [0; 100];
    h2.as_old_mut().name[..9].copy_from_slice(b"../evdev\0");
    h2.set_cksum();
    t.append(&h2, &[][..]).unwrap();
    let e = unpack(&s, &t.into_inner().unwrap()).unwrap_err();
    assert!(matches!(e, Error::UnsafeEntry { .. }), "{e}");
    let md = std::fs::symlink_metadata(s.layer.join("dev/null")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(md.rdev(), libc_makedev(1, 3));
    assert_eq!(md.mode() & 0o7777, 0o666);
    assert!(escaped(&s).is_empty());
}

fn libc_makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfffff000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffffff00) << 12)
        | (minor & 0xff)
}

fn gnu_sparse_tar(dir: &Path, size: &str) -> Vec<u8> {
    let f = dir.join("sparse");
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(0).unwrap();
    drop(file);
    let st = std::process::Command::new("truncate")
        .args(["-s", size])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    // Some data at the start so it is not all hole.
    let mut fh = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
    fh.write_all(b"data").unwrap();
    drop(fh);
    let out = std::process::Command::new("tar")
        .args(["--format=gnu", "-S", "-cf", "-", "-C"])
        .arg(dir)
        .arg("sparse")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::remove_file(&f).unwrap();
    out.stdout
}

#[test]
fn huge_sparse_file_is_bounded_and_holes_stay_holes() {
    let s = sandbox();
    let work = tempfile::tempdir().unwrap();
    // 1 TiB logical: over the per-file bound, refused before writing.
    let t = gnu_sparse_tar(work.path(), "1T");
    let limits = UnpackLimits {
        max_file_size: 1 << 30,
        max_layer_size: 4 << 30,
    };
    let e = unpack_layer(&t[..], &s.layer, "test", &limits).unwrap_err();
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
    // 512 MiB logical: unpacked without materialising the hole.
    let t = gnu_sparse_tar(work.path(), "512M");
    let s2 = sandbox();
    unpack_layer(&t[..], &s2.layer, "test", &limits).unwrap();
    let md = std::fs::metadata(s2.layer.join("sparse")).unwrap();
    assert_eq!(md.len(), 512 << 20);
    assert!(
        md.blocks() * 512 < (1 << 20),
        "hole was materialised: {} blocks",
        md.blocks()
    );
}

#[test]
fn whiteouts_opaque_hardlinks_metadata_and_compression() {
    require_root();
    let t = build(|b| {
        raw(b, "etc/", tar::EntryType::Directory, b"", None);
        raw(b, "etc/.wh.motd", tar::EntryType::Regular, b"", None);
        raw(
            b,
            "var/lib/.wh..wh..opq",
            tar::EntryType::Regular,
            b"",
            None,
        );
        let mut h = tar::Header::new_gnu();
        h.set_path("usr/bin/tool").unwrap();
        h.set_size(4);
        h.set_mode(0o4755);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mtime(1_500_000_000);
        h.set_cksum();
        b.append(&h, &b"tool"[..]).unwrap();
        raw(
            b,
            "usr/bin/alias",
            tar::EntryType::Link,
            b"",
            Some("usr/bin/tool"),
        );
        // An xattr via a PAX header.
        b.append_pax_extensions([("SCHILY.xattr.user.test", &b"hello"[..])])
            .unwrap();
        raw(b, "xattr-file", tar::EntryType::Regular, b"x", None);
    });
    for comp in ["none", "gzip", "zstd"] {
        let data = match comp {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&t).unwrap();
                e.finish().unwrap()
            }
            "zstd" => zstd::encode_all(&t[..], 1).unwrap(),
            _ => t.clone(),
        };
        let s = sandbox();
        let diff = unpack_layer(&data[..], &s.layer, "test", &UnpackLimits::default()).unwrap();
        assert_eq!(
            diff,
            containerv_image::Digest::of(&t),
            "{comp}: diff-id is the uncompressed digest"
        );
        let l = &s.layer;
        let wh = std::fs::symlink_metadata(l.join("etc/motd")).unwrap();
        assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
        assert!(!l.join("etc/.wh.motd").exists());
        let opq = xattr(&l.join("var/lib"), "trusted.overlay.opaque");
        assert_eq!(opq.as_deref(), Some(&b"y"[..]), "{comp}");
        // What an overlay in a user namespace (userxattr) reads.
        let opq = xattr(&l.join("var/lib"), "user.overlay.opaque");
        assert_eq!(opq.as_deref(), Some(&b"y"[..]), "{comp}");
        let md = std::fs::metadata(l.join("usr/bin/tool")).unwrap();
        assert_eq!(
            (md.uid(), md.gid(), md.mode() & 0o7777),
            (1000, 1000, 0o4755)
        );
        assert_eq!(md.mtime(), 1_500_000_000);
        assert_eq!(md.nlink(), 2);
        assert_eq!(
            md.ino(),
            std::fs::metadata(l.join("usr/bin/alias")).unwrap().ino()
        );
        assert_eq!(
            xattr(&l.join("xattr-file"), "user.test").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            std::fs::metadata(l.join("etc")).unwrap().mtime(),
            1_600_000_000
        );
    }
}

#[test]
fn corrupt_layer_is_a_clear_error() {
    let s = sandbox();
    let e = unpack(&s, &[0x1f, 0x8b, 0x08, 0, 1, 2, 3]).unwrap_err();
    assert!(e.to_string().contains("test"), "{e}");
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False))")
        .arg(p)
        .arg(name)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}
