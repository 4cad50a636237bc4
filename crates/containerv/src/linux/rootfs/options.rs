//! OCI mount options ("ro", "nosuid", "rbind", "rslave", "size=64m", ...)
//! turned into `mount(2)` flags, propagation flags and a data string.

/// A mount entry's options, parsed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// Flags for the mount itself (MS_RDONLY, MS_NOSUID, ...).
    pub flags: libc::c_ulong,
    /// MS_BIND, with MS_REC for "rbind".
    pub bind: libc::c_ulong,
    /// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC), applied after.
    pub propagation: libc::c_ulong,
    /// Filesystem-specific options, comma-joined ("size=65536k,mode=755").
    pub data: String,
}

/// Parse `options`; unknown ones go to the data string (the filesystem
/// judges them), like runc.
pub(crate) fn parse(options: &[String]) -> MountOptions {
    let mut m = MountOptions::default();
    for o in options {
        let (set, clear): (libc::c_ulong, libc::c_ulong) = match o.as_str() {
            "ro" => (libc::MS_RDONLY, 0),
            "rw" => (0, libc::MS_RDONLY),
            "nosuid" => (libc::MS_NOSUID, 0),
            "suid" => (0, libc::MS_NOSUID),
            "nodev" => (libc::MS_NODEV, 0),
            "dev" => (0, libc::MS_NODEV),
            "noexec" => (libc::MS_NOEXEC, 0),
            "exec" => (0, libc::MS_NOEXEC),
            "sync" => (libc::MS_SYNCHRONOUS, 0),
            "async" => (0, libc::MS_SYNCHRONOUS),
            "dirsync" => (libc::MS_DIRSYNC, 0),
            "mand" => (libc::MS_MANDLOCK, 0),
            "nomand" => (0, libc::MS_MANDLOCK),
            "noatime" => (libc::MS_NOATIME, 0),
            "atime" => (0, libc::MS_NOATIME),
            "nodiratime" => (libc::MS_NODIRATIME, 0),
            "diratime" => (0, libc::MS_NODIRATIME),
            "relatime" => (libc::MS_RELATIME, 0),
            "norelatime" => (0, libc::MS_RELATIME),
            "strictatime" => (libc::MS_STRICTATIME, 0),
            "nostrictatime" => (0, libc::MS_STRICTATIME),
            "defaults" | "tmpcopyup" => (0, 0),
            "bind" => {
                m.bind = libc::MS_BIND;
                (0, 0)
            }
            "rbind" => {
                m.bind = libc::MS_BIND | libc::MS_REC;
                (0, 0)
            }
            _ => {
                if let Some(p) = propagation(o) {
                    m.propagation = p;
                } else {
                    if !m.data.is_empty() {
                        m.data.push(',');
                    }
                    m.data.push_str(o);
                }
                (0, 0)
            }
        };
        m.flags = (m.flags | set) & !clear;
    }
    m
}

/// Propagation flags of an option or `rootfsPropagation` value.
pub(crate) fn propagation(o: &str) -> Option<libc::c_ulong> {
    Some(match o {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_binds_and_data() {
        let o: Vec<String> = ["rbind", "ro", "nosuid", "rslave", "size=1m", "mode=755"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = parse(&o);
        assert_eq!(m.bind, libc::MS_BIND | libc::MS_REC);
        assert_eq!(m.flags, libc::MS_RDONLY | libc::MS_NOSUID);
        assert_eq!(m.propagation, libc::MS_SLAVE | libc::MS_REC);
        assert_eq!(m.data, "size=1m,mode=755");
        let m = parse(&["ro".into(), "rw".into()]);
        assert_eq!(m.flags, 0);
    }
}
