//! `cv` networking end to end on the real kernel: what a container's
//! network namespace looks like per `--network` mode. Traffic only inside
//! namespaces this test made and on 127.0.0.0/8.
#![cfg(target_os = "linux")]

mod common;

use common::Cv;

#[test]
fn network_none_has_loopback_up() {
    let cv = Cv::new();
    // A server and a client on 127.0.0.1 inside one container.
    let out = cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "containerv/busybox",
        "sh",
        "-c",
        "cat /sys/class/net/lo/flags; ls /sys/class/net; \
         (echo pong | nc -l -p 7000 &) ; sleep 0.2; echo ping | nc -w 2 127.0.0.1 7000",
    ]);
    let mut lines: Vec<&str> = out.lines().collect();
    // The server prints what it got, the client the answer.
    lines[2..].sort();
    assert_eq!(lines, ["0x9", "lo", "ping", "pong"], "{out}");
}
