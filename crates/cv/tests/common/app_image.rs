//! A multi-layer test image built by podman (`podman build`, docker
//! format, chroot isolation: RUN needs no runtime, cgroup or network):
//! the busybox rootfs as its base layer, then a layer that adds the user
//! `svc` (uid 1234), `USER svc`, `VOLUME /data` (owned by svc, with a
//! file in it), `HEALTHCHECK` and `WORKDIR`. The docker-archive is built
//! once per machine (like the shared busybox rootfs) under a name that
//! carries its recipe's version, renamed into place when complete.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use containerv_testutil::peer::{private_run, run_ok, PodmanConfig};

/// The image's name once loaded.
pub const APP_IMAGE: &str = "localhost/cvtest-app:1";

const CONTAINERFILE: &str = r#"FROM localhost/cvtest-base:1
RUN echo 'svc:x:1234:1234:svc:/home/svc:/bin/sh' >> /etc/passwd && echo 'svc:x:1234:' >> /etc/group && mkdir -p /home/svc /data && echo seeded > /data/seed && chown -R 1234:1234 /home/svc /data
USER svc
VOLUME /data
HEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD test -e /tmp/healthy
WORKDIR /home/svc
CMD ["sleep", "30"]
"#;

/// The docker-archive of the image (built on first use).
pub fn app_image_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let tar = std::env::temp_dir().join("containerv-test-app-image-v1.tar");
        if tar.exists() {
            return tar;
        }
        let tmp = std::env::temp_dir().join(format!(
            "containerv-test-app-image-v1.tar.{}",
            std::process::id()
        ));
        let out = tmp.clone();
        // podman writes under /run whatever it is told: its own /run, in
        // a thread of its own.
        std::thread::spawn(move || {
            private_run();
            let p = PodmanConfig::new("", "");
            let work = p.dir.path().join("ctx");
            std::fs::create_dir_all(&work).unwrap();
            let rootfs = containerv_testutil::peer::rootfs_tar(p.dir.path());
            run_ok(
                p.cmd()
                    .arg("import")
                    .arg(&rootfs)
                    .arg("localhost/cvtest-base:1"),
            );
            std::fs::write(work.join("Containerfile"), CONTAINERFILE).unwrap();
            run_ok(p.cmd().args([
                "build",
                "--isolation",
                "chroot",
                // chroot isolation allows only the host network; no RUN
                // step uses it.
                "--network",
                "host",
                "--format",
                "docker",
                "-t",
                "localhost/cvtest-app:1",
                work.to_str().unwrap(),
            ]));
            run_ok(
                p.cmd()
                    .args(["save", "--format", "docker-archive", "-o"])
                    .arg(&out)
                    .arg("localhost/cvtest-app:1"),
            );
        })
        .join()
        .expect("building the test image with podman");
        if std::fs::rename(&tmp, &tar).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        tar
    })
    .clone()
}

/// Loads the image into `cv`'s store (idempotent).
pub fn load_app_image(cv: &super::Cv) {
    let tar = app_image_tar();
    cv.ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
}
