//! `run --serve-sources`: the manifest's local files served to the target over HTTP so they
//! ride Bulk Import, 100 a call, instead of one upload URL each. A file is served at
//! `/s/<token>?exp=…&sig=…`: the token names a row (a hash of its key), the signature is an
//! HMAC-SHA256 of token and expiry under a key drawn for this run and kept only in memory.
//! The path served is the one the import stage registered for the token — never anything
//! read from the URL — so no other file on the disk is reachable. GET and HEAD, one byte range.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

type HmacSha256 = Hmac<Sha256>;

/// Hex characters of a row's token.
const TOKEN_LEN: usize = 32;

/// The token a row's file is served under: a hash of its key, the same in every run, so a
/// file the target fetched in an earlier run is still known as this row's.
pub fn token_of(row_key: &str) -> String {
    let digest = Sha256::digest(format!("media-migrate served source\n{row_key}").as_bytes());
    hex::encode(digest)[..TOKEN_LEN].to_string()
}

/// The token of a served-source URL (`…/s/<token>?…`), if `url` is one.
pub fn served_token(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let mut segments = parsed.path_segments()?.rev();
    let token = segments.next()?;
    (segments.next()? == "s" && is_token(token)).then(|| token.to_string())
}

fn is_token(text: &str) -> bool {
    text.len() == TOKEN_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The files served and how their URLs are signed. Cloning shares them.
#[derive(Clone)]
pub struct ServedSources {
    inner: Arc<Inner>,
}

struct Inner {
    key: [u8; 32],
    base_url: String,
    lifetime: Duration,
    files: RwLock<HashMap<String, PathBuf>>,
}

impl std::fmt::Debug for ServedSources {
    /// The public base URL and how many files are served; never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedSources")
            .field("base_url", &self.inner.base_url)
            .field("lifetime", &self.inner.lifetime)
            .field("files", &self.files_len())
            .finish_non_exhaustive()
    }
}

impl ServedSources {
    /// Files served under `base_url` (where the target reaches the listener), each URL valid
    /// for `lifetime` from its signing, with a key drawn now.
    pub fn new(base_url: &str, lifetime: Duration) -> Self {
        // Two v4 UUIDs: 244 bits from the operating system's CSPRNG.
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            inner: Arc::new(Inner {
                key,
                base_url: base_url.trim_end_matches('/').to_string(),
                lifetime,
                files: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The signed URL of the row `row_key`'s file at `path`, which is served from now on.
    pub fn url_for(&self, row_key: &str, path: &Path) -> String {
        let token = token_of(row_key);
        self.inner
            .files
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), path.to_path_buf());
        let exp = unix_now().saturating_add(self.inner.lifetime.as_secs());
        format!(
            "{}/s/{token}?exp={exp}&sig={}",
            self.inner.base_url,
            self.sign(&token, exp)
        )
    }

    fn files_len(&self) -> usize {
        self.inner.files.read().map_or(0, |f| f.len())
    }

    fn sign(&self, token: &str, exp: u64) -> String {
        let mac = self.mac(token, exp);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn mac(&self, token: &str, exp: u64) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.inner.key).expect("HMAC takes keys of any length");
        mac.update(format!("{token}\n{exp}").as_bytes());
        mac
    }

    /// Whether `sig` signs `token` until `exp` (compared in constant time).
    fn verify(&self, token: &str, exp: u64, sig: &str) -> bool {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .is_ok_and(|raw| self.mac(token, exp).verify_slice(&raw).is_ok())
    }

    fn path_of(&self, token: &str) -> Option<PathBuf> {
        let files = self.inner.files.read().unwrap_or_else(|p| p.into_inner());
        files.get(token).cloned()
    }

    /// The routes: `/s/{token}`, and 404 for anything else.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/s/{token}", any(serve_file))
            .fallback(|| async { StatusCode::NOT_FOUND })
            .with_state(self.clone())
    }
}

/// Serves `sources` on `listener` until `shutdown` completes; the listener is closed then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sources: ServedSources,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sources.router())
        .with_graceful_shutdown(shutdown)
        .await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn serve_file(
    State(sources): State<ServedSources>,
    method: Method,
    UrlPath(token): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    if !is_token(&token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (Some(exp), Some(sig)) = (
        query.get("exp").and_then(|e| e.parse::<u64>().ok()),
        query.get("sig"),
    ) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if !sources.verify(&token, exp, sig) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if unix_now() >= exp {
        return StatusCode::GONE.into_response();
    }
    let Some(path) = sources.path_of(&token) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match send_file(&path, &headers, method == Method::HEAD).await {
        Ok(response) => response,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(token = %token, error = %e, "a served source could not be read");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The file's bytes, or the range asked for (206), or 416 for a range past its end.
async fn send_file(path: &Path, headers: &HeaderMap, head: bool) -> std::io::Result<Response> {
    // Never blocking: a FIFO swapped in for the file would hang a plain open (and the run's
    // end, which waits for requests in flight).
    let mut options = tokio::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK);
    let mut file = options.open(path).await?;
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    let len = meta.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| byte_range(v, len));
    let (status, start, count) = match range {
        None | Some(Range::Ignored) => (StatusCode::OK, 0, len),
        Some(Range::Unsatisfiable) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response());
        }
        Some(Range::Bytes(start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
    };
    let mime = wix_media_wire::media::mime_of_name(&path.to_string_lossy())
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, count)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", start + count - 1),
        );
    }
    let body = if head {
        Body::empty()
    } else {
        file.seek(std::io::SeekFrom::Start(start)).await?;
        Body::from_stream(tokio_util::io::ReaderStream::new(file.take(count)))
    };
    Ok(builder.body(body).expect("status and headers are valid"))
}

/// What a `Range` header asks of a file.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// Inclusive first and last byte.
    Bytes(u64, u64),
    /// Past the end: 416.
    Unsatisfiable,
    /// Not one byte range we understand (several ranges, another unit): the whole file.
    Ignored,
}

fn byte_range(value: &str, len: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Ignored;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignored;
    };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(suffix)) if suffix > 0 && len > 0 => {
            Range::Bytes(len.saturating_sub(suffix), len - 1)
        }
        (true, _, _) => Range::Unsatisfiable,
        (false, Some(start), _) if start >= len => Range::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => Range::Bytes(start, len - 1),
        (false, Some(start), Some(end)) if end >= start => Range::Bytes(start, end.min(len - 1)),
        _ => Range::Ignored,
    }
}

#[cfg(test)]
mod tests;
