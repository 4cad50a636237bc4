//! The monitor's memory once its container runs: what start-up needed
//! is given back, so an idle monitor holds its steady-state working set.
//!
//! Measured (release, `/proc/PID/smaps_rollup` of a monitor of a running
//! container): RSS 5.6 MB, of which 5.1 MB file-backed, clean and shared
//! (3.6 MB of the monitor's own program text: parsing the records,
//! building the spec, networking, making the container; the rest libc
//! and the loader) and 0.5 MB anonymous (heap, stack). Those text pages
//! stay in the page cache, shared by every monitor; mapped in each
//! process they only make its RSS look like a private cost. So, once:
//! - `malloc_trim(0)`: the heap freed by start-up goes back to the
//!   kernel;
//! - `madvise(MADV_DONTNEED)` on every read-only, file-backed mapping
//!   that holds no private page (smaps: `Private_Dirty` and `Anonymous`
//!   0): its page table entries go, the file pages stay cached, and what
//!   the monitor runs later (its poll loop, the sampler, the exit path)
//!   is mapped again on first use, from the cache. A mapping with a
//!   private (copy-on-write) page is left alone: dropping it would
//!   bring back the file's bytes instead of ours.

use std::io::{BufRead, BufReader};

/// Gives back what start-up used (see the module docs). Best effort.
pub(super) fn after_start() {
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe { libc::malloc_trim(0) };
    let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
        return;
    };
    for (start, end) in droppable(BufReader::new(f)) {
        // SAFETY: a read-only, file-backed mapping of this process with no
        // private page: dropping its page table entries loses nothing (the
        // next access maps the same file page again).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// The address ranges of read-only, file-backed mappings with no private
/// page, from `/proc/self/smaps`.
fn droppable(smaps: impl BufRead) -> Vec<(usize, usize)> {
    struct Vma {
        start: usize,
        end: usize,
        candidate: bool,
        private: bool,
    }
    let mut out = Vec::new();
    let mut cur: Option<Vma> = None;
    let finish = |v: Option<Vma>, out: &mut Vec<(usize, usize)>| {
        if let Some(v) = v {
            if v.candidate && !v.private {
                out.push((v.start, v.end));
            }
        }
    };
    for line in smaps.lines().map_while(|l| l.ok()) {
        let mut fields = line.split_ascii_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            finish(cur.take(), &mut out);
            let perms = fields.next().unwrap_or("");
            // offset, dev, inode, then the path.
            let path = fields.nth(3).unwrap_or("");
            cur = Some(Vma {
                start,
                end,
                candidate: perms.starts_with('r') && !perms.contains('w') && path.starts_with('/'),
                private: false,
            });
            continue;
        }
        if let Some(v) = cur.as_mut() {
            if matches!(first, "Private_Dirty:" | "Anonymous:" | "Swap:")
                && fields.next().is_some_and(|kb| kb != "0")
            {
                v.private = true;
            }
        }
    }
    finish(cur.take(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        let smaps = "\
00400000-00500000 r-xp 00000000 08:01 123 /usr/bin/cv-monitor
Rss:                1024 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
00500000-00510000 r--p 00100000 08:01 123 /usr/bin/cv-monitor
Private_Dirty:         8 kB
Anonymous:             8 kB
00510000-00520000 rw-p 00110000 08:01 123 /usr/bin/cv-monitor
Private_Dirty:         0 kB
Anonymous:             0 kB
00600000-00700000 rw-p 00000000 00:00 0 [heap]
Private_Dirty:       100 kB
7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
7fff00000000-7fff00002000 r-xp 00000000 00:00 0 [vdso]
Private_Dirty:         0 kB
";
        assert_eq!(
            droppable(smaps.as_bytes()),
            [(0x400000, 0x500000), (0x7f0000000000, 0x7f0000100000)]
        );
    }

    #[test]
    fn this_process_keeps_working_after_the_drop() {
        let before = std::fs::read_to_string("/proc/self/status").unwrap();
        after_start();
        // Code, read-only data and the allocator still work.
        let v: Vec<String> = (0..1000).map(|i| format!("{i}")).collect();
        assert_eq!(v[999], "999");
        let after = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(before.contains("VmRSS") && after.contains("VmRSS"));
    }
}
