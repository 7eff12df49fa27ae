//! HTTP plumbing shared by generated services and the gateway: Prometheus metrics,
//! explicit refusals (429/503/504/401/403/413/400 with JSON bodies), request ids, JSON
//! logs, the listening port and graceful shutdown.

pub mod log;
pub mod metrics;
pub mod request_id;
pub mod respond;
pub mod shutdown;

pub use metrics::Metrics;

/// The port to listen on: `PORT` when it is set to a valid port, else `default`.
pub fn listen_port(default: u16) -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("PORT={text:?} is not a port number (1-65535)")),
        Err(_) => Ok(default),
    }
}
