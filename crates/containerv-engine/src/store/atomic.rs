//! Atomic record files: write a temporary file beside the target, fsync
//! (unless the record need not survive a power loss), rename over it. A reader sees the old record or the new one, never a
//! torn one, even without taking the lock.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Writes `value` as JSON to `path` atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json_with(path, value, true)
}

/// [`write_json`] without the `fdatasync`: still atomic for readers and
/// for a crash of the process, not durable across a power loss. For
/// records whose content a power loss makes meaningless anyway (leases
/// of containers that all die with the host).
pub fn write_json_volatile<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json_with(path, value, false)
}

/// [`write_json`] if `durable`, else [`write_json_volatile`].
pub fn write_json_durable<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<()> {
    write_json_with(path, value, durable)
}

fn write_json_with<T: Serialize>(path: &Path, value: &T, sync: bool) -> Result<()> {
    let data = serde_json::to_vec_pretty(value).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(&data)
        .and_then(|_| if sync { f.sync_data() } else { Ok(()) })
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io("write", &tmp, e)
        })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("rename into place", path, e)
    })
}

/// Reads a JSON record.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&data).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
