//! Stats history: a container's samples in a fixed-size ring file.
//!
//! Why a ring file and not a log or an in-memory buffer: the samples must
//! outlive the process that takes them (a killed and replaced engine
//! monitor carries on where the last one stopped, `cv stats --history`
//! reads them from another process) and both memory and disk must stay
//! bounded however long the container runs. A file of `capacity` fixed
//! slots does both: the writer holds nothing but a descriptor and a
//! counter (no copy of the samples in memory), the file never grows past
//! [`file_size`], and the oldest sample is overwritten in place.
//!
//! Layout (little-endian): a 64-byte header (magic `CVHIST1\0`, format
//! version, record size, capacity) written once, then `capacity` slots of
//! [`RECORD_SIZE`] bytes. A record is 22 `u64`: its sequence number
//! (1, 2, ...; 0 = empty slot), an FNV-1a checksum of the other 21, the
//! sample's time and the 19 cumulative or current figures of [`Stats`].
//! Sample `seq` lives in slot `(seq - 1) % capacity`, so nothing mutable
//! sits in the header: a writer that (re)opens the file finds the highest
//! valid sequence number and continues after it, and a reader that races
//! a write sees either the old or the new record of a slot, or a record
//! whose checksum fails (torn), which it skips. One writer at a time (the
//! engine's monitor holds its lock); any number of readers.
//!
//! `cpu_percent` is not stored: [`read`] derives it from consecutive
//! samples (0 for the first, and where the CPU counter went backwards:
//! the container was restarted with a new cgroup).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::stats::Stats;

const MAGIC: &[u8; 8] = b"CVHIST1\0";
const VERSION: u32 = 1;
const HEADER: u64 = 64;
const FIELDS: usize = 22;
/// Bytes per sample on disk.
pub const RECORD_SIZE: u64 = (FIELDS * 8) as u64;
/// The most samples one ring holds (about 6.3 MB on disk): ten hours at
/// 1 s, one hour at 100 ms.
pub const MAX_CAPACITY: u64 = 36_000;
/// The shortest sampling interval the engine accepts.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// How far back a ring reaches by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);

/// Slots needed to keep `retention` of samples taken every `interval`
/// (at least 2, at most [`MAX_CAPACITY`]).
pub fn capacity_for(interval: Duration, retention: Duration) -> u64 {
    let i = interval.as_nanos().max(1);
    let n = retention.as_nanos().div_ceil(i);
    (n.min(u128::from(MAX_CAPACITY)) as u64).max(2)
}

/// The size of a ring file of `capacity` slots: its disk bound.
pub fn file_size(capacity: u64) -> u64 {
    HEADER + capacity * RECORD_SIZE
}

/// Appends samples to a ring file. Holds only the file and two numbers
/// (on Linux also a window of a few pages mapped over the slots being
/// written, where that is safe: `linux/ringmap.rs`).
///
/// On Linux the first writer with a window installs a SIGBUS handler for
/// the process (`linux/ringmap_guard.rs`): a fault in a window (the file
/// truncated under it) turns the writer to `pwrite` instead of killing
/// the process; any other SIGBUS goes to the action installed before it.
#[derive(Debug)]
pub struct HistoryWriter {
    file: File,
    path: PathBuf,
    capacity: u64,
    next_seq: u64,
    #[cfg(target_os = "linux")]
    map: Option<crate::linux::ringmap::RingMap>,
}

impl HistoryWriter {
    /// Opens the ring at `path`, creating it with `capacity` slots if it
    /// does not exist or is not a ring. An existing ring keeps its own
    /// capacity (its samples are kept) unless `capacity` differs, in which
    /// case it is started afresh with the new size.
    pub fn open(path: &Path, capacity: u64) -> Result<Self> {
        if !(2..=MAX_CAPACITY).contains(&capacity) {
            return Err(Error::InvalidOption {
                option: "history capacity",
                value: capacity.to_string(),
                reason: format!("must be between 2 and {MAX_CAPACITY} samples"),
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_err("open the stats history", path, e))?;
        let mut w = HistoryWriter {
            file,
            path: path.to_path_buf(),
            capacity,
            next_seq: 1,
            #[cfg(target_os = "linux")]
            map: None,
        };
        match read_header(&w.file) {
            Some(cap) if cap == capacity => {
                let last = scan(&w.file, cap)
                    .map_err(|e| io_err("read the stats history", path, e))?
                    .iter()
                    .map(|r| r[0])
                    .max()
                    .unwrap_or(0);
                w.next_seq = last + 1;
            }
            _ => w.reset()?,
        }
        #[cfg(target_os = "linux")]
        {
            w.map = crate::linux::ringmap::RingMap::new(&w.file, file_size(capacity));
        }
        Ok(w)
    }

    fn reset(&mut self) -> Result<()> {
        // Nothing stays mapped over a file being cut.
        #[cfg(target_os = "linux")]
        {
            self.map = None;
        }
        let mut h = [0u8; HEADER as usize];
        h[..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(RECORD_SIZE as u32).to_le_bytes());
        h[16..24].copy_from_slice(&self.capacity.to_le_bytes());
        let err = |e| io_err("write the stats history", &self.path, e);
        self.file.set_len(0).map_err(err)?;
        // A sparse file: empty slots read as zeros (sequence 0 = empty).
        self.file.set_len(file_size(self.capacity)).map_err(err)?;
        write_at(&self.file, &h, 0).map_err(err)?;
        self.next_seq = 1;
        Ok(())
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The sequence number the next sample gets (samples written so far
    /// over the ring's whole life, plus one).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Writes one sample over the oldest (a copy into the mapped window,
    /// else one positional write).
    pub fn append(&mut self, s: &Stats) -> Result<()> {
        let seq = self.next_seq;
        let rec = encode(seq, s);
        let off = HEADER + ((seq - 1) % self.capacity) * RECORD_SIZE;
        #[cfg(target_os = "linux")]
        let mapped = self
            .map
            .as_mut()
            .is_some_and(|m| m.write(&self.file, off, &rec));
        #[cfg(not(target_os = "linux"))]
        let mapped = false;
        if !mapped {
            write_at(&self.file, &rec, off)
                .map_err(|e| io_err("write the stats history", &self.path, e))?;
        }
        self.next_seq += 1;
        Ok(())
    }
}

/// Every sample of the ring at `path` taken at or after `since` (all with
/// `None`), oldest first, with `cpu_percent` derived from the sample
/// before. A missing file reads as no samples.
pub fn read(path: &Path, since: Option<SystemTime>) -> Result<Vec<Stats>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("open the stats history", path, e)),
    };
    let Some(cap) = read_header(&file) else {
        return Ok(Vec::new());
    };
    let mut recs = scan(&file, cap).map_err(|e| io_err("read the stats history", path, e))?;
    recs.sort_unstable_by_key(|r| r[0]);
    // After a wrap the lowest sequence numbers may be stale copies only if
    // a slot was torn; the newest `cap` are the ring.
    let newest = recs.last().map_or(0, |r| r[0]);
    let from_ns = since.map_or(0, |t| {
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let mut out: Vec<Stats> = Vec::new();
    let mut prev: Option<Stats> = None;
    for r in recs.iter().filter(|r| r[0] + cap > newest) {
        let mut s = decode(r);
        if let Some(p) = &prev {
            let dt = s.timestamp_ns.saturating_sub(p.timestamp_ns);
            if dt > 0 && s.cpu_time_ns >= p.cpu_time_ns {
                s.cpu_percent = (s.cpu_time_ns - p.cpu_time_ns) as f64 * 100.0 / dt as f64;
            }
        }
        prev = Some(s.clone());
        if s.timestamp_ns >= from_ns {
            out.push(s);
        }
    }
    Ok(out)
}

/// Slots a [`Newest`] reads past its last sample in one `pread` (more
/// are read only when all of them were new).
const FOLLOW: u64 = 8;

/// Follows the newest sample of a ring file that another process writes,
/// for a reader that wants only the latest figures again and again (the
/// engine's metrics server serves each container's latest sample at every
/// scrape instead of reading its cgroup again).
///
/// Nothing in the header says where the newest sample is, so the first
/// call finds it by binary search on the sequence numbers (slots hold
/// increasing numbers up to the newest, then older ones or empty slots:
/// about 12 reads of 8 bytes for 3600 slots); later calls read on from
/// the slot found, one positional read of a few slots per call. A ring
/// started afresh (another capacity) or overtaken by the writer is found
/// again by search. Torn records (a write racing the read) are never
/// returned.
#[derive(Debug)]
pub struct Newest {
    file: File,
    /// Slots, from the header; 0: header not read (or not a ring).
    cap: u64,
    /// The newest valid record seen: its sequence number and sample.
    last: Option<(u64, Stats)>,
    buf: Vec<u8>,
}

impl Newest {
    /// Follows the ring at `path`; `None` when there is no such file.
    pub fn open(path: &Path) -> Result<Option<Self>> {
        match File::open(path) {
            Ok(file) => Ok(Some(Newest {
                file,
                cap: 0,
                last: None,
                buf: Vec::new(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("open the stats history", path, e)),
        }
    }

    /// The newest sample in the ring (`cpu_percent` 0), `None` while it
    /// is empty or unreadable.
    pub fn newest(&mut self) -> Option<&Stats> {
        if self.find().is_err() {
            // Truncated under us (a ring started afresh): search again.
            self.cap = 0;
            self.last = None;
        }
        self.last.as_ref().map(|(_, s)| s)
    }

    fn find(&mut self) -> std::io::Result<()> {
        if self.cap == 0 {
            self.last = None;
            let Some(cap) = read_header(&self.file) else {
                return Ok(());
            };
            self.cap = cap;
        }
        if let Some(seq) = self.last.as_ref().map(|l| l.0) {
            if self.follow(seq)? {
                return Ok(());
            }
            // Its slot holds another record now: the capacity may have
            // changed too.
            self.cap = read_header(&self.file).unwrap_or(0);
            self.last = None;
            if self.cap == 0 {
                return Ok(());
            }
        }
        self.search()?;
        match self.last.as_ref().map(|l| l.0) {
            Some(seq) => self.follow(seq).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Reads `n` slots from `slot` into `buf`.
    fn read_slots(&mut self, slot: u64, n: u64) -> std::io::Result<()> {
        self.buf.resize((n * RECORD_SIZE) as usize, 0);
        read_exact_at(&self.file, &mut self.buf, HEADER + slot * RECORD_SIZE)
    }

    /// Takes the records after `seq` that follow it without a gap;
    /// `false` when `seq` is no longer in its slot.
    fn follow(&mut self, mut seq: u64) -> std::io::Result<bool> {
        let cap = self.cap;
        // The first read includes `seq`'s own slot, to check it is there.
        let mut start = (seq - 1) % cap;
        let mut check = true;
        // At most one lap: the writer cannot be followed further.
        let mut left = cap;
        while left > 0 {
            let n = (FOLLOW + 1).min(cap - start).min(left);
            self.read_slots(start, n)?;
            left -= n;
            for c in self.buf.chunks_exact(RECORD_SIZE as usize) {
                let r = record(c);
                let valid = r[1] == checksum(&r);
                if check {
                    check = false;
                    if !valid || r[0] != seq {
                        return Ok(false);
                    }
                    continue;
                }
                if !valid || r[0] != seq + 1 {
                    return Ok(true);
                }
                seq += 1;
                self.last = Some((seq, decode(&r)));
            }
            // Every slot read was new (or the ring's end was reached): on
            // from the slot after the newest.
            start = seq % cap;
        }
        Ok(true)
    }

    /// The sequence number in `slot` (0: empty).
    fn seq_at(&mut self, slot: u64) -> std::io::Result<u64> {
        let mut b = [0u8; 8];
        read_exact_at(&self.file, &mut b, HEADER + slot * RECORD_SIZE)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Finds the newest record by binary search: slots `0..=p` hold
    /// increasing numbers from slot 0's on, the slots after `p` older
    /// ones (after a wrap) or none.
    fn search(&mut self) -> std::io::Result<()> {
        self.last = None;
        let first = self.seq_at(0)?;
        if first == 0 {
            return Ok(());
        }
        let (mut lo, mut hi) = (0, self.cap);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.seq_at(mid)? >= first {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.read_slots(lo, 1)?;
        let r = record(&self.buf);
        // Torn (being written right now): found again next time.
        if r[0] != 0 && r[1] == checksum(&r) {
            self.last = Some((r[0], decode(&r)));
        }
        Ok(())
    }
}

fn record(c: &[u8]) -> [u64; FIELDS] {
    let mut r = [0u64; FIELDS];
    for (i, v) in r.iter_mut().enumerate() {
        *v = u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    }
    r
}

fn io_err(what: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The capacity of a ring whose header is valid.
fn read_header(f: &File) -> Option<u64> {
    let mut h = [0u8; HEADER as usize];
    read_exact_at(f, &mut h, 0).ok()?;
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let cap = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
    (&h[..8] == MAGIC
        && u32_at(8) == VERSION
        && u64::from(u32_at(12)) == RECORD_SIZE
        && (2..=MAX_CAPACITY).contains(&cap)
        && f.metadata().ok()?.len() >= file_size(cap))
    .then_some(cap)
}

/// Every valid record (sequence > 0, checksum right), in slot order.
fn scan(f: &File, cap: u64) -> std::io::Result<Vec<[u64; FIELDS]>> {
    let mut buf = vec![0u8; (cap * RECORD_SIZE) as usize];
    read_exact_at(f, &mut buf, HEADER)?;
    Ok(buf
        .chunks_exact(RECORD_SIZE as usize)
        .filter_map(|c| {
            let r = record(c);
            (r[0] != 0 && r[1] == checksum(&r)).then_some(r)
        })
        .collect())
}

fn checksum(r: &[u64; FIELDS]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, v) in r.iter().enumerate() {
        if i == 1 {
            continue;
        }
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn encode(seq: u64, s: &Stats) -> [u8; RECORD_SIZE as usize] {
    let mut r: [u64; FIELDS] = [
        seq,
        0,
        s.timestamp_ns,
        s.cpu_time_ns,
        s.memory_usage,
        s.memory_charged,
        s.memory_peak,
        s.memory_limit.unwrap_or(u64::MAX),
        s.read_bytes,
        s.write_bytes,
        s.read_ops,
        s.write_ops,
        s.net_rx_bytes,
        s.net_tx_bytes,
        s.net_rx_packets,
        s.net_tx_packets,
        s.active_processes,
        s.total_processes,
        s.oom_kills,
        s.cpu_periods,
        s.cpu_throttled_periods,
        s.cpu_throttled_ns,
    ];
    r[1] = checksum(&r);
    let mut out = [0u8; RECORD_SIZE as usize];
    for (i, v) in r.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    out
}

fn decode(r: &[u64; FIELDS]) -> Stats {
    Stats {
        timestamp_ns: r[2],
        cpu_time_ns: r[3],
        memory_usage: r[4],
        memory_charged: r[5],
        memory_peak: r[6],
        memory_limit: (r[7] != u64::MAX).then_some(r[7]),
        read_bytes: r[8],
        write_bytes: r[9],
        read_ops: r[10],
        write_ops: r[11],
        net_rx_bytes: r[12],
        net_tx_bytes: r[13],
        net_rx_packets: r[14],
        net_tx_packets: r[15],
        active_processes: r[16],
        total_processes: r[17],
        oom_kills: r[18],
        cpu_periods: r[19],
        cpu_throttled_periods: r[20],
        cpu_throttled_ns: r[21],
        cpu_percent: 0.0,
    }
}

#[cfg(unix)]
fn write_at(f: &File, buf: &[u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, off)
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, off)
}

#[cfg(windows)]
fn write_at(f: &File, mut buf: &[u8], mut off: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_write(buf, off)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        off += n as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(f: &File, mut buf: &mut [u8], mut off: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_read(buf, off)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        off += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: u64) -> Stats {
        Stats {
            timestamp_ns: 1_000_000_000 * i,
            cpu_time_ns: 10_000_000 * i,
            memory_usage: 4096 * i,
            memory_limit: (i % 2 == 0).then_some(1 << 30),
            net_rx_bytes: i,
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_newest_capacity_samples_in_a_fixed_size_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ring");
        let mut w = HistoryWriter::open(&p, 10).unwrap();
        for i in 1..=95 {
            w.append(&sample(i)).unwrap();
        }
        assert_eq!(std::fs::metadata(&p).unwrap().len(), file_size(10));
        let got = read(&p, None).unwrap();
        let ts: Vec<u64> = got.iter().map(|s| s.timestamp_ns / 1_000_000_000).collect();
        assert_eq!(ts, (86..=95).collect::<Vec<_>>());
        assert_eq!(got[3].memory_usage, 4096 * 89);
        assert_eq!(got[3].memory_limit, None);
        assert_eq!(got[4].memory_limit, Some(1 << 30));
        // 10 ms of CPU per second = 1 %.
        assert!((got[5].cpu_percent - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_reopened_ring_continues_after_its_last_sample() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ring");
        let mut w = HistoryWriter::open(&p, 8).unwrap();
        for i in 1..=5 {
            w.append(&sample(i)).unwrap();
        }
        drop(w);
        let mut w = HistoryWriter::open(&p, 8).unwrap();
        assert_eq!(w.next_seq(), 6);
        for i in 6..=12 {
            w.append(&sample(i)).unwrap();
        }
        let ts: Vec<u64> = read(&p, None)
            .unwrap()
            .iter()
            .map(|s| s.timestamp_ns / 1_000_000_000)
            .collect();
        assert_eq!(ts, (5..=12).collect::<Vec<_>>());
        // Since: only the samples at or after the time asked.
        let since = UNIX_EPOCH + Duration::from_secs(10);
        assert_eq!(read(&p, Some(since)).unwrap().len(), 3);
    }

    #[test]
    fn torn_or_garbage_records_are_skipped_and_garbage_files_restarted() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ring");
        let mut w = HistoryWriter::open(&p, 4).unwrap();
        for i in 1..=3 {
            w.append(&sample(i)).unwrap();
        }
        // Tear the second record.
        write_at(&w.file, &[0xff; 8], HEADER + RECORD_SIZE + 40).unwrap();
        assert_eq!(read(&p, None).unwrap().len(), 2);
        // A file that is no ring is started afresh by a writer.
        std::fs::write(&p, b"not a ring").unwrap();
        assert!(read(&p, None).unwrap().is_empty());
        let mut w = HistoryWriter::open(&p, 4).unwrap();
        w.append(&sample(1)).unwrap();
        assert_eq!(read(&p, None).unwrap().len(), 1);
        assert!(read(&d.path().join("missing"), None).unwrap().is_empty());
    }

    fn newest_ts(n: &mut Newest) -> Option<u64> {
        n.newest().map(|s| s.timestamp_ns / 1_000_000_000)
    }

    #[test]
    fn newest_follows_the_writer_across_wraps_and_fresh_starts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ring");
        assert!(Newest::open(&p).unwrap().is_none());
        let mut w = HistoryWriter::open(&p, 10).unwrap();
        let mut n = Newest::open(&p).unwrap().unwrap();
        assert_eq!(newest_ts(&mut n), None, "empty ring");
        // Found by search at every fill level and wrap position, by a
        // reader opened then, and followed by the one kept.
        for i in 1..=47 {
            w.append(&sample(i)).unwrap();
            assert_eq!(newest_ts(&mut n), Some(i), "followed");
            let mut fresh = Newest::open(&p).unwrap().unwrap();
            assert_eq!(newest_ts(&mut fresh), Some(i), "searched");
            let mut want = read(&p, None).unwrap().pop().unwrap();
            want.cpu_percent = 0.0;
            assert_eq!(fresh.newest(), Some(&want));
        }
        // Several samples at once, across the ring's end; then more than
        // a lap behind (its slot overwritten: searched again).
        for i in 48..=56 {
            w.append(&sample(i)).unwrap();
        }
        assert_eq!(newest_ts(&mut n), Some(56));
        for i in 57..=80 {
            w.append(&sample(i)).unwrap();
        }
        assert_eq!(newest_ts(&mut n), Some(80));
        // Nothing new: the same sample.
        assert_eq!(newest_ts(&mut n), Some(80));
        // A ring started afresh with another capacity (the same file).
        drop(w);
        let mut w = HistoryWriter::open(&p, 4).unwrap();
        assert_eq!(newest_ts(&mut n), None);
        w.append(&sample(200)).unwrap();
        assert_eq!(newest_ts(&mut n), Some(200));
        for i in 201..=206 {
            w.append(&sample(i)).unwrap();
            assert_eq!(newest_ts(&mut n), Some(i));
        }
    }

    #[test]
    fn newest_never_returns_a_torn_record() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ring");
        let mut w = HistoryWriter::open(&p, 8).unwrap();
        for i in 1..=3 {
            w.append(&sample(i)).unwrap();
        }
        let mut n = Newest::open(&p).unwrap().unwrap();
        assert_eq!(newest_ts(&mut n), Some(3));
        // Sample 4 half-written: its number is there, its figures not.
        let rec = encode(4, &sample(4));
        write_at(&w.file, &rec[..16], HEADER + 3 * RECORD_SIZE).unwrap();
        assert_eq!(newest_ts(&mut n), Some(3), "followed");
        let mut fresh = Newest::open(&p).unwrap().unwrap();
        assert_eq!(
            newest_ts(&mut fresh),
            None,
            "searched: found again next time"
        );
        write_at(&w.file, &rec, HEADER + 3 * RECORD_SIZE).unwrap();
        assert_eq!(newest_ts(&mut n), Some(4));
        assert_eq!(newest_ts(&mut fresh), Some(4));
        // A file that is no ring has no newest sample.
        std::fs::write(&p, b"not a ring").unwrap();
        assert_eq!(newest_ts(&mut Newest::open(&p).unwrap().unwrap()), None);
        assert_eq!(newest_ts(&mut n), None);
    }

    #[test]
    fn capacity_follows_interval_and_retention_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(capacity_for(s(1), s(3600)), 3600);
        assert_eq!(capacity_for(Duration::from_millis(100), s(3600)), 36_000);
        assert_eq!(capacity_for(Duration::from_millis(100), s(36_000)), 36_000);
        assert_eq!(capacity_for(s(10), s(1)), 2);
        assert!(HistoryWriter::open(Path::new("/nonexistent/x"), 1).is_err());
    }
}
