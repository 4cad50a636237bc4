//! Per-container network counters in `cv stats` against a measured
//! transfer: 32 MiB sent from the host to a container on the default
//! bridge (its own address: traffic stays on this host) and a 16 MiB file
//! fetched by the host from the container's busybox httpd. `cv stats`
//! must show each direction within 5% of the payload (the counters include
//! the packets' headers; segmentation offload keeps them to well under
//! 5%). iperf3 is not in the busybox image, so the host's ends are the
//! test's own sockets, counting exact payload bytes.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::Cv;

/// `33.554MB` → bytes (docker's decimal units, as `cv stats` prints).
fn parse_human(s: &str) -> f64 {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (v, unit) = s.split_at(split);
    let v: f64 = v.parse().unwrap_or_else(|_| panic!("not a size: {s}"));
    let m = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        u => panic!("unit {u} in {s}"),
    };
    v * m
}

fn net_io(cv: &Cv, c: &str) -> (f64, f64) {
    let s = cv.ok(&["stats", "--no-stream", "--format", "{{.NetIO}}", c]);
    let (rx, tx) = s.trim().split_once(" / ").unwrap();
    (parse_human(rx), parse_human(tx))
}

fn within_5pct(got: f64, want: f64) -> bool {
    got >= want && got <= want * 1.05
}

#[test]
fn stats_network_counters_match_a_transfer() {
    const IN: usize = 32 << 20;
    const OUT: usize = 16 << 20;
    let cv = Cv::new();
    // The container: receive IN bytes on 5000, then (told by a file
    // appearing) send OUT bytes to the host's listener.
    let c = cv.run_d(&[
        "containerv/busybox",
        "sh",
        "-c",
        "mkdir /www && dd if=/dev/zero of=/www/blob bs=65536 count=256 2>/dev/null && \
         (httpd -p 8000 -h /www &) ; nc -l -p 5000 > /dev/null; sleep 600",
    ]);
    let ip = cv.inspect(&c, "{{.NetworkSettings.IPAddress}}");
    let (rx0, _) = net_io(&cv, &c);

    // Host → container.
    let sa: std::net::SocketAddr = format!("{ip}:5000").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(2)) {
            Ok(s) => break s,
            Err(e) => assert!(Instant::now() < end, "{sa}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let buf = vec![0x5au8; 1 << 20];
    for _ in 0..(IN >> 20) {
        s.write_all(&buf).unwrap();
    }
    drop(s);

    // The counters of the inbound transfer settle before the outbound
    // one starts (each direction is measured over its own phase: the
    // ACKs of one are not the payload of the other).
    let end = Instant::now() + Duration::from_secs(5);
    let (rx1, tx1) = loop {
        let (rx, tx) = net_io(&cv, &c);
        if within_5pct(rx - rx0, IN as f64) || Instant::now() > end {
            break (rx, tx);
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    // Container → host: busybox httpd sends the file (with sendfile,
    // as a server would); every byte read here is TCP payload.
    let sa: std::net::SocketAddr = format!("{ip}:8000").parse().unwrap();
    let mut conn = std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(5)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(b"GET /blob HTTP/1.0\r\n\r\n").unwrap();
    let mut got = 0usize;
    let mut b = vec![0u8; 1 << 16];
    loop {
        match conn.read(&mut b).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    assert!(got > OUT, "the file arrived whole ({got} bytes)");
    let out_bytes = got as f64;
    // The counters settle once the last packets are counted.
    let end = Instant::now() + Duration::from_secs(5);
    let rx = rx1 - rx0;
    let tx = loop {
        let dtx = net_io(&cv, &c).1 - tx1;
        if within_5pct(dtx, out_bytes) || Instant::now() > end {
            break dtx;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "stats: rx {rx} for {IN} ({:.4}x), tx {tx} for {out_bytes} ({:.4}x)",
        rx / IN as f64,
        tx / out_bytes
    );
    assert!(
        within_5pct(rx, IN as f64),
        "rx {rx} bytes for a {IN}-byte transfer"
    );
    assert!(
        within_5pct(tx, out_bytes),
        "tx {tx} bytes for a {out_bytes}-byte transfer"
    );
    cv.ok(&["rm", "-f", &c]);
    cv.assert_gone(&c);
}
