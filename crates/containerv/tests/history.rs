//! The stats history ring under a flood: 200 000 samples written as
//! fast as they go into a ring of one hour at 1 s. The file never grows
//! past its fixed size (length and allocated blocks), the writer's
//! memory stays flat (it keeps no samples), and a reader racing the
//! writer only ever sees whole, ordered samples.

#![cfg(unix)]

use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use containerv::history::{file_size, read, HistoryWriter};
use containerv::Stats;

fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap()
}

#[test]
fn many_fast_samples_stay_in_a_fixed_file_and_flat_memory() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("stats.ring");
    let cap = 3600;
    let mut w = HistoryWriter::open(&p, cap).unwrap();
    // A reader racing the writer.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (p, stop) = (p.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let h = read(&p, None).unwrap();
                assert!(h.len() as u64 <= cap);
                for s in &h {
                    // Every field was written as the same number.
                    assert_eq!(s.cpu_time_ns, s.timestamp_ns, "a torn sample");
                    assert_eq!(s.memory_usage, s.timestamp_ns);
                }
                assert!(h.windows(2).all(|w| w[0].timestamp_ns < w[1].timestamp_ns));
                reads += 1;
            }
            reads
        })
    };
    let n: u64 = 200_000;
    let mut rss_mid = 0;
    let t = Instant::now();
    for i in 1..=n {
        let s = Stats {
            timestamp_ns: i,
            cpu_time_ns: i,
            memory_usage: i,
            ..Default::default()
        };
        w.append(&s).unwrap();
        if i == 10 * cap {
            rss_mid = rss_kb();
        }
    }
    let per = t.elapsed() / n as u32;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    let rss_end = rss_kb();
    let meta = std::fs::metadata(&p).unwrap();
    eprintln!(
        "{n} samples, {per:?} each, {reads} racing reads, file {} bytes ({} allocated), RSS {rss_mid} -> {rss_end} kB",
        meta.len(),
        meta.blocks() * 512
    );
    assert_eq!(meta.len(), file_size(cap));
    assert!(meta.blocks() * 512 <= file_size(cap).next_multiple_of(4096));
    assert!(
        rss_end <= rss_mid + 256,
        "writer memory grew: {rss_mid} -> {rss_end} kB"
    );
    let h = read(&p, None).unwrap();
    assert_eq!(h.len() as u64, cap);
    assert_eq!(h[0].timestamp_ns, n - cap + 1);
    assert_eq!(h.last().unwrap().timestamp_ns, n);
}
