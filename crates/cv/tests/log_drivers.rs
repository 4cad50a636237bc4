//! The forwarding log drivers against the real programs on the other end:
//! a real `rsyslogd` (udp and tcp on 127.0.0.1, a unix stream socket
//! through imptcp and a unix datagram socket through imuxsock, each line
//! written to a file by a template that shows every parsed field), a
//! fluentd forward-protocol receiver decoding msgpack with `rmp-serde`
//! (no fluentd or fluent-bit package in Debian 12), and a real
//! `systemd-journald` started in a private mount namespace (tmpfs on
//! /run/systemd and /run/log: it binds its own native socket there, no
//! systemd as pid 1 needed) read back with `journalctl -o json`.
//!
//! What they prove: every line arrives once and in order with docker's
//! fields (tag templates, facility/severity, the format's header,
//! container_id/container_name/source, CONTAINER_* journal fields, label
//! and env attributes); `cv logs` reads the local cache for every driver;
//! a destination that is down for 10 s never slows the container (its
//! output rate while the destination is down is measured from the cache's
//! timestamps), lines beyond the buffer are dropped and counted
//! (`State.LogLinesDropped` + what arrived = what was written) and the
//! rest arrive in order once it is back; bad options exit 125 and create
//! nothing.

mod common;

use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Cv;
use serde::de::IgnoredAny;

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
const JOURNALD: &str = "/lib/systemd/systemd-journald";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real rsyslogd with its own config, killed (by pid) on drop.
struct Rsyslog {
    child: Child,
    out: PathBuf,
}

impl Rsyslog {
    fn start(dir: &Path, udp: Option<u16>, tcp: u16) -> Rsyslog {
        assert!(
            Path::new(RSYSLOGD).exists(),
            "rsyslogd missing: scripts/install-deps installs Debian's rsyslog"
        );
        let d = dir.display();
        let udp_in = udp
            .map(|p| {
                format!(
                    "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{p}\" rcvbufSize=\"4m\")\n"
                )
            })
            .unwrap_or_default();
        let conf = format!(
            r#"global(workDirectory="{d}")
{udp_in}module(load="imtcp")
module(load="imptcp")
module(load="imuxsock" SysSock.Use="off")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imptcp" path="{d}/stream.sock" unlink="on")
input(type="imuxsock" Socket="{d}/dgram.sock" CreatePath="on" RateLimit.Interval="0" UseSpecialParser="off" ParseHostname="on")
template(name="t" type="string" string="%inputname%|%syslogfacility-text%|%syslogseverity-text%|%syslogtag%|%app-name%|%procid%|%msgid%|%protocol-version%|%timereported:::date-rfc3339%|%msg%\n")
*.* action(type="omfile" file="{d}/out.log" template="t")
"#
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).unwrap();
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready when its sockets are there and tcp answers.
        let end = Instant::now() + Duration::from_secs(10);
        while !(dir.join("dgram.sock").exists()
            && dir.join("stream.sock").exists()
            && std::net::TcpStream::connect(("127.0.0.1", tcp)).is_ok())
        {
            assert!(Instant::now() < end, "rsyslogd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Rsyslog {
            child,
            out: dir.join("out.log"),
        }
    }

    /// The parsed lines of `input` whose message contains `marker`.
    fn lines(&self, input: &str, marker: &str) -> Vec<Vec<String>> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| l.splitn(10, '|').map(str::to_string).collect::<Vec<_>>())
            .filter(|f| f.len() == 10 && f[0] == input && f[9].contains(marker))
            .collect()
    }

    fn wait_lines(&self, input: &str, marker: &str, n: usize) -> Vec<Vec<String>> {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.lines(input, marker);
            if got.len() >= n || Instant::now() > end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seq_script(n: u32, marker: &str) -> String {
    format!(
        "i=1; while [ $i -le {n} ]; do echo \"{marker} $i\"; i=$((i+1)); done; echo \"{marker} oops\" >&2"
    )
}

/// Messages `"{marker} 1".."{marker} n"` exactly once each, in order.
fn assert_sequence(msgs: &[String], marker: &str, n: u32, what: &str) {
    let want: Vec<String> = (1..=n).map(|i| format!("{marker} {i}")).collect();
    let got: Vec<String> = msgs
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.ends_with("oops"))
        .collect();
    assert_eq!(got, want, "{what}: not every line once and in order");
}

#[test]
fn syslog_to_rsyslogd_over_udp_tcp_unix_and_unixgram() {
    let cv = Cv::new();
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let rs = Rsyslog::start(dir.path(), Some(udp), tcp);
    let d = dir.path().display().to_string();
    let n = 300;
    // (name, input, address, format, facility, tag)
    let cases = [
        (
            "su",
            "imudp",
            format!("udp://127.0.0.1:{udp}"),
            "rfc5424",
            "",
            "{{.Name}}/{{.ID}}",
        ),
        (
            "st",
            "imtcp",
            format!("tcp://127.0.0.1:{tcp}"),
            "rfc3164",
            "local3",
            "",
        ),
        (
            "ss",
            "imptcp",
            format!("unix://{d}/stream.sock"),
            "",
            "user",
            "{{.Name}}",
        ),
        (
            "sg",
            "imuxsock",
            format!("unixgram://{d}/dgram.sock"),
            "rfc5424micro",
            "local7",
            "{{.ImageName}}",
        ),
    ];
    let mut ids = BTreeMap::new();
    for (name, input, addr, format, facility, tag) in &cases {
        let mut args = vec![
            "--name".to_string(),
            name.to_string(),
            "--log-driver".into(),
            "syslog".into(),
            "--log-opt".into(),
            format!("syslog-address={addr}"),
        ];
        for (k, v) in [
            ("syslog-format", format),
            ("syslog-facility", facility),
            ("tag", tag),
        ] {
            if !v.is_empty() {
                args.push("--log-opt".into());
                args.push(format!("{k}={v}"));
            }
        }
        // udp loses datagrams when the receiver falls behind (rsyslogd
        // starved on a loaded machine: ~260 datagrams fill a default
        // receive buffer): a bigger buffer, and that container paces its
        // lines; the stream transports take the burst.
        let script = if *input == "imudp" {
            seq_script(n, name).replace("i=$((i+1));", "i=$((i+1)); usleep 2000;")
        } else {
            seq_script(n, name)
        };
        args.extend([
            "containerv/busybox".into(),
            "sh".into(),
            "-c".into(),
            script,
        ]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        ids.insert(*name, cv.run_d(&a));
    }
    for (name, input, _, format, facility, _) in &cases {
        cv.ok(&["wait", name]);
        let id = &ids[name];
        let short = &id[..12];
        let got = rs.wait_lines(input, name, n as usize + 1);
        let msgs: Vec<String> = got.iter().map(|f| f[9].clone()).collect();
        assert_sequence(&msgs, name, n, &format!("{name} over {input}"));
        let oops = got
            .iter()
            .find(|f| f[9].ends_with("oops"))
            .expect("the stderr line");
        assert_eq!(oops[2], "err", "{name}: stderr is severity err");
        let first = &got[0];
        assert_eq!(first[2], "info", "{name}: stdout is severity info");
        let want_facility = if facility.is_empty() {
            "daemon"
        } else {
            facility
        };
        assert_eq!(first[1], want_facility, "{name}: {first:?}");
        let monitor = cv.inspect(name, "{{.State.MonitorPid}}");
        match *format {
            "rfc5424" => {
                // <PRI>1 TIME HOST APP PROCID MSGID - MSG, seconds only.
                assert_eq!(first[7], "1");
                assert_eq!(first[4], format!("{name}/{short}"));
                assert_eq!(first[6], first[4], "docker puts the tag in MSGID too");
                assert_eq!(first[5], monitor, "PROCID is the monitor's pid");
                assert!(
                    !first[8].contains('.'),
                    "rfc5424 has whole seconds: {}",
                    first[8]
                );
            }
            "rfc5424micro" => {
                assert_eq!(first[7], "1");
                assert_eq!(first[4], "containerv/busybox");
                let frac = first[8].split('.').nth(1).unwrap_or("");
                assert_eq!(
                    frac.find(['+', '-', 'Z']),
                    Some(6),
                    "microseconds: {}",
                    first[8]
                );
            }
            "rfc3164" => {
                assert_eq!(first[7], "0");
                assert_eq!(
                    first[3],
                    format!("{short}[{monitor}]:"),
                    "default tag {{{{.ID}}}}"
                );
            }
            _ => {
                // docker's default ("unix") format: <PRI>Stamp TAG[PID]: MSG
                assert_eq!(first[3], format!("{name}[{monitor}]:"));
            }
        }
        // Dual logging: cv logs reads the local cache.
        let o = cv.run(&["logs", name]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.lines().count(), n as usize, "{name}: cv logs");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!("{name} oops")
        );
        assert_eq!(cv.inspect(name, "{{.State.LogLinesDropped}}"), "0");
        assert!(cv
            .inspect(name, "{{.LogPath}}")
            .ends_with("container-cached.log"));
    }
    for (name, ..) in &cases {
        cv.ok(&["rm", name]);
        cv.assert_gone(&ids[name]);
    }
}

/// A fluentd record and its tag.
type Record = (String, BTreeMap<String, String>);

/// One fluentd forward-protocol receiver: every record of every
/// connection, decoded with rmp-serde (Forward mode `[tag, [[time,
/// record], ...]]`, or Message mode `[tag, time, record]`).
#[derive(Clone, Default)]
struct Fluent {
    got: Arc<Mutex<Vec<Record>>>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum FluentMsg {
    Forward(String, Vec<(IgnoredAny, BTreeMap<String, String>)>),
    Message(String, IgnoredAny, BTreeMap<String, String>),
}

impl Fluent {
    fn serve(&self, l: TcpListener) {
        let got = self.got.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { return };
                let got = got.clone();
                std::thread::spawn(move || {
                    let mut r = BufReader::new(conn);
                    while let Ok(m) = rmp_serde::from_read::<_, FluentMsg>(&mut r) {
                        let mut g = got.lock().unwrap();
                        match m {
                            FluentMsg::Forward(tag, entries) => {
                                for (_, rec) in entries {
                                    g.push((tag.clone(), rec));
                                }
                            }
                            FluentMsg::Message(tag, _, rec) => g.push((tag, rec)),
                        }
                    }
                });
            }
        });
    }

    fn records(&self, name: &str) -> Vec<Record> {
        let want = format!("/{name}");
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, r)| r.get("container_name") == Some(&want))
            .cloned()
            .collect()
    }

    fn wait(&self, name: &str, n: usize) -> Vec<Record> {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.records(name);
            if r.len() >= n || Instant::now() > end {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn fluentd_forward_protocol_records_in_order_with_dockers_fields() {
    let cv = Cv::new();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let f = Fluent::default();
    f.serve(l);
    let n = 500;
    let addr = format!("fluentd-address=127.0.0.1:{port}");
    let id = cv.run_d(&[
        "--name",
        "fl",
        "--label",
        "app=web",
        "--label",
        "tier=front",
        "-e",
        "REGION=eu",
        "--log-driver",
        "fluentd",
        "--log-opt",
        &addr,
        "--log-opt",
        "tag=docker.{{.Name}}",
        "--log-opt",
        "labels=app",
        "--log-opt",
        "env=REGION",
        "--log-opt",
        "fluentd-sub-second-precision=false",
        "containerv/busybox",
        "sh",
        "-c",
        &seq_script(n, "fl"),
    ]);
    cv.ok(&["wait", "fl"]);
    let recs = f.wait("fl", n as usize + 1);
    let msgs: Vec<String> = recs.iter().map(|(_, r)| r["log"].clone()).collect();
    assert_sequence(&msgs, "fl", n, "fluentd");
    for (tag, r) in &recs {
        assert_eq!(tag, "docker.fl");
        assert_eq!(r["container_id"], id);
        assert_eq!(r["container_name"], "/fl");
        assert_eq!(r["app"], "web", "labels=app");
        assert_eq!(r["REGION"], "eu", "env=REGION");
        assert!(!r.contains_key("tier"), "only the named labels");
        let want = if r["log"].ends_with("oops") {
            "stderr"
        } else {
            "stdout"
        };
        assert_eq!(r["source"], want);
    }
    assert_eq!(cv.ok(&["logs", "fl"]).lines().count(), n as usize);
    cv.ok(&["rm", "fl"]);
    cv.assert_gone(&id);

    // Without fluentd-async the start fails when fluentd is away, as
    // docker's "failed to initialize logging driver".
    let dead = format!("fluentd-address=127.0.0.1:{}", free_port());
    let o = cv.run(&[
        "run",
        "--name",
        "away",
        "--log-driver",
        "fluentd",
        "--log-opt",
        &dead,
        "containerv/busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("failed to initialize logging driver"));
    cv.ok(&["rm", "-f", "away"]);
}

/// Lines of `cv logs -t` as (seconds since `t0`, sequence number).
fn cached_sequence(cv: &Cv, name: &str, t0: chrono::DateTime<chrono::Utc>) -> Vec<(f64, u64)> {
    cv.ok(&["logs", "-t", name])
        .lines()
        .filter_map(|l| {
            let (t, rest) = l.split_once(' ')?;
            let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
            let n = rest.rsplit(' ').next()?.parse().ok()?;
            Some((
                (t.with_timezone(&chrono::Utc) - t0).num_milliseconds() as f64 / 1e3,
                n,
            ))
        })
        .collect()
}

/// The container's output rate while the destination was away (the first
/// `down` seconds) against after it came back: never blocked means it
/// kept writing at about its own pace.
fn assert_never_blocked(seq: &[(f64, u64)], down: f64, what: &str) {
    let total = seq.len() as u64;
    assert_eq!(
        seq.iter().map(|s| s.1).collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>(),
        "{what}: the local cache has every line"
    );
    let end = seq.last().unwrap().0;
    let during = seq.iter().filter(|s| s.0 < down).count() as f64 / down;
    let after = seq.iter().filter(|s| s.0 >= down + 1.0).count() as f64 / (end - down - 1.0);
    eprintln!(
        "{what}: {during:.0} lines/s while the destination was down, {after:.0} lines/s after"
    );
    assert!(during > 0.5 * after, "{what}: the container slowed down while the destination was away ({during:.0} vs {after:.0} lines/s)");
    for s in 1..(down as u64) {
        assert!(
            seq.iter().any(|x| x.0 >= (s - 1) as f64 && x.0 < s as f64),
            "{what}: no output in second {s} while the destination was away"
        );
    }
}

/// Strictly increasing sequence numbers (no duplicates, in order) that
/// account, with the dropped count, for every line.
fn assert_arrived(got: &[u64], total: u64, dropped: u64, what: &str) {
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "{what}: duplicates or out of order"
    );
    assert!(dropped > 0, "{what}: the buffer bound was never reached");
    assert_eq!(
        got.len() as u64 + dropped,
        total,
        "{what}: arrived + dropped = written"
    );
    assert_eq!(
        got.last(),
        Some(&(total - 1)),
        "{what}: the last line arrived"
    );
}

#[test]
fn a_destination_down_for_10s_never_blocks_and_drops_are_counted() {
    let cv = Cv::new();
    let dir = tempfile::tempdir().unwrap();
    let (syslog_port, fluent_port) = (free_port(), free_port());
    // ~16 s of numbered lines, paced by the container itself.
    let script = "end=$(( $(date +%s) + 16 )); i=0; while [ $(date +%s) -lt $end ]; do echo \"seq $i\"; i=$((i+1)); usleep 1000; done";
    let t0 = chrono::Utc::now();
    let sid = cv.run_d(&[
        "--name",
        "sdown",
        "--log-driver",
        "syslog",
        "--log-opt",
        &format!("syslog-address=tcp://127.0.0.1:{syslog_port}"),
        "--log-opt",
        "max-buffer-size=16k",
        "--log-opt",
        "tag=sdown",
        "containerv/busybox",
        "sh",
        "-c",
        script,
    ]);
    let fid = cv.run_d(&[
        "--name",
        "fdown",
        "--log-driver",
        "fluentd",
        "--log-opt",
        &format!("fluentd-address=tcp://127.0.0.1:{fluent_port}"),
        "--log-opt",
        "fluentd-async=true",
        "--log-opt",
        "fluentd-buffer-limit=200",
        "--log-opt",
        "fluentd-retry-wait=500ms",
        "containerv/busybox",
        "sh",
        "-c",
        script,
    ]);
    std::thread::sleep(Duration::from_secs(10));
    let rs = Rsyslog::start(dir.path(), None, syslog_port);
    let f = Fluent::default();
    f.serve(TcpListener::bind(("127.0.0.1", fluent_port)).unwrap());
    cv.ok(&["wait", "sdown"]);
    cv.ok(&["wait", "fdown"]);

    // Each container's seconds count from its own start (not `t0`: on a
    // loaded machine the second `run -d` may start a second later), which
    // still lies before the destinations came up.
    let started = |n: &str| {
        let t = cv.inspect(n, "{{.State.StartedAt}}");
        let t = chrono::DateTime::parse_from_rfc3339(t.trim())
            .unwrap_or_else(|e| panic!("{n} StartedAt {t:?}: {e}"))
            .with_timezone(&chrono::Utc);
        assert!(
            t >= t0 - chrono::Duration::seconds(1),
            "{n} started before the test"
        );
        t
    };
    let s_seq = cached_sequence(&cv, "sdown", started("sdown"));
    assert_never_blocked(&s_seq, 10.0, "syslog");
    let f_seq = cached_sequence(&cv, "fdown", started("fdown"));
    assert_never_blocked(&f_seq, 10.0, "fluentd");

    let s_total = s_seq.len() as u64;
    let s_dropped: u64 = cv
        .inspect("sdown", "{{.State.LogLinesDropped}}")
        .parse()
        .unwrap();
    let s_got: Vec<u64> = rs
        .wait_lines("imtcp", "seq ", (s_total - s_dropped) as usize)
        .iter()
        .filter_map(|f| f[9].trim().strip_prefix("seq ")?.parse().ok())
        .collect();
    assert_arrived(&s_got, s_total, s_dropped, "syslog");

    let f_total = f_seq.len() as u64;
    let f_dropped: u64 = cv
        .inspect("fdown", "{{.State.LogLinesDropped}}")
        .parse()
        .unwrap();
    let f_got: Vec<u64> = f
        .wait("fdown", (f_total - f_dropped) as usize)
        .iter()
        .filter_map(|(_, r)| r["log"].strip_prefix("seq ")?.parse().ok())
        .collect();
    assert_arrived(&f_got, f_total, f_dropped, "fluentd");

    // The monitor said what it dropped.
    for id in [&sid, &fid] {
        let log = std::fs::read_to_string(
            cv.engine_root()
                .join("containers")
                .join(id)
                .join("monitor.log"),
        )
        .unwrap_or_default();
        assert!(
            log.contains("reachable again") && log.contains("dropped"),
            "monitor.log: {log}"
        );
    }
    for (n, id) in [("sdown", &sid), ("fdown", &fid)] {
        cv.ok(&["rm", n]);
        cv.assert_gone(id);
    }
}

#[test]
fn journald_native_protocol_into_a_real_systemd_journald() {
    let cv = Cv::new();
    assert!(
        Path::new(JOURNALD).exists(),
        "systemd-journald missing: scripts/install-deps installs Debian's systemd"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("journal.json");
    let n = 200;
    let cv_cmd = cv.cmd(&[]);
    let mut cv_line = vec![cv_cmd.get_program().to_string_lossy().into_owned()];
    cv_line.extend(cv_cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let cv_line = cv_line.join(" ");
    // journald in a private mount namespace: its sockets and its volatile
    // journal on tmpfs mounts only that namespace sees.
    let script = format!(
        r#"set -e
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/log && mount -t tmpfs tmpfs /run/log
[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
{JOURNALD} & jpid=$!
trap 'kill $jpid' EXIT
i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
{cv_line} run --name jd --label app=web --label com.example.tier=front -e REGION=eu \
  --log-driver journald --log-opt labels=app,com.example.tier --log-opt env=REGION \
  --log-opt 'tag={{{{.Name}}}}/{{{{.ImageName}}}}' containerv/busybox sh -c '{script}' >/dev/null 2>&1
{cv_line} inspect -f '{{{{.Id}}}}' jd > {dir}/id
journalctl --sync 2>/dev/null || true
sleep 0.5
journalctl -D /run/log/journal -o json --no-pager CONTAINER_NAME=jd > {out}
{cv_line} logs jd > {dir}/cached 2>&1
"#,
        script = seq_script(n, "jd"),
        dir = dir.path().display(),
        out = out.display(),
    );
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("CV_MONITOR_BUILTIN", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = std::fs::read_to_string(dir.path().join("id"))
        .unwrap()
        .trim()
        .to_string();
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let msgs: Vec<String> = entries
        .iter()
        .map(|e| e["MESSAGE"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_sequence(&msgs, "jd", n, "journald");
    for e in &entries {
        assert_eq!(e["CONTAINER_ID"], id[..12]);
        assert_eq!(e["CONTAINER_ID_FULL"], id);
        assert_eq!(e["CONTAINER_NAME"], "jd");
        assert_eq!(e["CONTAINER_TAG"], "jd/containerv/busybox");
        assert_eq!(e["SYSLOG_IDENTIFIER"], "jd/containerv/busybox");
        assert_eq!(e["IMAGE_NAME"], "containerv/busybox");
        assert_eq!(e["APP"], "web");
        assert_eq!(e["COM_EXAMPLE_TIER"], "front");
        assert_eq!(e["REGION"], "eu");
        assert_eq!(e["_TRANSPORT"], "journal");
        let oops = e["MESSAGE"].as_str().unwrap().ends_with("oops");
        assert_eq!(e["PRIORITY"], if oops { "3" } else { "6" });
    }
    let cached = std::fs::read_to_string(dir.path().join("cached")).unwrap();
    assert_eq!(
        cached.lines().count(),
        n as usize + 1,
        "cv logs from the cache"
    );
    cv.ok(&["rm", "jd"]);
    cv.assert_gone(&id);
}

#[test]
fn bad_log_options_exit_125_and_create_nothing() {
    let cv = Cv::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--log-driver",
                "syslog",
                "--log-opt",
                "syslog-address=ftp://x",
            ],
            "syslog-address",
        ),
        (
            &[
                "--log-driver",
                "syslog",
                "--log-opt",
                "syslog-address=unix:///no/such.sock",
            ],
            "syslog-address",
        ),
        (
            &["--log-driver", "syslog", "--log-opt", "fluentd-address=x:1"],
            "unknown log opt",
        ),
        (
            &[
                "--log-driver",
                "syslog",
                "--log-opt",
                "syslog-facility=kitchen",
            ],
            "syslog-facility",
        ),
        (
            &["--log-driver", "syslog", "--log-opt", "syslog-format=rfc1"],
            "syslog-format",
        ),
        (
            &[
                "--log-driver",
                "fluentd",
                "--log-opt",
                "fluentd-address=ftp://x",
            ],
            "fluentd-address",
        ),
        (
            &[
                "--log-driver",
                "fluentd",
                "--log-opt",
                "fluentd-retry-wait=soon",
            ],
            "fluentd-retry-wait",
        ),
        (
            &["--log-driver", "journald", "--log-opt", "max-size=1m"],
            "unknown log opt",
        ),
        (
            &["--log-driver", "journald", "--log-opt", "tag={{.Bogus}}"],
            "tag",
        ),
        (&["--log-opt", "env-regex=("], "env-regex"),
        (&["--log-driver", "gelf"], "--log-driver"),
    ];
    for (flags, want) in cases {
        let mut a = vec!["run", "--name", "bad"];
        a.extend_from_slice(flags);
        a.extend(["containerv/busybox", "true"]);
        let o = cv.run(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert!(cv.ids().is_empty(), "{flags:?} left a container");
    }
}

#[test]
fn engine_file_log_defaults_apply_as_dockerd_merges_them() {
    let cv = Cv::new();
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_port();
    let rs = Rsyslog::start(dir.path(), None, tcp);
    let conf = dir.path().join("engine.toml");
    std::fs::write(
        &conf,
        format!(
            "[log]\ndriver = \"syslog\"\nopts = {{ syslog-address = \"tcp://127.0.0.1:{tcp}\", tag = \"dflt-{{{{.Name}}}}\", syslog-facility = \"local2\" }}\n"
        ),
    )
    .unwrap();
    let c = conf.to_str().unwrap();
    let with = |args: &[&str]| {
        let mut a = vec!["--config-file", c];
        a.extend_from_slice(args);
        cv.ok(&a)
    };
    assert_eq!(
        with(&["info", "--format", "{{.LoggingDriver}}"]).trim(),
        "syslog"
    );
    let opts = with(&["info", "--format", "{{json .DefaultLogOptions}}"]);
    assert!(opts.contains("\"tag\":\"dflt-{{.Name}}\""), "{opts}");
    // No --log-driver: the file's driver and options (its own tag wins).
    with(&[
        "run",
        "--name",
        "d1",
        "containerv/busybox",
        "sh",
        "-c",
        &seq_script(20, "d1"),
    ]);
    with(&[
        "run",
        "--name",
        "d2",
        "--log-opt",
        "tag=own",
        "containerv/busybox",
        "sh",
        "-c",
        &seq_script(20, "d2"),
    ]);
    // Another driver: the file's options are not applied.
    with(&[
        "run",
        "--name",
        "d3",
        "--log-driver",
        "json-file",
        "containerv/busybox",
        "true",
    ]);
    let d1 = rs.wait_lines("imtcp", "d1", 21);
    assert_sequence(
        &d1.iter().map(|f| f[9].clone()).collect::<Vec<_>>(),
        "d1",
        20,
        "defaults",
    );
    assert!(d1[0][3].starts_with("dflt-d1["), "{:?}", d1[0]);
    assert_eq!(d1[0][1], "local2");
    let d2 = rs.wait_lines("imtcp", "d2", 21);
    assert!(d2[0][3].starts_with("own["), "{:?}", d2[0]);
    assert_eq!(cv.inspect("d1", "{{.HostConfig.LogConfig.Type}}"), "syslog");
    assert_eq!(
        cv.inspect("d3", "{{.HostConfig.LogConfig.Type}}"),
        "json-file"
    );
    assert!(!cv
        .inspect("d3", "{{json .HostConfig.LogConfig.Config}}")
        .contains("syslog"));
    // A bad [log] stops engine commands, naming the key.
    std::fs::write(
        &conf,
        "[log]\ndriver = \"syslog\"\nopts = { syslog-address = \"ftp://x\" }\n",
    )
    .unwrap();
    let o = cv.run(&["--config-file", c, "info"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("syslog-address"));
    for n in ["d1", "d2", "d3"] {
        cv.ok(&["rm", n]);
    }
}
