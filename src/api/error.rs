//! What a failed call means: an error answer of the API ([`ApiError`], with the Wix body's code
//! and description), or a transport failure — refused before anything was sent, or sent and
//! never (completely) answered — as a [`CallError`] whose disposition says what it means for
//! the work. Transport errors never carry the URL, which may hold tokens.

use std::time::Duration;

use reqwest::StatusCode;

use crate::control::retry::{Disposition, classify_status};
use wix_media_wire::types::{ErrorBody, rules};

/// An error status from the API, with the Wix error body's code and description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{endpoint} answered {status}{}: {description}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
pub struct ApiError {
    pub endpoint: &'static str,
    pub status: u16,
    pub code: Option<String>,
    pub description: String,
    pub retry_after: Option<Duration>,
    /// The `data` of the error's first field violation or its application error: what it
    /// is about (e.g. the ids a `RESOURCE_NOT_FOUND` names).
    pub data: Option<serde_json::Value>,
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
        // A documented validation error (`SITE_QUOTA_EXCEEDED`, `RESOURCE_NOT_FOUND`) names
        // itself in the violation's `ruleName`; an application error in its `code`.
        let rule = violation
            .as_ref()
            .and_then(|v| v.rule_name.clone())
            .filter(|r| !r.is_empty());
        let data = violation
            .as_ref()
            .and_then(|v| v.data.clone())
            .or_else(|| app.as_ref().and_then(|a| a.data.clone()));
        let description = violation
            .map(|v| match v.field.as_str() {
                "" => v.description,
                field => format!("{field}: {}", v.description),
            })
            .or(app.as_ref().map(|a| a.description.clone()))
            .filter(|d| !d.is_empty())
            .or((!body.message.is_empty()).then_some(body.message))
            .unwrap_or_else(|| status.to_string());
        Self {
            endpoint,
            status: status.as_u16(),
            code: app.map(|a| a.code).filter(|c| !c.is_empty()).or(rule),
            description,
            retry_after,
            data,
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

    /// The site can take no more files (`SITE_QUOTA_EXCEEDED`): no row can be done until
    /// its owner makes room, so the run stops instead of failing row after row.
    pub fn is_site_full(&self) -> bool {
        matches!(self, Self::Api(e) if e.code.as_deref() == Some(rules::SITE_QUOTA_EXCEEDED))
    }

    /// Ids the call named that the site doesn't hold (`RESOURCE_NOT_FOUND`): those of
    /// `asked` its error names (any string of its `data` equal to one), or `None` when it names
    /// none of them; `None` too for any other error.
    pub fn unknown_ids<'a>(&self, asked: &'a [String]) -> Option<Vec<&'a String>> {
        let Self::Api(e) = self else { return None };
        let not_found = e.code.as_deref() == Some(rules::RESOURCE_NOT_FOUND)
            || (e.status == 404 && e.code.is_none());
        if !not_found {
            return None;
        }
        let mut named = std::collections::HashSet::new();
        if let Some(data) = &e.data {
            collect_strings(data, &mut named);
        }
        Some(
            asked
                .iter()
                .filter(|id| named.contains(id.as_str()))
                .collect(),
        )
    }

    /// A refusal of the whole site, not of the request's rows (a refused key, a full site):
    /// nothing was done, nothing will be until the user acts, and the run stops.
    pub fn stops_the_run(&self) -> bool {
        self.is_access_refused() || self.is_site_full()
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

fn collect_strings<'v>(
    value: &'v serde_json::Value,
    into: &mut std::collections::HashSet<&'v str>,
) {
    match value {
        serde_json::Value::String(s) => {
            into.insert(s);
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, into)),
        _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: serde_json::Value) -> CallError {
        let status = StatusCode::from_u16(status).expect("status");
        let bytes = serde_json::to_vec(&body).expect("json");
        CallError::Api(ApiError::from_body(
            "getFileDescriptors",
            status,
            &bytes,
            None,
        ))
    }

    fn violation(rule: &str, data: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"message": "m", "details": {"validationError": {"fieldViolations": [
            {"field": "fileIds", "description": "d", "violatedRule": "OTHER", "ruleName": rule, "data": data}
        ]}}})
    }

    /// A documented validation error names itself by its `ruleName`; a full site stops the
    /// run, and its rows are queued again at no cost.
    #[test]
    fn validation_rules_are_codes() {
        let full = answer(400, violation("SITE_QUOTA_EXCEEDED", serde_json::json!({})));
        assert_eq!(full.code(), "SITE_QUOTA_EXCEEDED");
        assert!(full.is_site_full() && full.stops_the_run());
        let bad = answer(400, violation("", serde_json::Value::Null));
        assert_eq!(bad.code(), "HTTP_400");
        assert!(!bad.stops_the_run());
    }

    /// `RESOURCE_NOT_FOUND` says which of the asked ids are unknown when its data names them
    /// (in any shape), none when it doesn't; any other error is not about ids.
    #[test]
    fn unknown_ids_are_read_from_any_shape_of_data() {
        let asked = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let named = answer(
            400,
            violation(
                "RESOURCE_NOT_FOUND",
                serde_json::json!({"unknownIds": ["b", "zz"]}),
            ),
        );
        assert_eq!(named.unknown_ids(&asked), Some(vec![&asked[1]]));
        let listed = answer(
            400,
            violation("RESOURCE_NOT_FOUND", serde_json::json!(["c"])),
        );
        assert_eq!(listed.unknown_ids(&asked), Some(vec![&asked[2]]));
        let silent = answer(
            400,
            violation("RESOURCE_NOT_FOUND", serde_json::Value::Null),
        );
        assert_eq!(silent.unknown_ids(&asked), Some(vec![]));
        let other = answer(400, violation("ZERO_FILE_SIZE", serde_json::json!(["a"])));
        assert_eq!(other.unknown_ids(&asked), None);
    }
}
