//! Writing a stats-history ring ([`crate::history`]) through a small
//! shared mapping of the file instead of one `pwrite(2)` per sample.
//!
//! Why: on ext4 every `pwrite` of a file updates its mtime through the
//! journal (`file_update_time` → `ext4_dirty_inode`): more than half of
//! the write's cost, about a tenth of an engine monitor's sample (`perf`,
//! docs/BENCHMARKS.md). A store into a mapped page is a memory copy; the
//! kernel updates mtime only when a clean page is first written again
//! (`page_mkwrite`): about once per page (23 samples) and writeback.
//! Readers see the same page cache either way (`pread`), and a torn
//! record still fails its checksum.
//!
//! A store into a mapped page cannot return an error: it fails with
//! SIGBUS when the block behind the page cannot be allocated (a full
//! disk), read (an I/O error) or is gone (the file was truncated). So a
//! window is used only where the whole file's blocks were allocated up
//! front (`fallocate` succeeded) on a filesystem that overwrites allocated
//! blocks in place (ext4, XFS, tmpfs); anywhere else (btrfs and other
//! copy-on-write filesystems, a full disk, ...) the writer keeps `pwrite`.
//! What that cannot rule out (someone truncating the file, an XFS reflink
//! copy of it made later, an I/O error reading a page back) is caught by
//! [`super::ringmap_guard`]: the fault lands in anonymous memory, the
//! window is given up for good and the record goes through `pwrite`,
//! which reports the error. Only a few pages around the record being
//! written are mapped at a time, so the writer's resident memory does not
//! grow with the ring (at most 16 KiB of it).

use std::fs::File;
use std::os::fd::AsRawFd;

use super::ringmap_guard::Guard;

/// Pages mapped at a time (about 93 samples of 176 bytes with 4 KiB pages).
const WINDOW_PAGES: u64 = 4;

/// `f_type` of the filesystems that overwrite an allocated block in place.
const IN_PLACE: [i64; 3] = [
    0xEF53,      // ext2/3/4
    0x5846_5342, // XFS
    0x0102_1994, // tmpfs
];

/// A writable window of a ring file.
#[derive(Debug)]
pub(crate) struct RingMap {
    /// The file's size: nothing at or past it is ever mapped.
    size: u64,
    page: u64,
    /// Address of the mapping (0: none), its file offset and length.
    addr: usize,
    start: u64,
    len: usize,
    /// The mapped window's SIGBUS guard.
    guard: Option<Guard>,
    /// A store faulted once: the file is not what it was; `pwrite` only.
    broken: bool,
}

impl RingMap {
    /// A window writer for `f`, a ring file of `size` bytes, when writing
    /// through a mapping cannot fault (see the module docs): its blocks are
    /// allocated here.
    pub(crate) fn new(f: &File, size: u64) -> Option<RingMap> {
        // SAFETY: a plain C struct, all zeros is a valid value.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and out-pointer.
        if unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // f_type's width differs by libc
        if !IN_PLACE.contains(&(st.f_type as i64)) {
            return None;
        }
        // SAFETY: fallocate(2) (mode 0: allocate, keep the data) on a
        // descriptor we own.
        if unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, size as libc::off_t) } != 0 {
            return None;
        }
        // SAFETY: sysconf has no memory effects.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Some(RingMap {
            size,
            page: if page > 0 { page as u64 } else { 4096 },
            addr: 0,
            start: 0,
            len: 0,
            guard: None,
            broken: false,
        })
    }

    /// Writes `data` at file offset `off` through the window (moved there
    /// if need be); false when that range cannot be mapped: the caller
    /// writes it with `pwrite`.
    pub(crate) fn write(&mut self, f: &File, off: u64, data: &[u8]) -> bool {
        let end = off + data.len() as u64;
        if end > self.size || self.broken {
            return false;
        }
        let inside = self.addr != 0 && off >= self.start && end <= self.start + self.len as u64;
        if !inside {
            self.unmap();
            let start = off / self.page * self.page;
            let len = (self.page * WINDOW_PAGES)
                .max(end - start)
                .min(self.size - start)
                .div_ceil(self.page)
                * self.page;
            // SAFETY: a new shared mapping of `len` bytes of a file we hold
            // open, at a page-aligned offset within it; nothing else refers
            // to that address range.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    f.as_raw_fd(),
                    start as libc::off_t,
                )
            };
            if p == libc::MAP_FAILED {
                return false;
            }
            self.addr = p as usize;
            self.start = start;
            self.len = len as usize;
            self.guard = Guard::register(self.addr, self.len);
            if self.guard.is_none() {
                self.unmap();
                return false;
            }
        }
        // SAFETY: [off, end) lies inside the mapping (checked above) and
        // inside the file (end <= size), whose blocks are allocated.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                (self.addr + (off - self.start) as usize) as *mut u8,
                data.len(),
            );
        }
        if self.guard.as_ref().is_some_and(Guard::hit) {
            // The store faulted and went to anonymous memory.
            self.broken = true;
            self.unmap();
            return false;
        }
        true
    }

    fn unmap(&mut self) {
        // Unregistered first: the range may be reused by any mapping.
        self.guard = None;
        if self.addr != 0 {
            // SAFETY: the mapping made by `write`, unmapped once.
            unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
            self.addr = 0;
        }
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        self.unmap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn writes_land_in_the_file_across_windows_and_page_edges() {
        let d = tempfile::tempdir().unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(d.path().join("ring"))
            .unwrap();
        let size = 64 + 600 * 176;
        f.set_len(size).unwrap();
        // /tmp here is ext4 or tmpfs: both qualify.
        let Some(mut m) = RingMap::new(&f, size) else {
            eprintln!("not an in-place filesystem: skipped");
            return;
        };
        // Allocated up front: a full disk fails here, not in a store.
        use std::os::unix::fs::MetadataExt;
        assert!(f.metadata().unwrap().blocks() * 512 >= size);
        for i in 0..600u64 {
            let rec = [(i % 251) as u8; 176];
            assert!(m.write(&f, 64 + i * 176, &rec));
            // Seen at once by a reader of the file.
            let mut back = [0u8; 176];
            f.read_exact_at(&mut back, 64 + i * 176).unwrap();
            assert_eq!(back, rec, "record {i}");
        }
        // Never past the end of the file.
        assert!(!m.write(&f, size - 10, &[1u8; 176]));
        drop(m);
        let mut all = vec![0u8; size as usize];
        f.read_exact_at(&mut all, 0).unwrap();
        assert!(all[..64].iter().all(|&b| b == 0));
        for i in 0..600usize {
            let r = &all[64 + i * 176..64 + (i + 1) * 176];
            assert!(r.iter().all(|&b| b == (i % 251) as u8), "record {i}");
        }
    }

    #[test]
    fn a_file_truncated_under_the_window_does_not_kill_the_writer() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("ring");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let size = 64 + 100 * 176;
        f.set_len(size).unwrap();
        let Some(mut m) = RingMap::new(&f, size) else {
            eprintln!("not an in-place filesystem: skipped");
            return;
        };
        assert!(m.write(&f, 64, &[1u8; 176]));
        // Someone truncates the ring (`: > history`): the mapped pages are
        // gone, and a store into them is a SIGBUS (unguarded, the test
        // process dies of it).
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert!(!m.write(&f, 64 + 176, &[2u8; 176]), "the fault is reported");
        assert!(
            !m.write(&f, 64 + 2 * 176, &[3u8; 176]),
            "pwrite from now on"
        );
        // The guard's slot is free again for the next writer.
        drop(m);
        f.set_len(size).unwrap();
        let mut m = RingMap::new(&f, size).unwrap();
        assert!(m.write(&f, 64, &[4u8; 176]));
        let mut back = [0u8; 176];
        f.read_exact_at(&mut back, 64).unwrap();
        assert_eq!(back, [4u8; 176]);
    }
}
