//! The service's own endpoints under `/_local/`, beside the API: the embedded stream, the
//! outbox counts, the recorded push notifications, and (with `--test-clock`) the clock. They are
//! not signed, so they answer only peers on the loopback interface, whatever `--listen` says.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Query as QueryParams, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::server::AppState;

/// The `/_local/*` routes, loopback peers only.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_local/notifications", get(notifications))
        .route("/_local/stream", get(stream))
        .route("/_local/outbox", get(outbox))
        .route("/_local/clock", post(advance_clock))
        .route_layer(middleware::from_fn(loopback_only))
}

/// A loopback peer, addressing a loopback host: the `Host` check stops a web page that
/// rebinds its own name to 127.0.0.1 from reading these endpoints through a browser.
async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if peer.ip().is_loopback() && is_loopback_host(host) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the /_local endpoints answer loopback peers addressing a loopback host only",
        )
            .into_response()
    }
}

/// `127.0.0.1[:port]`, `[::1][:port]` or `localhost[:port]`.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

async fn notifications(State(state): State<Arc<AppState>>, QueryParams(q): QueryParams<After>) -> Response {
    let limit = q.limit.min(10_000);
    match state.service.db(move |s| s.notifications(q.after, limit)).await {
        Ok(rows) => {
            let items: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|(seq, n)| {
                    let mut v = serde_json::to_value(n).unwrap_or_default();
                    v["seq"] = seq.into();
                    v
                })
                .collect();
            axum::Json(serde_json::json!({ "notifications": items })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn stream(State(state): State<Arc<AppState>>, QueryParams(q): QueryParams<After>) -> Response {
    let limit = q.limit.min(10_000);
    match state.service.db(move |s| s.outbox_after(q.after, limit)).await {
        Ok(rows) => {
            let items: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|row| {
                    serde_json::json!({
                        "seq": row.seq,
                        "stream": row.stream,
                        "partition_key": row.change.partition_key(),
                        "data": serde_json::from_slice::<serde_json::Value>(&row.change.render_inline()).unwrap_or_default(),
                    })
                })
                .collect();
            axum::Json(serde_json::json!({ "records": items })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn outbox(State(state): State<Arc<AppState>>) -> Response {
    match state.service.db(|s| s.outbox_counts()).await {
        Ok((pending, failed)) => {
            axum::Json(serde_json::json!({ "pending": pending, "failed": failed })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct Advance {
    advance_secs: i64,
}

/// The test clock moves forward, by at most a century at a time.
const MAX_ADVANCE_SECS: i64 = 100 * 366 * 24 * 3600;

async fn advance_clock(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    if !state.test_clock {
        return (StatusCode::NOT_FOUND, "the clock moves only with --test-clock").into_response();
    }
    match serde_json::from_slice::<Advance>(&body) {
        Ok(a) if (0..=MAX_ADVANCE_SECS).contains(&a.advance_secs) => {
            state.clock.advance(a.advance_secs * 1000);
            axum::Json(serde_json::json!({ "now_ms": state.clock.now_ms() })).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            format!("advance_secs: 0 to {MAX_ADVANCE_SECS}"),
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in ["127.0.0.1:4577", "localhost", "LOCALHOST:1", "[::1]:80", "127.9.9.9"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:4577",
            "10.0.0.1:4577",
            "",
            "[::2]:1",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
