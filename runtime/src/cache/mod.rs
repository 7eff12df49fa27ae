//! Caches in front of tables: layers (L1 in-process, L2+ shared) and the read/write
//! patterns over them.

pub mod remote;

pub use remote::{CacheError, MemoryRemote, RemoteCache};
