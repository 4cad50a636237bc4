//! The content store on disk: verified blobs ([`blobs`]), unpacked layers
//! ([`layers`]), the reference index ([`meta`]) and the GC lock ([`lock`]).
//!
//! ```text
//! <root>/blobs/sha256/<hex>      manifests, configs, layer blobs
//! <root>/ingest/                 blobs being written (GC removes leftovers)
//! <root>/layers/sha256/<hex>/    unpacked layers, by diff-id (mode 0700)
//! <root>/layers/tmp/             layers being unpacked or removed
//! <root>/images.json             images and references
//! <root>/gc.lock                 shared by writers, exclusive by prune
//! ```

pub mod blobs;
pub mod layers;
pub mod lock;
pub mod meta;
