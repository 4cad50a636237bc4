//! Is a recorded process still the same process? A pid alone can be
//! reused, so records keep the pid with its start time (field 22 of
//! `/proc/PID/stat`, clock ticks since boot) and liveness compares both.

/// The start time of `pid`, or `None` if there is no such process.
///
/// Liveness is asked for every container of every listing and scrape:
/// one open, one read into a stack buffer and one close (no `statx`, no
/// second read, no allocation for the text).
pub fn start_time(pid: i32) -> Option<u64> {
    use std::io::Read;
    if pid <= 0 {
        return None;
    }
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    // The line is ~300 bytes and starttime (field 22) comes early in it:
    // 1024 bytes always hold it, whatever the comm and the later fields.
    let mut buf = [0u8; 1024];
    let mut len = 0;
    loop {
        let n = f.read(&mut buf[len..]).ok()?;
        len += n;
        if n == 0 || len == buf.len() {
            break;
        }
        if buf[..len].ends_with(b"\n") {
            break;
        }
    }
    let stat = std::str::from_utf8(&buf[..len]).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // rest starts at field 3; starttime is field 22.
    fields.nth(18)?.parse().ok()
}

/// True if `pid` is alive and started at `start` (a zombie is not alive).
pub fn is_alive(pid: i32, start: u64) -> bool {
    start != 0 && start_time(pid) == Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_reaped_child_is_not() {
        let me = std::process::id() as i32;
        let st = start_time(me).unwrap();
        assert!(is_alive(me, st));
        assert!(!is_alive(me, st + 1));
        let mut c = std::process::Command::new("/bin/true").spawn().unwrap();
        let pid = c.id() as i32;
        c.wait().unwrap();
        assert!(start_time(pid).is_none() || !is_alive(pid, 1));
        assert!(start_time(0).is_none());
    }
}
