//! Talking to registries (OCI distribution spec) through `oci-client`.
pub mod auth;
pub mod client;
pub mod login;
pub mod progress;
pub mod pull;
pub mod push;

pub use auth::Credentials;
pub use client::RegistryOptions;
pub use progress::ProgressMode;
pub use pull::{PullOptions, PullReport};
pub use push::PushOptions;
