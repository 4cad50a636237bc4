//! Container ids: validated once, so every path built from one is safe.

use crate::error::{Error, Result};

/// Longest id accepted (a path component, with room for prefixes).
pub const MAX_ID_LEN: usize = 128;

/// Checks that `id` can name a container: 1 to 128 characters from
/// `[A-Za-z0-9_.-]`, not starting with `.` or `-`. This keeps ids usable as
/// file names, cgroup names and hostnames without escaping.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > MAX_ID_LEN {
        return bad("it is longer than 128 characters");
    }
    if id.starts_with('.') || id.starts_with('-') {
        return bad("it starts with '.' or '-'");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        return bad("only letters, digits, '_', '.' and '-' are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "web-1", "x.y_z", "0123"] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "-x", "a/b", "a b", "ä", &"x".repeat(129)] {
            let e = validate_id(bad).unwrap_err().to_string();
            assert!(e.contains("invalid container id"), "{e}");
        }
    }
}
