//! Many datagrams per system call: `sendmmsg(2)` over a connected socket
//! (udp syslog, unixgram syslog, journald's native socket).
//!
//! WHY: those destinations take one datagram per log line, and a chatty
//! container writes hundreds of thousands of lines a second; one `send`
//! per line made the sender thread fall behind (and drop lines) long
//! before the socket did. The messages of a batch are encoded back to
//! back into one buffer and handed to the kernel up to `UIO_MAXIOV` at a
//! time.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Most messages per call (the kernel's `UIO_MAXIOV`).
const MAX_PER_CALL: usize = 1024;

/// Datagrams encoded back to back: `buf[ends[i-1]..ends[i]]` is one.
#[derive(Debug, Default)]
pub struct Datagrams {
    pub buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Datagrams {
    /// Forgets every message (keeps the memory).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// Ends the message written to `buf` since the previous one.
    pub fn end_message(&mut self) {
        self.ends.push(self.buf.len());
    }

    /// Messages held.
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn message(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Sends every message, in order, on the connected socket `fd`. A
    /// message too big for the socket (EMSGSIZE) is lost alone, as a
    /// single `send` would lose it; any other error is returned (the
    /// caller reconnects and sends the batch again).
    pub fn send_all(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let mut next = 0;
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(self.len().min(MAX_PER_CALL));
        let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(iov.capacity());
        while next < self.len() {
            let n = (self.len() - next).min(MAX_PER_CALL);
            iov.clear();
            hdrs.clear();
            for i in next..next + n {
                let m = self.message(i);
                iov.push(libc::iovec {
                    iov_base: m.as_ptr() as *mut libc::c_void,
                    iov_len: m.len(),
                });
            }
            for v in iov.iter_mut() {
                // SAFETY: a plain C struct, all zeroes is valid (no
                // address: the socket is connected).
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_iov = v as *mut libc::iovec;
                h.msg_hdr.msg_iovlen = 1;
                hdrs.push(h);
            }
            // SAFETY: `hdrs` holds `n` headers, each pointing at one iovec
            // of `iov` that points into `self.buf`; all outlive the call,
            // which only reads them (and writes `msg_len`).
            let r = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_NOSIGNAL as _,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // The first message is too big: lost alone.
                    Some(libc::EMSGSIZE) => next += 1,
                    _ => return Err(e),
                }
            } else {
                // A short count: the next message failed; the next call
                // reports why (or sends it).
                next += r as usize;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn every_message_once_in_order_and_an_oversized_one_lost_alone() {
        let (a, b) = UnixDatagram::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut d = Datagrams::default();
        // More than one call's worth; one message bigger than the
        // socket's send buffer can ever take.
        let big = vec![b'x'; 4 << 20];
        for i in 0..1500 {
            if i == 700 {
                d.buf.extend_from_slice(&big);
            } else {
                d.buf.extend_from_slice(format!("m{i}").as_bytes());
            }
            d.end_message();
        }
        // The reader drains while the sender sends (a pair's queue is small).
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while got.len() < 1499 && std::time::Instant::now() < end {
                match b.recv(&mut buf) {
                    Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
                }
            }
            got
        });
        d.send_all(a.as_fd()).unwrap();
        let got = reader.join().unwrap();
        let want: Vec<String> = (0..1500)
            .filter(|i| *i != 700)
            .map(|i| format!("m{i}"))
            .collect();
        assert_eq!(got, want);
    }
}
