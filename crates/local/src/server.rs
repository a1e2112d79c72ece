//! The HTTP front: every request is authenticated (SigV4), routed to one of the 17 operations
//! and answered in restJson1; `/_local/*` (module `inspect`) are the service's own endpoints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::publisher::Publisher;
use crate::route::route;
use crate::service::Service;
use crate::store::Store;
use crate::sync_trigger::Triggers;

/// The largest request body: a whole dataset (1 MB of values) with JSON escaping to spare.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How the service runs (the CLI's flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// The database directory; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Check signatures (`--no-verify` turns it off).
    pub verify_signatures: bool,
    /// Serve `POST /_local/clock` to move the clock forward.
    pub test_clock: bool,
    /// fsync every commit (`--sync-every-commit`): durable across a power loss, slower.
    pub sync_every_commit: bool,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened.
    #[error("open the database: {0}")]
    Store(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A Sync Trigger rules file is bad.
    #[error(transparent)]
    Trigger(#[from] crate::sync_trigger::TriggerLoadError),
    /// The S3Url store could not be configured.
    #[error("configure [s3url]: {0}")]
    S3Url(#[from] object_store::Error),
    /// Storage failed while starting.
    #[error("start: {0}")]
    Api(#[from] ApiError),
    /// The listener failed.
    #[error("serve: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) service: Arc<Service>,
    auth: Authenticator,
    pub(crate) clock: Clock,
    pub(crate) test_clock: bool,
}

/// A running service: its address, its store (for in-process readers such as the demo) and a
/// way to stop it.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database.
    pub store: Store,
    /// Its clock (tests move it forward).
    pub clock: Clock,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, stops the publisher, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Opens the store, loads the triggers, resumes bulk publishes, starts the publisher when
/// Kinesis is configured, and serves on `listener` until stopped.
pub async fn start(
    config: &Config,
    options: &Options,
    listener: TcpListener,
    clock: Clock,
) -> Result<Running, StartError> {
    let store = match &options.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
                path: dir.clone(),
                source,
            })?;
            Store::open(
                dir,
                clock.clone(),
                config.limits,
                config.session_ttl_secs,
                options.sync_every_commit,
            )?
        }
        None => Store::in_memory(clock.clone(), config.limits, config.session_ttl_secs)?,
    };
    store.ensure_pools(config.pools.iter().map(|p| p.id.as_str()))?;
    let triggers = Triggers::load(config).await?;
    let wake = Arc::new(Notify::new());
    let publisher = Publisher::new(config, store.clone(), wake.clone()).await?;
    let service = Arc::new(Service::new(config, store.clone(), triggers, wake.clone()));
    let configured: Vec<&str> = config.pools.iter().map(|p| p.id.as_str()).collect();
    for (pool, stream) in store.bulk_publishes_in_progress()? {
        if !configured.contains(&pool.as_str()) {
            continue;
        }
        tracing::info!(pool = %pool, "resuming a bulk publish that was in progress");
        tokio::spawn(crate::bulk::run(
            store.clone(),
            pool,
            stream,
            wake.clone(),
            std::time::Duration::from_millis(config.bulk_publish_pause_ms),
        ));
    }
    let state = Arc::new(AppState {
        service,
        auth: Authenticator::new(config, options.verify_signatures),
        clock: clock.clone(),
        test_clock: options.test_clock,
    });
    let app = crate::inspect::routes().fallback(dispatch).with_state(state);
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let mut publisher_stop = stop.subscribe();
    let task = tokio::spawn(async move {
        let publisher = publisher.map(|p| {
            tokio::spawn(p.run(async move {
                let _ = publisher_stop.wait_for(|s| *s).await;
            }))
        });
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        if let Some(p) = publisher {
            let _ = p.await;
        }
        served
    });
    Ok(Running {
        addr,
        store,
        clock,
        stop,
        task,
    })
}

async fn dispatch(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return ApiError::new(ErrorCode::Serialization, "The request body is too large").into_response(),
    };
    let principal = match state
        .auth
        .authenticate(&parts.method, &parts.uri, &parts.headers, &body)
    {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let Some(op) = route(&parts.method, parts.uri.path()) else {
        return ApiError::new(
            ErrorCode::UnknownOperation,
            format!("No operation is {} {}", parts.method, parts.uri.path()),
        )
        .into_response();
    };
    let query = parts
        .uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    match state.service.call(principal, op, query, &parts.headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
