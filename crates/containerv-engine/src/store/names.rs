//! Container names: docker's rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`) and
//! docker-style random names (`adjective_surname`) when `--name` is absent.

use crate::error::{Error, Result};

/// Where a name breaks docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (the rule
/// for container and volume names; their length bounds and messages
/// differ, so each caller words its own error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameFault {
    Empty,
    /// The first character is not a letter or digit.
    Start,
    /// A later character is not a letter, digit, '_', '.' or '-'.
    Char,
}

pub(crate) fn docker_name_fault(name: &str) -> Option<NameFault> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some(NameFault::Empty),
        Some(c) if !c.is_ascii_alphanumeric() => Some(NameFault::Start),
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) => {
            Some(NameFault::Char)
        }
        _ => None,
    }
}

/// Checks a `--name`.
pub fn validate(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::option("--name", name, why.to_string()));
    let fault = docker_name_fault(name);
    match fault {
        Some(NameFault::Empty) => return bad("empty name"),
        Some(NameFault::Start) => return bad("must start with a letter or digit"),
        _ => {}
    }
    if name.len() > 128 {
        return bad("longer than 128 characters");
    }
    if fault == Some(NameFault::Char) {
        return bad("only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    Ok(())
}

const LEFT: &[&str] = &[
    "admiring", "brave", "clever", "eager", "focused", "gentle", "happy", "jolly", "keen",
    "loving", "modest", "nifty", "quirky", "sharp", "stoic", "tender", "vibrant", "zealous",
];
const RIGHT: &[&str] = &[
    "babbage", "curie", "dijkstra", "einstein", "feynman", "galois", "hopper", "knuth", "lovelace",
    "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak",
];

/// A random `adjective_name`, from `seed` bytes (the new id's).
pub fn random_name(seed: &str) -> String {
    let n = u64::from_str_radix(&seed[..seed.len().min(12)], 16).unwrap_or(0);
    format!(
        "{}_{}",
        LEFT[(n % LEFT.len() as u64) as usize],
        RIGHT[((n >> 16) % RIGHT.len() as u64) as usize]
    )
}
