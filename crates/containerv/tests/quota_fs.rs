//! Project quotas for real (`containerv::linux::quota`, what `cv volume
//! create --opt size=` uses): xfs mounted `pquota` and ext4 made with
//! `-O project,quota` mounted `prjquota`, each on a loop device of an
//! image made by mkfs. A writer without CAP_SYS_RESOURCE (as a container's
//! root) fills a limited directory until the kernel refuses (ENOSPC on xfs,
//! EDQUOT on ext4) at the exact bound; a second limited directory and an
//! unlimited one (the host's part) are unaffected; releasing the limit
//! lets the writer on; a filesystem without quotas is refused naming what
//! it lacks. Mounts and loop devices are gone afterwards, even on failure.
//!
//! The same bound on a container's writable layer, as the engine lays it
//! out for `cv run --storage-opt size=` (`containerv-engine/src/
//! storage_opt.rs`: the project on `<dir>/layer`, the overlay's upper and
//! work directories made under it): `dd` inside the container is refused
//! at the bound, copy-up and renames through the work directory work (no
//! EXDEV across projects), the rest of the filesystem is unaffected.
//!
//! This host's kernel has no quota support (built without CONFIG_QUOTA,
//! its xfs without quota), so the test is ignored here and run in the
//! cgroup v2 VM on Debian's kernel by tools/cgroup2-vm/run-tests.sh, which
//! makes the images with mkfs on the host and loads loop, xfs, ext4 and
//! quota_v2.

#![cfg(target_os = "linux")]

mod spec_common;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use containerv::linux::{loopdev, quota};

const MIB: u64 = 1 << 20;

/// A mounted test filesystem: unmounted (its autoclear loop device goes
/// with it) and its directory removed when dropped.
struct Mounted {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let c = CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2 of our own mount point.
        if unsafe { libc::umount2(c.as_ptr(), 0) } != 0 {
            // SAFETY: as above; lazily if something still holds it.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// The image for `fs`: the one run-tests.sh made (in the VM), else one
/// made here with mkfs.
fn image(fs: &str, tmp: &Path) -> PathBuf {
    let given = PathBuf::from(format!("/test/quota-{fs}.img"));
    if given.exists() {
        return given;
    }
    let img = tmp.join(format!("{fs}.img"));
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(64 * MIB).unwrap();
    let st = match fs {
        // xfsprogs refuses filesystems under 300 MiB unless run by its own
        // test suite: these variables say so.
        "xfs" => Command::new("mkfs.xfs")
            .args(["-q", "-f"])
            .arg(&img)
            .env("TEST_DIR", "1")
            .env("TEST_DEV", "1")
            .env("QA_CHECK_FS", "1")
            .status(),
        _ => Command::new("mkfs.ext4")
            .args(["-q", "-F", "-O", "project,quota"])
            .arg(&img)
            .status(),
    };
    assert!(
        st.as_ref().is_ok_and(|s| s.success()),
        "mkfs {fs}: {st:?} (scripts/install-deps installs xfsprogs and e2fsprogs)"
    );
    img
}

/// `fs` on a loop device of its image, mounted with `data` options.
fn mount(fs: &str, data: &str) -> Mounted {
    let tmp = tempfile::tempdir().unwrap();
    let img = image(fs, tmp.path());
    let dir = tmp.path().join("mnt");
    std::fs::create_dir(&dir).unwrap();
    let dev = loopdev::attach(&img, false).unwrap();
    let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let (src, dst) = (c(dev.path()), c(&dir));
    let (fst, d) = (CString::new(fs).unwrap(), CString::new(data).unwrap());
    // SAFETY: mount(2) with C strings of ours.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fst.as_ptr(),
            0,
            d.as_ptr().cast(),
        )
    };
    assert_eq!(
        r,
        0,
        "mount {fs} -o {data}: {}",
        std::io::Error::last_os_error()
    );
    dev.keep();
    Mounted { dir, _tmp: tmp }
}

/// Appends up to `want` bytes to `file` in a child process that does not
/// hold CAP_SYS_RESOURCE (which would let ext4 pass the hard limit), as a
/// container's root; returns (bytes written, errno of the refusal or 0).
fn write_as_container(file: &Path, want: u64) -> (u64, i32) {
    let path = CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
    let buf = vec![0x5au8; 64 * 1024];
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes system calls (no allocation, no locks)
    // and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: capget/capset on our own (single-threaded) process with
        // structs on the stack; the rest are plain system calls.
        unsafe {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: i32,
            }
            let mut h = Header {
                version: 0x2008_0522,
                pid: 0,
            };
            let mut data = [[0u32; 3]; 2];
            libc::syscall(libc::SYS_capget, &mut h, data.as_mut_ptr());
            let bit = 1u32 << 24; // CAP_SYS_RESOURCE
            data[0][0] &= !bit;
            data[0][1] &= !bit;
            if libc::syscall(libc::SYS_capset, &h, data.as_ptr()) != 0 {
                libc::_exit(3);
            }
            let fd = libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND,
                0o644,
            );
            let (mut done, mut err) = (0u64, 0i32);
            while fd >= 0 && done < want {
                let n = ((want - done) as usize).min(buf.len());
                let w = libc::write(fd, buf.as_ptr().cast(), n);
                if w < 0 {
                    err = *libc::__errno_location();
                    break;
                }
                done += w as u64;
            }
            if fd < 0 || (err == 0 && libc::fsync(fd) != 0) {
                err = *libc::__errno_location();
            }
            let msg: [u8; 12] = {
                let mut m = [0u8; 12];
                m[..8].copy_from_slice(&done.to_le_bytes());
                m[8..].copy_from_slice(&err.to_le_bytes());
                m
            };
            libc::write(fds[1], msg.as_ptr().cast(), 12);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end; reading into a buffer of
    // ours; reaping our child.
    unsafe {
        libc::close(fds[1]);
        let mut m = [0u8; 12];
        let n = libc::read(fds[0], m.as_mut_ptr().cast(), 12);
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        assert_eq!(n, 12, "the writer ended with status {status:#x}");
        (
            u64::from_le_bytes(m[..8].try_into().unwrap()),
            i32::from_le_bytes(m[8..].try_into().unwrap()),
        )
    }
}

fn project_quotas_hold(fs: &str, opt: &str, refusal: i32) {
    containerv_testutil::require_root();
    let m = mount(fs, opt);
    quota::supported(&m.dir).unwrap_or_else(|e| panic!("{fs} -o {opt}: {e}"));
    let (a, b, host) = (m.dir.join("a"), m.dir.join("b"), m.dir.join("host"));
    for d in [&a, &b, &host] {
        std::fs::create_dir(d).unwrap();
    }
    let ida = quota::limit(&a, 4 * MIB, &[]).unwrap();
    let idb = quota::limit(&b, 8 * MIB, &[a.clone(), host.clone()]).unwrap();
    assert!(ida >= quota::FIRST_ID, "{ida}");
    assert_eq!(idb, ida + 1, "ids are allocated past the ones in use");
    assert_eq!(quota::project_of(&a).unwrap(), ida);
    assert_eq!(quota::project_of(&host).unwrap(), 0);

    // Filled to the bound: the kernel refuses the write that passes it.
    let (wrote, err) = write_as_container(&a.join("f"), 10 * MIB);
    println!("{fs}: wrote {wrote} bytes into a 4 MiB project, then errno {err}");
    assert_eq!(
        err,
        refusal,
        "{fs}: refused with {}",
        std::io::Error::from_raw_os_error(err)
    );
    assert!(
        wrote <= 4 * MIB,
        "{fs}: {wrote} bytes passed the 4 MiB bound"
    );
    // The directory's own block (ext4) and rounding to the 64 KiB chunk.
    assert!(
        wrote >= 4 * MIB - 128 * 1024,
        "{fs}: refused at {wrote} bytes, well before 4 MiB"
    );
    let used = quota::usage(&a).unwrap();
    assert!(
        (4 * MIB - 128 * 1024..=4 * MIB).contains(&used),
        "{fs}: the kernel counts {used} bytes"
    );
    // Another project and the unlimited rest of the filesystem are not
    // touched by the full one.
    assert_eq!(write_as_container(&b.join("f"), 6 * MIB), (6 * MIB, 0));
    assert_eq!(write_as_container(&host.join("f"), 10 * MIB), (10 * MIB, 0));
    // A second file in the full project is refused too.
    let (n, err) = write_as_container(&a.join("g"), MIB);
    assert!(
        n < 128 * 1024 && err == refusal,
        "{fs}: {n} bytes, errno {err}"
    );

    // Released: the limit is gone (what `volume rm` does before deleting).
    quota::release(&a).unwrap();
    assert_eq!(write_as_container(&a.join("f"), 2 * MIB), (2 * MIB, 0));
}

#[test]
#[ignore = "this host's kernel has no quota support (no CONFIG_QUOTA): run in the VM by tools/cgroup2-vm/run-tests.sh"]
fn xfs_project_quota_holds() {
    project_quotas_hold("xfs", "pquota", libc::ENOSPC);
}

#[test]
#[ignore = "this host's kernel has no quota support (no CONFIG_QUOTA): run in the VM by tools/cgroup2-vm/run-tests.sh"]
fn ext4_project_quota_holds() {
    project_quotas_hold("ext4", "prjquota", libc::EDQUOT);
}

/// A container's writable layer bounded as `--storage-opt size=4m` lays
/// it out: `layer` holds the project, the upper and the core's work
/// directory (`upper.work`) are made under it and inherit it.
fn writable_layer_bounded(fs: &str, opt: &str, refusal: &str) {
    use spec_common::{root_is_initramfs, run, runtime, unique_id};
    containerv_testutil::require_root();
    let m = mount(fs, opt);
    // The image may hold the other test's projects: their ids are taken.
    let others: Vec<PathBuf> = std::fs::read_dir(&m.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let layer = m.dir.join("ctr/layer");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::create_dir_all(m.dir.join("ctr-host")).unwrap();
    quota::limit(&layer, 4 * MIB, &others).unwrap();
    let upper = layer.join("upper");
    let (_root, rt) = runtime();
    let id = unique_id("quota-layer");
    // Copy-up of an image file and a rename first (both go through the
    // work directory), then fill the layer.
    let script = "echo more >> /etc/group && echo copyup-ok; \
                  mkdir -p /d/e && mv /etc/passwd /d/e/pw && echo rename-ok; \
                  dd if=/dev/zero of=/fill bs=64k count=160 2>&1; echo dd=$?";
    let (spec, mut config) = containerv::ContainerOptions::new()
        .rootfs(containerv_testutil::busybox_rootfs())
        .overlay_upper_dir(&upper, true)
        .command(["/bin/sh", "-c", script])
        .build(&id)
        .unwrap();
    config.no_pivot = root_is_initramfs();
    let (status, out) = run(&rt, &id, spec, config);
    println!("{fs}: {status:?}: {out}");
    assert!(
        out.contains("copyup-ok") && out.contains("rename-ok"),
        "{fs}: {out}"
    );
    assert!(
        out.contains(refusal) && out.contains("dd=1"),
        "{fs}: dd was not refused: {out}"
    );
    let fill = std::fs::metadata(upper.join("fill")).unwrap().len();
    let used = quota::usage(&layer).unwrap();
    println!(
        "{fs}: dd wrote {fill} bytes; the project counts {used} of {}",
        4 * MIB
    );
    // The bound is exact: the kernel counts no more than 4 MiB, and the
    // refused write is the one that would have passed it (one dd block).
    assert!(
        used <= 4 * MIB,
        "{fs}: {used} bytes counted, over the bound"
    );
    assert!(
        used > 4 * MIB - 64 * 1024,
        "{fs}: refused at {used} bytes, before the bound"
    );
    assert!(
        fill <= used && fill > 4 * MIB - 128 * 1024,
        "{fs}: {fill} bytes in the file"
    );
    // The rest of the filesystem is not bounded by it.
    assert_eq!(
        write_as_container(&m.dir.join("ctr-host/f"), 6 * MIB),
        (6 * MIB, 0)
    );
    // Released (what `cv rm` does before deleting the layer).
    quota::release(&layer).unwrap();
    assert_eq!(write_as_container(&upper.join("more"), MIB), (MIB, 0));
    // Deleted, as `cv rm` does: the id counts nothing any more (the other
    // test on this image may be handed the same id).
    std::fs::remove_dir_all(m.dir.join("ctr")).unwrap();
    std::fs::remove_dir_all(m.dir.join("ctr-host")).unwrap();
}

#[test]
#[ignore = "this host's kernel has no quota support (no CONFIG_QUOTA): run in the VM by tools/cgroup2-vm/run-tests.sh"]
fn xfs_bounds_a_containers_writable_layer() {
    writable_layer_bounded("xfs", "pquota", "No space left on device");
}

#[test]
#[ignore = "this host's kernel has no quota support (no CONFIG_QUOTA): run in the VM by tools/cgroup2-vm/run-tests.sh"]
fn ext4_bounds_a_containers_writable_layer() {
    writable_layer_bounded("ext4", "prjquota", "Disk quota exceeded");
}

/// Without quotas the refusal says what the filesystem lacks: tmpfs has
/// none; this runs on any kernel.
#[test]
fn filesystems_without_project_quotas_are_named() {
    containerv_testutil::require_root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    std::fs::create_dir(&dir).unwrap();
    let c = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    let t = CString::new("tmpfs").unwrap();
    // SAFETY: mount(2) of a tmpfs on our own directory.
    let r = unsafe { libc::mount(t.as_ptr(), c.as_ptr(), t.as_ptr(), 0, std::ptr::null()) };
    assert_eq!(r, 0);
    let m = Mounted {
        dir: dir.clone(),
        _tmp: tempfile::tempdir().unwrap(),
    };
    let e = quota::supported(&m.dir).unwrap_err();
    assert!(
        e.contains("tmpfs") && e.contains("pquota") && e.contains("prjquota"),
        "{e}"
    );
    drop(m);
    drop(tmp);
}
