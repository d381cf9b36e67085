//! The local Media Manager: a real server for the Wix Media Manager REST API (`/site-media/v1`)
//! with SQLite metadata, content-addressed blobs, background processing, uploads (PUT and tus),
//! signed downloads, a per-site rate limit and fault injection. It is media-migrate's embedded
//! default target and `media-migrate serve`, the server of every test, and the bench where
//! faults are injected — and, on its own, a Wix Media Manager emulator to test any client of
//! the API against.
//!
//! The library takes a bound listener and a shutdown future from its caller ([`serve`]); it
//! never reads the environment.

pub(crate) mod blobs;
pub(crate) mod conn;
pub(crate) mod contract;
pub mod downloads;
pub(crate) mod error;
pub(crate) mod extract;
pub mod faults;
pub mod files;
pub(crate) mod folders;
pub(crate) mod guard;
pub(crate) mod hosts;
pub(crate) mod openapi;
pub(crate) mod private;
pub mod processing;
pub mod query;
pub mod quota;
pub mod sites;
pub(crate) mod sparse;
pub mod stats;
pub mod store;
pub(crate) mod uploads;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use self::blobs::BlobStore;
use self::faults::{FaultConfig, Faults};
use self::processing::{ProcessingConfig, Processor};
use self::stats::Stats;
use self::store::Store;

/// Everything `serve` needs to know, already validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the database and blobs live.
    pub data_dir: PathBuf,
    /// Accepted API keys; none means the server is open (loopback use only).
    pub api_keys: Vec<String>,
    /// The site this server stands for (`wix-site-id`).
    pub site_id: String,
    /// Base of the URLs the server hands out; defaults to `http://{bound address}`.
    pub public_url: Option<String>,
    /// Bulk Import items accepted per call.
    pub max_bulk_items: usize,
    /// Requests per minute per site, and the burst above it; `None` means unlimited.
    pub rate_limit_per_minute: Option<u32>,
    pub rate_limit_burst: u32,
    pub faults: FaultConfig,
    pub processing: ProcessingConfig,
    /// How long an upload URL or token stays valid.
    pub upload_token_ttl: Duration,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Largest JSON request body, in bytes (413 beyond it).
    pub max_json_body_bytes: usize,
    /// Host names (beyond the listen address, and `localhost` on loopback) that requests may
    /// name in `Host`; a leading `.` allows a domain and its subdomains. Any other name is
    /// refused, which is what stops DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// How long a request head may take to arrive (also how long a kept-alive connection may
    /// wait for its next request).
    pub header_read_timeout: Duration,
    /// How long a request body or a response may stall before the connection is dropped.
    pub idle_timeout: Duration,
    /// How often expired and abandoned uploads are reaped (also once at start-up).
    pub upload_reap_interval: Duration,
    /// Live files a site may hold (per site, when there are several); `None`: no limit.
    /// Past it, calls that would create a file answer 400 `SITE_QUOTA_EXCEEDED`.
    pub quota_files: Option<u64>,
    /// Bytes a site's live files may hold; `None`: no limit. A URL import's bytes count once
    /// it is processed, an upload's at once.
    pub quota_bytes: Option<u64>,
    /// Answer as proto3 JSON may: every JSON 200 answer of the API leaves out empty lists
    /// and strings, `false`, `0`, `null` and emptied objects, and carries fields no client
    /// knows (`x-local-extra`, and `internalTags`, `namespace` in each file and folder) — so a
    /// client's tests prove it reads tolerantly.
    pub sparse_answers: bool,
    /// Several sites behind one listener (each with its own storage under
    /// `data_dir/sites/<id>/`, keys, rate limit and stats); empty: the one site `site_id`
    /// with `api_keys`, stored in `data_dir` itself.
    pub sites: Vec<sites::SiteConfig>,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            api_keys: Vec::new(),
            site_id: "local-site".to_string(),
            public_url: None,
            max_bulk_items: wix_media_wire::types::limits::BULK_IMPORT_MAX_ITEMS,
            rate_limit_per_minute: None,
            rate_limit_burst: 20,
            faults: FaultConfig::default(),
            processing: ProcessingConfig::default(),
            upload_token_ttl: Duration::from_secs(3600),
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
            max_json_body_bytes: 4 * 1024 * 1024,
            allowed_hosts: Vec::new(),
            max_connections: 256,
            header_read_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            upload_reap_interval: Duration::from_secs(300),
            quota_files: None,
            quota_bytes: None,
            sparse_answers: false,
            sites: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("can't use data directory {}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("can't open the database in {}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("listener: {0}")]
    Listener(std::io::Error),
    #[error("initialising: {0}")]
    Init(String),
}

/// Shared by every handler.
pub(crate) struct AppState {
    pub config: ServerConfig,
    /// Base of the URLs the server hands out, without a trailing slash.
    pub public_url: String,
    pub store: Store,
    pub blobs: BlobStore,
    pub faults: Faults,
    pub stats: Stats,
    pub processor: Processor,
    pub guard: guard::Guard,
    /// HMAC key of signed download URLs; kept in the database so URLs survive restarts.
    pub signing_key: Vec<u8>,
    /// The names requests may call this server by.
    pub hosts: hosts::HostPolicy,
}

impl AppState {
    /// The site's quota.
    pub fn quota(&self) -> quota::Quota {
        quota::Quota {
            files: self.config.quota_files,
            bytes: self.config.quota_bytes,
        }
    }
}

pub(crate) type SharedState = Arc<AppState>;

/// Opens storage, re-queues unfinished processing and builds the router.
pub(crate) async fn build(
    config: ServerConfig,
    bound: SocketAddr,
) -> Result<(Router, SharedState), ServeError> {
    let dir = &config.data_dir;
    let db_path = dir.join("media-manager.sqlite");
    private::create_dir(dir)
        .and_then(|()| private::ensure_file(&db_path))
        .and_then(|()| private::narrow_if_present(&dir.join("media-manager.sqlite-wal")))
        .and_then(|()| private::narrow_if_present(&dir.join("media-manager.sqlite-shm")))
        .map_err(|source| ServeError::DataDir {
            path: dir.clone(),
            source,
        })?;
    let store = Store::open(&db_path).map_err(|source| ServeError::Database {
        path: db_path.clone(),
        source,
    })?;
    let blobs = BlobStore::open(dir).map_err(|source| ServeError::DataDir {
        path: dir.clone(),
        source,
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_string();
    let key_hex = store
        .meta_or_init("signing_key", hex::encode(rand_bytes()))
        .await
        .map_err(|e| ServeError::Init(e.message()))?;
    let signing_key = hex::decode(key_hex).map_err(|e| ServeError::Init(e.to_string()))?;
    let faults = Faults::new(config.faults.clone());
    let guard = guard::Guard::new(&config);
    let hosts = hosts::HostPolicy::new(bound, &public_url, &config.allowed_hosts);
    let state = Arc::new_cyclic(|weak| AppState {
        processor: Processor::new(weak.clone(), &config.processing),
        config,
        public_url,
        store,
        blobs,
        faults,
        stats: Stats::default(),
        guard,
        signing_key,
        hosts,
    });
    uploads::reap_uploads(&state).await;
    state
        .processor
        .requeue_pending(&state)
        .await
        .map_err(|e| ServeError::Init(e.message()))?;
    Ok((router(state.clone()), state))
}

/// The router of the whole server and the state of each site it serves (one, unless
/// `config.sites` names several).
async fn build_app(
    config: ServerConfig,
    bound: SocketAddr,
) -> Result<(Router, Vec<SharedState>), ServeError> {
    if config.sites.is_empty() {
        let (app, state) = build(config, bound).await?;
        Ok((app, vec![state]))
    } else {
        sites::build_many(&config, bound).await
    }
}

/// Installs the `ring` TLS provider for rustls once per process (idempotent), before the
/// source fetcher's HTTP client is built; a caller building reqwest clients of its own (tests,
/// say) calls it first too.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}

fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(files::routes())
        .merge(folders::routes())
        .merge(uploads::api_routes())
        .merge(downloads::api_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            sparse::sparse_answers,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::api_guard,
        ));
    let uploads = uploads::upload_routes(&state)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            sparse::sparse_answers,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::upload_guard,
        ));
    Router::new()
        .nest("/site-media", api)
        .merge(uploads)
        .merge(downloads::public_routes())
        .route("/_local/stats", get(stats::stats_handler))
        .route("/openapi.json", get(openapi::openapi_handler))
        .fallback(|| async { error::WixError::not_found("NOT_FOUND", "No such endpoint") })
        .method_not_allowed_fallback(|| async { error::WixError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hosts::host_guard,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Millis),
                ),
        )
        .with_state(state)
}

/// The span of one request. Upload tokens and download signatures travel in paths and query
/// strings, so the path is redacted and the query never logged.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %redacted_path(request.uri().path()))
}

/// The path with every segment after a token-bearing prefix replaced by `…`.
pub fn redacted_path(path: &str) -> String {
    const SECRET_AFTER: [&str; 4] = [
        "/_upload/put/",
        "/_upload/resumable/",
        "/_upload/tus/",
        "/_download/",
    ];
    for prefix in SECRET_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let hidden = rest.split('/').map(|_| "…").collect::<Vec<_>>().join("/");
            return format!("{prefix}{hidden}");
        }
    }
    path.to_string()
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let bound = listener.local_addr().map_err(ServeError::Listener)?;
    let limits = conn_limits(&config);
    let (app, states) = build_app(config, bound).await?;
    for state in &states {
        tracing::info!(address = %bound, site = %state.config.site_id, url = %state.public_url, "local Media Manager listening");
    }
    run(listener, app, limits, states, shutdown).await
}

fn conn_limits(config: &ServerConfig) -> conn::ConnLimits {
    conn::ConnLimits {
        max_connections: config.max_connections,
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
    }
}

async fn run(
    listener: TcpListener,
    app: Router,
    limits: conn::ConnLimits,
    states: Vec<SharedState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let reapers: Vec<_> = states.iter().map(uploads::spawn_reaper).collect();
    conn::serve_connections(listener, app, limits, shutdown).await;
    for reaper in reapers {
        reaper.abort();
    }
    for state in &states {
        state.processor.shutdown().await;
    }
    Ok(())
}

/// A server running in this process on 127.0.0.1 (the embedded default target, and tests).
pub struct LocalServer {
    pub addr: SocketAddr,
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl LocalServer {
    /// Binds 127.0.0.1 on `port` (0 for any) and serves `config` in a background task.
    pub async fn start(config: ServerConfig, port: u16) -> Result<Self, ServeError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(ServeError::Listener)?;
        let addr = listener.local_addr().map_err(ServeError::Listener)?;
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // Build before returning, so a bad data dir is reported to the caller, not logged.
        let limits = conn_limits(&config);
        let (app, states) = build_app(config, addr).await?;
        let task = tokio::spawn(run(listener, app, limits, states, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            url,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops accepting, waits for in-flight requests and processing to wind down.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| ServeError::Init(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
