//! The start-up and shutdown sequence services and gateways share: listen on the port,
//! serve until Ctrl-C or SIGTERM, drain, and log each step as JSON.

use super::log;
use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether the JSON access log is on: it is unless `ACCESS_LOG` is `off`, `0` or `false`.
pub(crate) fn access_log_from_env() -> bool {
    !matches!(
        std::env::var("ACCESS_LOG").as_deref(),
        Ok("off" | "0" | "false")
    )
}

/// Binds `0.0.0.0:port`, logging why when it cannot.
pub(crate) async fn listen(name: &str, port: u16) -> Result<tokio::net::TcpListener, ExitCode> {
    tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|why| {
            log::error(
                name,
                "cannot listen",
                &[("port", port.into()), ("error", why.to_string().into())],
            );
            ExitCode::FAILURE
        })
}

/// Serves `router` on `listener` until a shutdown signal (then `on_signal` runs and the
/// requests in flight finish), awaits `drained`, and logs how it ended.
pub(crate) async fn run(
    name: &str,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    on_signal: impl FnOnce() + Send + 'static,
    drained: impl Future<Output = ()>,
) -> ExitCode {
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            super::shutdown::signal().await;
            on_signal();
        })
        .await;
    drained.await;
    match served {
        Ok(()) => {
            log::info(name, "stopped", &[]);
            ExitCode::SUCCESS
        }
        Err(why) => {
            log::error(name, "server failed", &[("error", why.to_string().into())]);
            ExitCode::FAILURE
        }
    }
}

/// Counts a request in flight until dropped (load shedding reads the count).
pub(crate) struct InFlight<'a>(&'a AtomicU32);

impl<'a> InFlight<'a> {
    /// Counts one more request; returns the guard and how many were in flight before.
    pub(crate) fn enter(count: &'a AtomicU32) -> (Self, u32) {
        let before = count.fetch_add(1, Ordering::Relaxed);
        (Self(count), before)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
