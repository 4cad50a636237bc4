//! Diagnostics reach the user: the library's `tracing` warnings (here the
//! registry client's retries against a real HTTP server on 127.0.0.1 that
//! answers 500) are printed on stderr at docker's `--log-level`, `-D` and
//! `--log-level error` change what is shown, and an error's OS cause is
//! printed once.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::Cv;

/// An HTTP server that answers every request with 500; returns its port.
fn failing_registry() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"broken\"}]}";
            let _ = write!(
                s,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn stderr_of(cv: &Cv, args: &[&str]) -> String {
    let o = cv.run(args);
    assert!(!o.status.success(), "cv {args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn registry_retries_are_shown_at_the_chosen_level() {
    let cv = Cv::new();
    let port = failing_registry();
    let image = format!("127.0.0.1:{port}/diag/none:1");
    let err = stderr_of(&cv, &["pull", &image]);
    assert!(err.contains("WARN") && err.contains("retrying in"), "{err}");
    assert!(err.contains("Error:"), "{err}");
    let err = stderr_of(&cv, &["--log-level", "error", "pull", &image]);
    assert!(!err.contains("retrying in"), "{err}");
    assert!(err.contains("Error:"), "{err}");
    let err = stderr_of(&cv, &["-D", "pull", &image]);
    assert!(err.contains("retrying in"), "{err}");
    let o = cv.run(&["--log-level", "loud", "ps"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("loud"), "{err}");
}

#[test]
fn os_cause_is_printed_once() {
    let cv = Cv::new();
    let missing = cv.root.path().join("no-such-archive.tar");
    let err = stderr_of(&cv, &["load", "-i", missing.to_str().unwrap()]);
    let os = std::io::Error::from_raw_os_error(libc::ENOENT).to_string();
    let os = os.split(" (os error").next().unwrap().to_string();
    assert_eq!(err.matches(&os).count(), 1, "{err}");
}
