//! What a failed call means: an error answer of the API ([`ApiError`], with the Wix body's code
//! and description), or a transport failure — refused before anything was sent, or sent and
//! never (completely) answered — as a [`CallError`] whose disposition says what it means for
//! the work. Transport errors never carry the URL, which may hold tokens.

use std::time::Duration;

use reqwest::StatusCode;

use super::types::ErrorBody;
use crate::control::retry::{Disposition, classify_status};

/// An error status from the API, with the Wix error body's code and description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{endpoint} answered {status}{}: {description}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
pub struct ApiError {
    pub endpoint: &'static str,
    pub status: u16,
    pub code: Option<String>,
    pub description: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error answer: its Wix body's code, and the first field violation, the application
    /// error's description or the message (in that order), else the status itself.
    pub(crate) fn from_body(
        endpoint: &'static str,
        status: StatusCode,
        bytes: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let body: ErrorBody = serde_json::from_slice(bytes).unwrap_or_default();
        let app = body.details.application_error;
        let violation = body
            .details
            .validation_error
            .and_then(|v| v.field_violations.into_iter().next());
        let description = violation
            .map(|v| format!("{}: {}", v.field, v.description))
            .or(app.as_ref().map(|a| a.description.clone()))
            .filter(|d| !d.is_empty())
            .or((!body.message.is_empty()).then_some(body.message))
            .unwrap_or_else(|| status.to_string());
        Self {
            endpoint,
            status: status.as_u16(),
            code: app.map(|a| a.code),
            description,
            retry_after,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Api(ApiError),
    /// No connection could be made: the request was certainly not performed.
    #[error("{endpoint}: can't connect: {message}")]
    Refused {
        endpoint: &'static str,
        message: String,
    },
    /// Sent, but no (complete) answer came back: it may or may not have been performed.
    #[error("{endpoint}: no answer: {message}")]
    NoAnswer {
        endpoint: &'static str,
        message: String,
    },
    /// A 200 whose body isn't what the API promises.
    #[error("{endpoint}: unreadable answer: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },
    /// A resumable upload that failed before its finalize, so no file was made: start over.
    #[error("{0} (the upload was not finished: no file was made)")]
    Unfinished(Box<CallError>),
    /// The local file to upload could not be read, or changed while it was sent: no file was
    /// made.
    #[error("{endpoint}: {message}")]
    LocalFile {
        endpoint: &'static str,
        cause: LocalCause,
        message: String,
    },
}

/// Why a local file could not be uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalCause {
    /// It is no longer there.
    Vanished,
    /// It can't be read: permissions, or not a regular file (a directory, FIFO or device).
    Unreadable,
    /// Its size changed while it was being sent (still being written?).
    Changed,
}

impl CallError {
    /// A local file's error, its cause told from the I/O error.
    pub fn local_io(endpoint: &'static str, path: &std::path::Path, e: &std::io::Error) -> Self {
        let cause = match e.kind() {
            std::io::ErrorKind::NotFound => LocalCause::Vanished,
            _ => LocalCause::Unreadable,
        };
        Self::LocalFile {
            endpoint,
            cause,
            message: format!("reading {}: {e}", path.display()),
        }
    }
}

impl CallError {
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Api(e) => classify_status(e.status),
            Self::Refused { .. }
            | Self::LocalFile {
                cause: LocalCause::Changed,
                ..
            }
            | Self::Unfinished(_) => Disposition::NotDone,
            // Gone or unreadable: trying again won't help until the user acts.
            Self::LocalFile { .. } => Disposition::Permanent,
            Self::NoAnswer { .. } | Self::Decode { .. } => Disposition::InDoubt,
        }
    }

    /// 401 or 403: the target refused the caller (a wrong key, a key without the permission,
    /// another site), not the request. Nothing was done, and nothing will be until the user
    /// fixes the credentials.
    pub fn is_access_refused(&self) -> bool {
        // Upload URLs carry their own authorisation: their refusals are the upload's.
        let upload = |endpoint: &str| endpoint.starts_with("upload") || endpoint.starts_with("tus");
        matches!(self, Self::Api(e) if (e.status == 401 || e.status == 403) && !upload(e.endpoint))
    }

    /// An answer of the server's side (5xx): the target is there but failing, and whether the
    /// call was performed is unknown.
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Api(e) if e.status >= 500)
    }

    pub fn code(&self) -> String {
        match self {
            Self::Api(e) => e
                .code
                .clone()
                .unwrap_or_else(|| format!("HTTP_{}", e.status)),
            Self::Refused { .. } => "CONNECTION_REFUSED".to_string(),
            Self::LocalFile { cause, .. } => match cause {
                LocalCause::Vanished => "LOCAL_FILE_VANISHED",
                LocalCause::Unreadable => "LOCAL_FILE_UNREADABLE",
                LocalCause::Changed => "LOCAL_FILE_CHANGED",
            }
            .to_string(),
            Self::Unfinished(e) => e.code(),
            Self::NoAnswer { .. } => "NO_ANSWER".to_string(),
            Self::Decode { .. } => "BAD_RESPONSE".to_string(),
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// reqwest errors name the URL, which may carry tokens: describe the kind and causes only.
/// Every HTTP client of the crate (API, uploads, probes) reports transport failures this way.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_redirect() {
        "too many redirects".to_string()
    } else if e.is_body() || e.is_decode() {
        "response body broken off".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// A transport failure: refused before sending (certainly not done), or no answer (in doubt).
pub(crate) fn transport_error(endpoint: &'static str, e: &reqwest::Error) -> CallError {
    let message = without_url(e);
    if e.is_connect() {
        CallError::Refused { endpoint, message }
    } else {
        CallError::NoAnswer { endpoint, message }
    }
}
