//! containerv-engine: managed containers for `cv`.
//!
//! The runtime library (`containerv`) makes a container and forgets it; the
//! engine keeps one: a state store with a record per container and names
//! claimed atomically, logs with rotation, health checks, restart policies
//! and a graceful stop. There is no daemon: each container has a small
//! monitor process ([`monitor`]), and every `cv` command reads the store
//! directly ([`Engine`]).

pub mod boot;
pub mod builtin;
pub mod check;
mod cp;
pub mod create_checks;
pub mod duration;
pub mod engine;
pub mod engine_config;
pub mod error;
pub mod events;
pub mod health;
pub mod history;
pub mod inspect;
pub mod logs;
pub mod metrics;
pub mod monitor;
pub mod network;
mod ops;
pub mod options;
pub mod proc;
pub mod record;
pub mod restart;
mod rootfs_access;
pub mod security;
pub mod signal;
pub mod spec;
pub mod stop;
pub mod storage_opt;
pub mod store;
pub mod template;
pub mod tty;
pub mod volumes;

pub use engine::Engine;
pub use error::{Error, Result};
pub use options::RunOptions;
