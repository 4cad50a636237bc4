//! The Windows backend: containers on Job Objects. (Being written.)

/// Runtime placeholder.
#[derive(Debug)]
pub struct Runtime;
/// Container placeholder.
#[derive(Debug)]
pub struct Container;
/// Process placeholder.
#[derive(Debug)]
pub struct Process;
