//! The CLI's error: a message for the log and an exit code.
//!
//! Messages that callers match on are runc's own words ("container does
//! not exist", "container not running", ...): containerd's shim, for one,
//! treats a kill that fails with "container not running" as already done.

use std::fmt;

/// A failed command: what to log, and the exit code (1 like runc).
#[derive(Debug)]
pub struct Fail {
    pub msg: String,
}

pub type Result<T> = std::result::Result<T, Fail>;

impl Fail {
    pub fn new(msg: impl Into<String>) -> Self {
        Fail { msg: msg.into() }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<containerv::Error> for Fail {
    fn from(e: containerv::Error) -> Self {
        match e {
            containerv::Error::NotFound(_) => Fail::new("container does not exist"),
            e => Fail::new(e.to_string()),
        }
    }
}

/// `Err(Fail)` from a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Fail::new(msg))
}
