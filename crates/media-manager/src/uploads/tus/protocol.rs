//! The tus wire protocol: `Upload-Metadata` (base64 pairs), the headers every answer carries,
//! and errors answered as tus clients expect them (a status and a plain reason).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::VERSION;
use crate::error::WixError;

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Metadata(HashMap<String, String>);

impl Metadata {
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let mut pairs = HashMap::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let bytes = STANDARD.decode(value.trim()).ok()?;
            pairs.insert(key.to_string(), String::from_utf8(bytes).ok()?);
        }
        Some(Self(pairs))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The metadata as a header value, without the pairs named in `omit`, in a stable order.
    pub(super) fn encode_without(&self, omit: &str) -> String {
        let mut keys: Vec<&String> = self.0.keys().filter(|k| *k != omit).collect();
        keys.sort();
        keys.iter()
            .map(|k| format!("{k} {}", STANDARD.encode(&self.0[*k])))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A refusal in tus terms: a status and a short plain-text reason.
#[derive(Debug)]
pub(super) struct TusError(StatusCode, String);

impl TusError {
    pub(super) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self(status, reason.into())
    }
}

impl From<WixError> for TusError {
    fn from(e: WixError) -> Self {
        Self(e.status, e.message())
    }
}

impl From<std::io::Error> for TusError {
    fn from(e: std::io::Error) -> Self {
        WixError::from(e).into()
    }
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.1).into_response();
        if self.0 == StatusCode::PRECONDITION_FAILED {
            response
                .headers_mut()
                .insert("tus-version", HeaderValue::from_static(VERSION));
        }
        response
    }
}

pub(super) type TusResult<T> = Result<T, TusError>;

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn header_u64(headers: &HeaderMap, name: &str) -> TusResult<u64> {
    header_str(headers, name)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            TusError::new(
                StatusCode::BAD_REQUEST,
                format!("{name} must be a non-negative integer"),
            )
        })
}

pub(super) fn require_version(headers: &HeaderMap) -> TusResult<()> {
    match header_str(headers, "tus-resumable") {
        Some(VERSION) => Ok(()),
        _ => Err(TusError::new(
            StatusCode::PRECONDITION_FAILED,
            "Tus-Resumable: 1.0.0 is required",
        )),
    }
}

pub(super) fn with_headers(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    response
}

/// A `PATCH` carries its bytes as `application/offset+octet-stream`, nothing else.
pub(super) fn require_offset_stream(headers: &HeaderMap) -> TusResult<()> {
    const OFFSET_STREAM: &str = "application/offset+octet-stream";
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    if content_type.eq_ignore_ascii_case(OFFSET_STREAM) {
        Ok(())
    } else {
        Err(TusError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream",
        ))
    }
}
