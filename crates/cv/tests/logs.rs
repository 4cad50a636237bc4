//! Logs end to end: json-file lines as docker writes them, rotation with
//! max-size/max-file/compress read back whole, `logs -f` streaming while
//! lines arrive and across rotations, --tail/--since/--until/-t, the
//! local and none drivers.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Cv;

#[test]
fn json_file_lines_tail_timestamps_since() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "l",
        "containerv/busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done",
    ]);
    cv.ok(&["wait", "l"]);
    let raw = std::fs::read_to_string(
        cv.engine_root()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log")),
    )
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert!(first["log"].as_str().unwrap().ends_with('\n'));
    assert!(first["stream"] == "stdout" || first["stream"] == "stderr");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let o = cv.run(&["logs", "l"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "out1\nout2\nout3\nout4\nout5\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "err1\nerr2\nerr3\nerr4\nerr5\n"
    );
    let o = cv.run(&["logs", "--tail", "2", "l"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(all.lines().count(), 2, "{all}");
    let t = cv.ok(&["logs", "-t", "l"]);
    assert!(t.lines().all(|l| l.contains("Z out")), "{t}");
    assert_eq!(cv.ok(&["logs", "--since", "1h", "l"]).lines().count(), 5);
    assert_eq!(cv.ok(&["logs", "--until", "1h", "l"]).lines().count(), 0);
    assert!(cv
        .fails(&["logs", "--since", "yesterday", "l"])
        .contains("--since"));
    assert!(cv.fails(&["logs", "--tail", "x", "l"]).contains("--tail"));
}

#[test]
fn rotation_keeps_every_line_and_follow_crosses_rotations() {
    let cv = Cv::new();
    // ~50 bytes per json line, 600 lines, 2k files, 8 kept + compressed:
    // ~15 rotations; only the last files survive. (A follower more than
    // 8 files behind would find them gone, as with docker: 8 leaves room
    // for a loaded machine.)
    let id = cv.run_d(&[
        "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=8", "--log-opt", "compress=true",
        "containerv/busybox", "sh", "-c", "sleep 0.5; i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i+1)); [ $((i % 40)) -eq 0 ] && sleep 0.05; done",
    ]);
    // Follow from the start while it writes.
    let mut f = cv
        .cmd(&["logs", "-f", "rot"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rd = BufReader::new(f.stdout.take().unwrap());
    let start = Instant::now();
    let lines: Vec<String> = rd.lines().map(|l| l.unwrap()).collect();
    assert!(f.wait().unwrap().success());
    assert!(start.elapsed() < Duration::from_secs(20));
    let want: Vec<String> = (0..600).map(|i| format!("line{i}")).collect();
    assert_eq!(
        lines, want,
        "logs -f lost or repeated lines across rotations"
    );
    let dir = cv.engine_root().join("containers").join(&id);
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-json.log"))
        .collect();
    assert_eq!(files.len(), 8, "{files:?}");
    assert!(files.iter().any(|n| n.ends_with(".2.gz")), "{files:?}");
    // Reading back after the fact: the newest lines, in order, ending at 599.
    let out = cv.ok(&["logs", "rot"]);
    let got: Vec<&str> = out.lines().collect();
    assert!(!got.is_empty() && got.len() < 600);
    assert_eq!(*got.last().unwrap(), "line599");
    let first: usize = got[0].trim_start_matches("line").parse().unwrap();
    assert_eq!(
        got,
        want[first..].iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[test]
fn local_and_none_drivers() {
    let cv = Cv::new();
    let o = cv.run(&[
        "run",
        "--name",
        "loc",
        "--log-driver",
        "local",
        "containerv/busybox",
        "echo",
        "compact",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "compact\n");
    assert_eq!(cv.ok(&["logs", "loc"]), "compact\n");
    cv.ok(&[
        "run",
        "--name",
        "none",
        "--log-driver",
        "none",
        "containerv/busybox",
        "echo",
        "gone",
    ]);
    assert!(cv.fails(&["logs", "none"]).contains("none log driver"));
    assert!(cv
        .fails(&[
            "run",
            "--log-driver",
            "none",
            "--log-opt",
            "max-size=1k",
            "containerv/busybox",
            "true"
        ])
        .contains("--log-opt"));
}

/// The json-file records of container `id`'s log files, oldest file first
/// (plain files only), each file's text with them.
fn json_files(cv: &Cv, id: &str) -> Vec<(String, String)> {
    let dir = cv.engine_root().join("containers").join(id);
    let base = format!("{id}-json.log");
    let mut rotated: Vec<(u32, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let k = n.strip_prefix(&format!("{base}."))?.parse().ok()?;
            Some((k, n))
        })
        .collect();
    rotated.sort();
    rotated
        .into_iter()
        .rev()
        .map(|(_, n)| n)
        .chain([base])
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            (n, text)
        })
        .collect()
}

#[test]
fn a_fast_writer_rotates_at_exact_bounds_without_splitting_or_losing_a_line() {
    let cv = Cv::new();
    // `seq` writes as fast as the pipe takes it: each read of the monitor
    // holds thousands of lines, written with one write(2) per read.
    let n = 60_000;
    let script = format!("seq 1 {n}");
    let all = cv.run_d(&[
        "--name",
        "all",
        "--log-opt",
        "max-size=64k",
        "--log-opt",
        "max-file=100",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    let tail = cv.run_d(&[
        "--name",
        "tail",
        "--log-opt",
        "max-size=64k",
        "--log-opt",
        "max-file=3",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    cv.ok(&["wait", "all"]);
    cv.ok(&["wait", "tail"]);
    let max = 64 * 1024;
    let check = |id: &str| -> Vec<u64> {
        let files = json_files(&cv, id);
        let mut seq = Vec::new();
        for (k, (name, text)) in files.iter().enumerate() {
            assert!(text.len() <= max, "{name}: {} bytes > max-size", text.len());
            assert!(text.ends_with('\n'), "{name}: ends in a partial record");
            if let Some((_, next)) = files.get(k + 1) {
                let first = next.lines().next().unwrap().len() + 1;
                assert!(
                    text.len() + first > max,
                    "{name}: rotated at {} bytes, the next record ({first}) would have fit",
                    text.len()
                );
            }
            for r in text.lines() {
                let v: serde_json::Value = serde_json::from_str(r)
                    .unwrap_or_else(|e| panic!("{name}: a record that is not whole: {r:?}: {e}"));
                let line = v["log"].as_str().unwrap();
                assert!(line.ends_with('\n'), "{name}: a split line {line:?}");
                seq.push(line.trim_end().parse::<u64>().unwrap());
            }
        }
        seq
    };
    let got = check(&all);
    assert_eq!(
        got,
        (1..=n).collect::<Vec<u64>>(),
        "every line once, in order"
    );
    let logs = cv.ok(&["logs", "all"]);
    assert_eq!(logs.lines().count() as u64, n);
    assert!(json_files(&cv, &all).len() > 50, "the test rotated often");

    let files = json_files(&cv, &tail);
    assert_eq!(
        files.len(),
        3,
        "max-file=3: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let got = check(&tail);
    let first = got[0];
    assert_eq!(
        got,
        (first..=n).collect::<Vec<u64>>(),
        "the newest lines, none lost"
    );
    for c in ["all", "tail"] {
        cv.ok(&["rm", c]);
    }
}
