//! # containerv
//!
//! Create containers, spawn processes into them, enforce resource limits and
//! report monitoring figures.
//!
//! - Linux: namespaces, a pivot_root'ed rootfs (optionally an overlay of
//!   layers), cgroups v1, hybrid and v2.
//! - Windows: Job Objects.
//!
//! Every container starts from an OCI runtime [`Spec`]: the
//! [`ContainerOptions`] builder makes one, the OCI CLI reads one from
//! `config.json`, and both hand it to [`Runtime::create_from_spec`].
//!
//! ```no_run
//! use containerv::{ContainerOptions, ProcessOptions, Runtime};
//!
//! let rt = Runtime::new("/run/containerv")?;
//! let opts = ContainerOptions::new().rootfs("/srv/rootfs").memory("256M").pids(64);
//! let c = rt.create("demo", &opts)?;
//! let mut p = c.spawn(ProcessOptions::new(["/bin/echo", "hello"]))?;
//! println!("{}", p.wait()?);
//! println!("{:?}", c.stats()?);
//! c.destroy()?;
//! # Ok::<(), containerv::Error>(())
//! ```

pub mod config;
pub mod error;
pub mod history;
pub mod id;
pub mod limits;
pub mod metrics;
pub mod network;
pub mod options;
pub mod process;
pub mod stats;
pub mod time;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(windows)]
pub mod windows;

pub use config::{CgroupDriver, CreateConfig, InitKind, OverlayConfig, StartMode};
pub use error::{Error, Result};
pub use limits::ResourceLimits;
pub use network::Veth;
pub use oci_spec::runtime::Spec;
pub use options::{ContainerOptions, IdMap, Namespaces};
pub use process::{ExitStatus, ProcessOptions, Stdio, User};
pub use stats::{ProcessInfo, Stats};

#[cfg(target_os = "linux")]
pub use linux::{Container, ContainerState, Process, Runtime, Status};
#[cfg(windows)]
pub use windows::{Container, Process, Runtime};
