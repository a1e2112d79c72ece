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

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the /_local endpoints answer loopback peers only",
        )
            .into_response()
    }
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

async fn advance_clock(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    if !state.test_clock {
        return (StatusCode::NOT_FOUND, "the clock moves only with --test-clock").into_response();
    }
    match serde_json::from_slice::<Advance>(&body) {
        Ok(a) => {
            state.clock.advance(a.advance_secs.saturating_mul(1000));
            axum::Json(serde_json::json!({ "now_ms": state.clock.now_ms() })).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
