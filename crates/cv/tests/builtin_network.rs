//! The built-in image's network applets work, as people use busybox:
//! `wget` (by address and by a name from /etc/hosts), `nc`, `nslookup`
//! (against a DNS server this test runs on 127.0.0.1) and `ping` (in the
//! container's own network namespace, whose `net.ipv4.ping_group_range`
//! is open as docker sets it). Debian's static busybox is
//! glibc's: these run its name-service code inside the image for real.
//! No applet may die of a signal (the issue saw wget exit 139).
//!
//! Each test makes the built-in image in a fresh image store (the shared
//! store of the other tests may hold an older one) and checks that no
//! container is left.

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::ExitStatusExt;
use std::process::Output;
use std::time::Duration;

use common::Cv;
use containerv_testutil::temp_root;

/// A `Cv` with its own image store (so the built-in image is made anew).
fn fresh_cv() -> (Cv, containerv_testutil::TempRoot) {
    let images = temp_root();
    let mut cv = Cv::new();
    cv.images = images.path().join("images");
    (cv, images)
}

/// Asserts `o` is a clean exit 0 (not a crash), returns stdout.
fn clean(what: &str, o: &Output) -> String {
    assert_eq!(
        o.status.signal(),
        None,
        "{what}: killed by a signal: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success(),
        "{what} failed ({}): {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An HTTP server on 127.0.0.1 answering every request with `body`.
fn http_server(body: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(8) {
            let Ok(mut s) = s else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A DNS server on 127.0.0.1 answering A queries for any name with
/// 127.0.0.7 and other types with no records.
fn dns_server() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        for _ in 0..32 {
            let Ok((n, peer)) = s.recv_from(&mut buf) else {
                return;
            };
            if n < 12 {
                continue;
            }
            // The question: labels up to the zero byte, then type and class.
            let mut i = 12;
            while i < n && buf[i] != 0 {
                i += 1 + buf[i] as usize;
            }
            if i + 5 > n {
                continue;
            }
            let qend = i + 5;
            let qtype = u16::from_be_bytes([buf[i + 1], buf[i + 2]]);
            let a = qtype == 1;
            let mut out = Vec::new();
            out.extend_from_slice(&buf[..2]); // id
            out.extend_from_slice(&[0x81, 0x80, 0, 1, 0, a as u8, 0, 0, 0, 0]);
            out.extend_from_slice(&buf[12..qend]);
            if a {
                out.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 7]);
            }
            let _ = s.send_to(&out, peer);
        }
    });
    port
}

#[test]
fn wget_by_address_and_by_name() {
    let (cv, _images) = fresh_cv();
    let port = http_server("hello from the host\n");
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("http://{host}:{port}/");
        let o = cv.run(&[
            "run",
            "--rm",
            "--network",
            "host",
            "containerv/busybox",
            "wget",
            "-qO-",
            &url,
        ]);
        assert_eq!(clean(&format!("wget {url}"), &o), "hello from the host\n");
    }
    assert!(cv.ids().is_empty(), "containers left: {:?}", cv.ids());
}

#[test]
fn nc_sends_to_a_host_listener() {
    let (cv, _images) = fresh_cv();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let got = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    });
    let o = cv.run(&[
        "run",
        "--rm",
        "--network",
        "host",
        "containerv/busybox",
        "sh",
        "-c",
        &format!("echo hello-nc | nc -w 5 127.0.0.1 {port}"),
    ]);
    clean("nc", &o);
    assert_eq!(got.join().unwrap(), "hello-nc\n");
}

#[test]
fn nslookup_asks_the_given_server() {
    let (cv, _images) = fresh_cv();
    let port = dns_server();
    let server = format!("127.0.0.1:{port}");
    let o = cv.run(&[
        "run",
        "--rm",
        "--network",
        "host",
        "containerv/busybox",
        "nslookup",
        "-type=a",
        "example.test",
        &server,
    ]);
    let out = clean("nslookup", &o);
    assert!(
        out.contains("Address: 127.0.0.7"),
        "nslookup did not print the answer: {out}"
    );
}

#[test]
fn ping_group_range_is_open_in_the_containers_own_network() {
    let (cv, _images) = fresh_cv();
    let o = cv.run(&[
        "run",
        "--rm",
        "containerv/busybox",
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    assert_eq!(clean("cat", &o), "0\t2147483647\n");
    // Never the host's: --network host leaves the host's sysctl alone.
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let o = cv.run(&[
        "run",
        "--rm",
        "--network",
        "host",
        "containerv/busybox",
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    assert_eq!(clean("cat", &o), host);
}

/// busybox 1.35's ping opens a raw socket: docker's default CAP_NET_RAW
/// and lo up in the container's own namespace make it work.
#[test]
fn ping_in_the_containers_own_network() {
    let (cv, _images) = fresh_cv();
    let o = cv.run(&[
        "run",
        "--rm",
        "containerv/busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        "127.0.0.1",
    ]);
    let out = clean("ping", &o);
    assert!(out.contains("1 packets received"), "{out}");
}

#[test]
fn name_service_files_are_in_the_image() {
    let (cv, _images) = fresh_cv();
    let o = cv.run(&[
        "run",
        "--rm",
        "containerv/busybox",
        "sh",
        "-c",
        "grep '^hosts:' /etc/nsswitch.conf; grep -c . /etc/services /etc/protocols; id nobody",
    ]);
    let out = clean("cat", &o);
    assert!(out.starts_with("hosts: files dns\n"), "{out}");
    assert!(out.contains("uid=65534(nobody)"), "{out}");
}
