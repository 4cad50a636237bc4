//! Container networking on Linux: the veth pair of the builder's
//! [`crate::network::Veth`] option (`veth.rs`) over a small rtnetlink
//! client (`netlink.rs`), which the engine also uses for its bridges.

pub mod netlink;
pub(crate) mod veth;

pub use netlink::Netlink;
