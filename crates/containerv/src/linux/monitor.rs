//! Monitoring: `stats()` and `processes()` of a container, and the limit
//! operations on a running one (pause, resume, update).
//!
//! CPU percent comes from the delta since the previous sample of the same
//! container, kept in [`Samples`] inside the `Container`, never globally.
//!
//! SKELETON: being written.

use oci_spec::runtime::LinuxResources;

use super::Container;
use crate::error::{Error, Result};
use crate::stats::{ProcessInfo, Stats};

/// Previous samples of one container (for CPU percent deltas).
#[derive(Debug, Default)]
pub struct Samples {}

impl Container {
    /// One sample of the container's resource use.
    pub fn stats(&self) -> Result<Stats> {
        Err(Error::Unsupported("stats".into()))
    }

    /// The container's processes.
    pub fn processes(&self) -> Result<Vec<ProcessInfo>> {
        Err(Error::Unsupported("processes".into()))
    }

    /// Freeze every process.
    pub fn pause(&self) -> Result<()> {
        Err(Error::Unsupported("pause".into()))
    }

    /// Thaw a paused container.
    pub fn resume(&self) -> Result<()> {
        Err(Error::Unsupported("resume".into()))
    }

    /// Change limits of a running container.
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        let _ = resources;
        Err(Error::Unsupported("update".into()))
    }
}
