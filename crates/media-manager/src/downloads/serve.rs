//! Streams one stored blob as an HTTP response: the whole file or a single byte range, with
//! type, length, disposition, `ETag` and `Accept-Ranges`. Who may see the blob is decided by
//! the caller (a signed URL, or a public file's static URL).

use std::io::SeekFrom;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::names::content_disposition;
use super::range::ByteRange;
use super::signing::DispositionType;
use crate::error::{WixError, WixResult};

/// A blob about to be served, and how.
#[derive(Debug, Clone)]
pub struct Served {
    pub path: std::path::PathBuf,
    pub mime_type: String,
    pub etag: String,
    pub disposition: DispositionType,
    pub name: String,
}

const STREAM_CHUNK: usize = 64 * 1024;

impl Served {
    /// The response to a GET with `request` headers: 200, 206 or 416.
    pub async fn respond(self, request: &HeaderMap) -> WixResult<Response> {
        let mut file = match tokio::fs::File::open(&self.path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WixError::internal(format_args!(
                    "blob {} of a READY file is missing",
                    self.path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        let etag = format!("\"{}\"", self.etag);
        let range = if if_range_allows(request, &etag) {
            ByteRange::parse(header_str(request, header::RANGE), size)
        } else {
            ByteRange::Full
        };
        let (status, start, len) = match range {
            ByteRange::Full => (StatusCode::OK, 0, size),
            ByteRange::Partial { start, end } => {
                (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
            }
            ByteRange::Unsatisfiable => {
                let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                insert(&mut r, header::CONTENT_RANGE, format!("bytes */{size}"));
                insert(&mut r, header::ACCEPT_RANGES, "bytes".to_string());
                return Ok(r);
            }
        };
        file.seek(SeekFrom::Start(start)).await?;
        let body = Body::from_stream(ReaderStream::with_capacity(file.take(len), STREAM_CHUNK));
        let mut r = (status, body).into_response();
        if status == StatusCode::PARTIAL_CONTENT {
            let end = start + len - 1;
            insert(
                &mut r,
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{size}"),
            );
        }
        insert(&mut r, header::CONTENT_LENGTH, len.to_string());
        // Types a browser would run as a page (SVG, HTML, XML) are never shown inline on the
        // API's own origin: Wix serves media from a domain of its own, this server doesn't.
        let disposition = if is_active(&self.mime_type) {
            DispositionType::Attachment
        } else {
            self.disposition
        };
        insert(&mut r, header::CONTENT_TYPE, self.mime_type);
        insert(&mut r, header::ACCEPT_RANGES, "bytes".to_string());
        insert(&mut r, header::ETAG, etag);
        insert(
            &mut r,
            header::CONTENT_DISPOSITION,
            content_disposition(disposition, &self.name),
        );
        protect(&mut r);
        Ok(r)
    }
}

/// The headers every served blob carries: no type sniffing, and a sandbox in which nothing
/// of the file runs (no scripts, no plugins, no requests of its own).
pub fn protect(r: &mut Response) {
    let headers = r.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
    );
}

/// MIME types a browser renders as an active document: HTML, XHTML, SVG and XML of any kind.
pub fn is_active(mime: &str) -> bool {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "text/html"
            | "application/xhtml+xml"
            | "image/svg+xml"
            | "text/xml"
            | "application/xml"
            | "text/xsl"
            | "application/xslt+xml"
    ) || essence.ends_with("+xml")
        || essence.is_empty()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `If-Range` with a different validator asks for the whole file (it changed since).
fn if_range_allows(headers: &HeaderMap, etag: &str) -> bool {
    match header_str(headers, header::IF_RANGE) {
        None => true,
        Some(v) => v.trim() == etag,
    }
}

/// Sets a header whose value is built from safe ASCII; anything else would be a bug here.
fn insert(r: &mut Response, name: header::HeaderName, value: String) {
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            r.headers_mut().insert(name, v);
        }
        Err(_) => tracing::error!(header = %name, "dropping a header that is not valid ASCII"),
    }
}

/// The MIME type of a stored blob from its magic bytes (for thumbnails, whose format
/// processing picks per image).
pub async fn sniff(path: &std::path::Path) -> WixResult<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(infer::get(&head[..filled])
        .map(|t| t.mime_type().to_string())
        .unwrap_or_else(|| "application/octet-stream".to_string()))
}
