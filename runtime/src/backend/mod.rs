//! The backends a service runs on: embedded (in-process, the default) or real servers
//! chosen by environment variables. This module owns the choice; the rest of the runtime
//! only sees the traits.

use crate::cache::{MemoryRemote, RemoteCache};
use crate::limit::{LimiterStore, MemoryStore};
use crate::queue::{Broker, MemoryBroker};
use crate::store::{MemoryTables, TableStore};
use std::sync::Arc;

/// The backends one process uses.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Where `scope = distributed` limits keep their counters.
    pub limits: Arc<dyn LimiterStore>,
    /// Where rows live.
    pub tables: Arc<dyn TableStore>,
    /// Where messages go.
    pub broker: Arc<dyn Broker>,
    /// The shared cache layers (L2 and below).
    pub remote_cache: Arc<dyn RemoteCache>,
    /// One line per backend, for the start-up log and `/ready`: `tables: memory`, ….
    pub described: Vec<String>,
}

impl Backends {
    /// Everything in process: no servers needed.
    pub fn embedded() -> Self {
        Self {
            limits: Arc::new(MemoryStore::new()),
            tables: Arc::new(MemoryTables::new()),
            broker: Arc::new(MemoryBroker::new()),
            remote_cache: Arc::new(MemoryRemote::new()),
            described: vec![
                "limits: memory".into(),
                "tables: memory".into(),
                "broker: memory".into(),
                "cache: memory".into(),
            ],
        }
    }
}
