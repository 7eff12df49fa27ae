//! The baseline of `scripts/bench-http.sh`: a bare axum server answering every GET with the
//! same bytes, no layers. The bytes are the body a generated endpoint returned on its
//! cache-hit path, so the comparison measures only what the generated layers cost.
//!
//! It uses the allocator generated binaries use, so that the allocator is not what differs.
//!
//! Usage: `bare_axum PORT BODY_FILE`.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: archc_runtime::Allocator = archc_runtime::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_axum PORT BODY_FILE");
        return ExitCode::FAILURE;
    };
    let body = match std::fs::read(&file) {
        Ok(b) => Bytes::from(b),
        Err(why) => {
            eprintln!("bare_axum: cannot read {file}: {why}");
            return ExitCode::FAILURE;
        }
    };
    let handler = move || {
        let body = body.clone();
        async move { ([(CONTENT_TYPE, "application/json")], body).into_response() }
    };
    let app = Router::new().fallback(get(handler));
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bare_axum: `{port}` is not a port number");
        return ExitCode::FAILURE;
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(why) => {
            eprintln!("bare_axum: cannot listen on {port}: {why}");
            return ExitCode::FAILURE;
        }
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bare_axum: {why}");
            ExitCode::FAILURE
        }
    }
}
