//! Shared test fixtures: a local Media Manager on 127.0.0.1:0 with its own data dir, a JSON
//! client for its API, a source server for imports, and generated media.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wix_media_manager::{LocalServer, ServerConfig};
use wix_media_wire::types::{FileDescriptor, OperationStatus};

pub struct TestServer {
    pub server: Option<LocalServer>,
    /// The config it runs with (and restarts with, in [`TestServer::bounce`]).
    pub config: ServerConfig,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub api_key: Option<String>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose config `tweak` may change (faults, limits, keys).
    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new(dir.path().join("data"));
        tweak(&mut config);
        Self::start_in(dir, config).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: ServerConfig) -> Self {
        wix_media_manager::install_crypto_provider();
        let api_key = config.api_keys.first().cloned();
        let server = LocalServer::start(config.clone(), 0)
            .await
            .expect("server starts");
        Self {
            url: server.url.clone(),
            server: Some(server),
            config,
            dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            api_key,
        }
    }

    /// Stops the server and starts a new one on the same data dir (a restart).
    pub async fn restart(mut self, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        self.server
            .take()
            .expect("running")
            .stop()
            .await
            .expect("clean stop");
        let mut config = ServerConfig::new(self.dir.path().join("data"));
        tweak(&mut config);
        Self::start_in(self.dir, config).await
    }

    /// Stops the server, keeps its port closed for `outage` (connections are refused), then
    /// starts it again on the same port, data dir and config. Returns the stopped server's
    /// stats, which the new one starts counting afresh.
    pub async fn bounce(&mut self, outage: Duration) -> Value {
        let stats = self.stats().await;
        let server = self.server.take().expect("running");
        let port = server.addr.port();
        server.stop().await.expect("clean stop");
        tokio::time::sleep(outage).await;
        // Another socket may have taken the port meanwhile (unlikely): try for a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match LocalServer::start(self.config.clone(), port).await {
                Ok(server) => {
                    assert_eq!(server.url, self.url, "restarted at the same address");
                    self.server = Some(server);
                    return stats;
                }
                Err(e) if tokio::time::Instant::now() < deadline => {
                    eprintln!("restart on port {port}: {e}; trying again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("can't restart on port {port}: {e}"),
            }
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/site-media{path}", self.url)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => rb
                .header("Authorization", k)
                .header("wix-site-id", &self.config.site_id),
            None => rb,
        }
    }

    /// POSTs JSON to an API path; returns status and JSON body (Null when empty).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let rb = self.authed(self.http.post(self.api(path)).json(&body));
        send(rb).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let rb = self.authed(self.http.patch(self.api(path)).json(&body));
        send(rb).await
    }

    pub async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let rb = self.authed(self.http.get(self.api(path_and_query)));
        send(rb).await
    }

    /// POST that must answer 200.
    pub async fn ok_post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "POST {path}: {v}");
        v
    }

    pub async fn ok_patch(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.patch(path, body).await;
        assert_eq!(status, StatusCode::OK, "PATCH {path}: {v}");
        v
    }

    pub async fn ok_get(&self, path: &str) -> Value {
        let (status, v) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {v}");
        v
    }

    pub async fn stats(&self) -> Value {
        let r = self
            .authed(self.http.get(format!("{}/_local/stats", self.url)))
            .send()
            .await
            .expect("stats");
        r.json().await.expect("stats json")
    }

    pub async fn file(&self, id: &str) -> FileDescriptor {
        let v = self
            .ok_get(&format!(
                "/v1/files/get-file-by-id?fileId={}",
                urlencode(id)
            ))
            .await;
        serde_json::from_value(v["file"].clone()).expect("descriptor")
    }

    /// Polls a file until it leaves PENDING, failing after a deadline.
    pub async fn wait_processed(&self, id: &str) -> FileDescriptor {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let f = self.file(id).await;
            if f.operation_status != Some(OperationStatus::Pending) {
                return f;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "file {id} still PENDING"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = rb.send().await.expect("request sent");
    let status = r.status();
    let bytes = r.bytes().await.expect("body");
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("json body")
    };
    (status, v)
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One resource of the source server.
#[derive(Clone, Debug)]
pub struct Source {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Answer only when this header has this value (else 403).
    pub require_header: Option<(String, String)>,
    /// Redirect to this path instead of answering.
    pub redirect_to: Option<String>,
    /// Never answer (a hanging source).
    pub hang: bool,
    /// Fail this many requests first (a host that blips), counting down, this way.
    pub fail_first: Option<(Arc<std::sync::atomic::AtomicUsize>, Blip)>,
}

/// How a blipping source fails a request.
#[derive(Clone, Copy, Debug)]
pub enum Blip {
    /// 503 Service Unavailable.
    Unavailable,
    /// 429 Too Many Requests with `Retry-After: 1`.
    Throttled,
    /// 200 with a `Content-Length` of the whole body, then half of it and the connection closed.
    CutBody,
}

impl Source {
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            content_type: Some(content_type.to_string()),
            body,
            require_header: None,
            redirect_to: None,
            hang: false,
            fail_first: None,
        }
    }

    /// This source, failing its first `n` requests as `blip` says.
    pub fn failing_first(mut self, n: usize, blip: Blip) -> Self {
        self.fail_first = Some((Arc::new(std::sync::atomic::AtomicUsize::new(n)), blip));
        self
    }

    /// A source that accepts the request and never answers.
    pub fn hanging() -> Self {
        Self {
            hang: true,
            ..Self::bytes("image/png", Vec::new())
        }
    }

    /// A 200 `text/html` page where an image was expected (a CDN's error or login page).
    pub fn html_page() -> Self {
        let page = "<!DOCTYPE html>\n<html><head><title>Not Found</title></head>\n\
                    <body><h1>Sorry, this image is no longer available</h1></body></html>\n";
        Self::bytes("text/html; charset=utf-8", page.as_bytes().to_vec())
    }
}

/// A web server on 127.0.0.1:0 serving sources by path (query strings ignored, but recorded).
#[derive(Clone)]
pub struct SourceServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Source>>>,
    /// Every request seen: path and query.
    pub hits: Arc<Mutex<Vec<String>>>,
    /// The headers of every request seen, with its path.
    pub headers_seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    /// Requests in flight, the most seen at once, and how the server bears load.
    pub load: Arc<Load>,
}

/// A source server's load: what it bears, and the most requests it has seen at once.
#[derive(Debug, Default)]
pub struct Load {
    in_flight: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    /// Answer 503 to a request that finds this many in flight already (0: never).
    pub refuse_at: std::sync::atomic::AtomicUsize,
    /// Take this long over every answer (a slow host), in milliseconds.
    pub latency_ms: std::sync::atomic::AtomicU64,
    /// Requests answered 503 for the load.
    pub refused: std::sync::atomic::AtomicUsize,
}

impl Load {
    /// The most requests seen in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A request counted in flight while it lives.
struct InFlight(Arc<Load>);

impl InFlight {
    fn enter(load: &Arc<Load>) -> (Self, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        let before = load.in_flight.fetch_add(1, SeqCst);
        load.peak.fetch_max(before + 1, SeqCst);
        (Self(load.clone()), before)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl SourceServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::start_on(listener)
    }

    /// A source server answering on `listener` (bound beforehand: a host that comes up late).
    pub fn start_on(listener: tokio::net::TcpListener) -> Self {
        let routes: Arc<Mutex<HashMap<String, Source>>> = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let load: Arc<Load> = Arc::default();
        let headers_seen: Arc<Mutex<Vec<(String, HeaderMap)>>> = Arc::default();
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().fallback(serve_source).with_state((
            routes.clone(),
            hits.clone(),
            headers_seen.clone(),
            load.clone(),
        ));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            routes,
            hits,
            headers_seen,
            load,
        }
    }

    /// A source server with a thread and runtime of its own, so it answers promptly however
    /// busy the test's runtime is (many servers at once, each processing); it lives until the
    /// test binary exits.
    pub fn start_on_own_thread() -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("source server runtime");
            runtime.block_on(async move {
                tx.send(Self::start().await).expect("the starter waits");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("source server starts")
    }

    pub fn add(&self, path: &str, source: Source) -> String {
        self.routes.lock().unwrap().insert(path.to_string(), source);
        self.url(path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hit_count(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.split('?').next() == Some(path))
            .count()
    }
}

type SourceState = (
    Arc<Mutex<HashMap<String, Source>>>,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<(String, HeaderMap)>>>,
    Arc<Load>,
);

async fn serve_source(
    State((routes, hits, headers_seen, load)): State<SourceState>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    let (_in_flight, before) = InFlight::enter(&load);
    let latency = load.latency_ms.load(SeqCst);
    if latency > 0 {
        // A slow host: the answer takes this long.
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let refuse_at = load.refuse_at.load(SeqCst);
    if refuse_at > 0 && before >= refuse_at {
        load.refused.fetch_add(1, SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let path = req.uri().path().to_string();
    headers_seen
        .lock()
        .unwrap()
        .push((path.clone(), headers.clone()));
    hits.lock().unwrap().push(
        req.uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    let Some(src) = routes.lock().unwrap().get(&path).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if src.hang {
        std::future::pending::<()>().await;
    }
    if let Some((left, blip)) = &src.fail_first {
        use std::sync::atomic::Ordering::SeqCst;
        if left
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return match blip {
                Blip::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                Blip::Throttled => {
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
                }
                Blip::CutBody => cut_body(&src.body),
            };
        }
    }
    if let Some(to) = &src.redirect_to {
        return (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response();
    }
    if let Some((name, value)) = &src.require_header
        && headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str())
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut resp = (StatusCode::from_u16(src.status).unwrap(), src.body.clone()).into_response();
    if let Some(ct) = &src.content_type {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, ct.parse().unwrap());
    }
    resp
}

/// A 200 that promises `body` whole and breaks off halfway: the client sees the connection
/// end before the body does.
fn cut_body(body: &[u8]) -> Response {
    let half = bytes::Bytes::copy_from_slice(&body[..body.len() / 2]);
    let stream = futures_util::stream::iter([
        Ok::<_, std::io::Error>(half),
        Err(std::io::Error::other("cut off")),
    ]);
    let mut resp = Response::new(axum::body::Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_LENGTH,
        body.len().to_string().parse().expect("a length"),
    );
    resp
}

/// A PNG of the given size (a gradient, so it isn't trivially compressible).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Jpeg)
}

fn encode(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode");
    out.into_inner()
}

impl TestServer {
    /// A file's stored row, read straight from the database: facts the API doesn't show,
    /// such as why processing failed.
    pub fn file_row(&self, id: &str) -> wix_media_manager::store::files::FileRow {
        let db = self.dir.path().join("data").join("media-manager.sqlite");
        let conn = rusqlite::Connection::open(db).expect("database opens");
        wix_media_manager::store::files::get_file(&conn, id)
            .expect("file row reads")
            .expect("file row exists")
    }
}

impl TestServer {
    /// Every live file under media-root, with the path of its folder (`/a/b`, or empty for
    /// the root), read through the API's folder and file search.
    pub async fn files_with_paths(&self) -> Vec<(String, Value)> {
        let mut folders: HashMap<String, (String, String)> = HashMap::new();
        for f in self.search_all("/v1/folders/search", "folders").await {
            let field = |k: &str| f[k].as_str().expect("folder field").to_string();
            folders.insert(field("id"), (field("displayName"), field("parentFolderId")));
        }
        let path_of = |mut id: String| {
            let mut parts = Vec::new();
            while let Some((name, parent)) = folders.get(&id) {
                parts.push(name.clone());
                id = parent.clone();
            }
            parts.reverse();
            parts.iter().map(|p| format!("/{p}")).collect::<String>()
        };
        self.search_all("/v1/files/search", "files")
            .await
            .into_iter()
            .map(|f| {
                let parent = f["parentFolderId"].as_str().expect("parent").to_string();
                (path_of(parent), f)
            })
            .collect()
    }

    /// Every item of a search endpoint, all pages.
    async fn search_all(&self, path: &str, items: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let v = self
                .ok_post(
                    path,
                    serde_json::json!({"paging": {"limit": 100, "cursor": cursor}}),
                )
                .await;
            out.extend(v[items].as_array().expect("items").iter().cloned());
            cursor = v["nextCursor"]["cursors"]["next"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if cursor.is_empty() {
                return out;
            }
        }
    }
}

/// A client with no timers of its own (no timeout, no idle-pool reaper): under a paused clock
/// the runtime jumps to the next timer whenever it waits on I/O, and such a timer would move
/// the clock the server's token bucket reads.
pub fn timerless_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .expect("client")
}

/// Files the server holds, whatever their status, from its `/_local/stats`.
pub fn files_held(stats: &Value) -> u64 {
    stats["files"]
        .as_object()
        .expect("files by status")
        .values()
        .filter_map(Value::as_u64)
        .sum()
}

/// Sends `request` as it is on a new connection and reads until the server closes it (the
/// request should say `Connection: close`), within 10 s.
pub async fn raw_exchange(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes within 10 s")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads from `stream` until the server closes it (end of stream or reset); panics if it is
/// still open after `within`.
pub async fn assert_closed_within(stream: &mut tokio::net::TcpStream, within: Duration) {
    use tokio::io::AsyncReadExt;
    let mut sink = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open past {within:?}"
    );
}
