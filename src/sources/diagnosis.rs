//! Why a row failed, as its source tells: a URL row whose file the Media Manager could not
//! process is explained by probing the source ([`super::probe`]) — the API says only FAILED —
//! and a local file by what the file system says. Each explanation is a stable code, what was
//! seen, and a hint of what to do.

use super::probe::{ProbeResult, ProbeStatus};
use crate::journal::answers::PROCESSING_FAILED;

/// A failed row's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub code: &'static str,
    /// What was seen, e.g. `source answered 404 Not Found`.
    pub message: String,
}

/// What a probe of a failed row's source says about the failure.
pub fn of_probe(probe: &ProbeResult) -> Diagnosis {
    let code = match probe.status {
        ProbeStatus::Http(404 | 410) => "SOURCE_NOT_FOUND",
        ProbeStatus::Http(401 | 403) => "SOURCE_FORBIDDEN",
        ProbeStatus::Http(429) => "SOURCE_THROTTLED",
        ProbeStatus::Http(s) if s >= 500 => "SOURCE_ERROR",
        ProbeStatus::Http(_) => "SOURCE_REFUSED",
        ProbeStatus::Unreachable if probe.detail.contains("too many redirects") => {
            "SOURCE_REDIRECT_LOOP"
        }
        ProbeStatus::Unreachable => "SOURCE_UNREACHABLE",
        ProbeStatus::Ok | ProbeStatus::Untyped if not_media(probe) => "SOURCE_NOT_MEDIA",
        ProbeStatus::Ok | ProbeStatus::Untyped => PROCESSING_FAILED.0,
    };
    let message = match code {
        "SOURCE_NOT_MEDIA" => format!(
            "source answers {}, not media",
            probe.content_type.as_deref().unwrap_or("without a type")
        ),
        c if c == PROCESSING_FAILED.0 => format!(
            "{}; the source looks healthy ({})",
            PROCESSING_FAILED.1,
            probe.content_type.as_deref().unwrap_or("no Content-Type")
        ),
        _ => probe.detail.clone(),
    };
    Diagnosis { code, message }
}

/// A page or text where media was expected: what a login page, an error page or a CDN's
/// "not found" in a 200 looks like.
fn not_media(probe: &ProbeResult) -> bool {
    probe.content_type.as_deref().is_some_and(|ct| {
        let ct = ct.trim().to_ascii_lowercase();
        ct.starts_with("text/html")
            || ct.starts_with("application/xhtml")
            || ct.starts_with("text/plain")
            || ct.starts_with("application/json")
    })
}

/// What to do about a row that failed with `code`, for the reports.
pub fn hint(code: &str) -> &'static str {
    match code {
        "SOURCE_NOT_FOUND" => {
            "the source is gone: fix the URL in the manifest (a changed row is imported anew)"
        }
        "SOURCE_FORBIDDEN" => {
            "the source needs credentials or its link expired: pass --source-header, or export fresh links"
        }
        "SOURCE_NOT_MEDIA" => {
            "the source serves a page, not the file (a login or error page?): fix the URL"
        }
        "SOURCE_REDIRECT_LOOP" => "the source redirects in a loop: fix the URL",
        "SOURCE_UNREACHABLE" => {
            "the source host did not answer: check it is up and reachable from the internet"
        }
        "SOURCE_THROTTLED" => "the source host throttled the fetch: import these rows again later",
        "SOURCE_ERROR" => {
            "the source host failed (5xx): import these rows again when it is healthy"
        }
        "SOURCE_REFUSED" => "the source refused the request: check the URL and its access rules",
        "PROCESSING_FAILED" => {
            "the Media Manager could not process a healthy-looking source: check the file opens"
        }
        "LOCAL_FILE_UNREADABLE" => {
            "the local file can't be read (permissions, or not a regular file): fix it, then run with --retry-failed"
        }
        "LOCAL_FILE_VANISHED" => {
            "the local file is gone: restore it (or fix its path), then run with --retry-failed"
        }
        "LOCAL_FILE_CHANGED" => {
            "the local file changed size while it was sent (still being written?): let it settle, then run again"
        }
        "FILE_NOT_FOUND" => {
            "the file was removed from the Media Manager while it was processed, and could not be imported again: run with --retry-failed"
        }
        "ZERO_FILE_SIZE" => {
            "the local file is empty, and Wix takes no empty file: fix it, then run with --retry-failed"
        }
        "FILE_SIZE_OVER_LIMIT" => {
            "the file is larger than the site takes: shrink or split it, then run with --retry-failed"
        }
        "NOT_FOUND_AFTER_DOUBT" | "NO_ANSWER" | "CONNECTION_REFUSED" => {
            "the Media Manager did not answer: re-run to resume"
        }
        c if c.starts_with("INVALID_") => "fix the field named in the error, then run again",
        "DUPLICATE" => "the same row appears earlier in the manifest: nothing to do",
        c if c.starts_with("HTTP_5") => "the Media Manager failed: re-run to resume",
        c if c.starts_with("HTTP_4") => "the Media Manager refused the request: see the message",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(status: ProbeStatus, content_type: Option<&str>, detail: &str) -> ProbeResult {
        ProbeResult {
            status,
            content_type: content_type.map(str::to_string),
            size: None,
            detail: detail.to_string(),
        }
    }

    /// Each thing a source can say maps to its code, with what was seen and a hint.
    #[test]
    fn probes_map_to_codes() {
        let cases = [
            (
                probe(
                    ProbeStatus::Http(404),
                    None,
                    "source answered 404 Not Found",
                ),
                "SOURCE_NOT_FOUND",
            ),
            (
                probe(ProbeStatus::Http(410), None, "source answered 410 Gone"),
                "SOURCE_NOT_FOUND",
            ),
            (
                probe(
                    ProbeStatus::Http(403),
                    None,
                    "source answered 403 Forbidden",
                ),
                "SOURCE_FORBIDDEN",
            ),
            (
                probe(ProbeStatus::Http(401), None, "source answered 401"),
                "SOURCE_FORBIDDEN",
            ),
            (
                probe(ProbeStatus::Http(429), None, "source answered 429"),
                "SOURCE_THROTTLED",
            ),
            (
                probe(ProbeStatus::Http(503), None, "source answered 503"),
                "SOURCE_ERROR",
            ),
            (
                probe(ProbeStatus::Http(400), None, "source answered 400"),
                "SOURCE_REFUSED",
            ),
            (
                probe(
                    ProbeStatus::Unreachable,
                    None,
                    "unreachable: too many redirects",
                ),
                "SOURCE_REDIRECT_LOOP",
            ),
            (
                probe(
                    ProbeStatus::Unreachable,
                    None,
                    "unreachable: connection failed",
                ),
                "SOURCE_UNREACHABLE",
            ),
            (
                probe(ProbeStatus::Ok, Some("text/html; charset=utf-8"), ""),
                "SOURCE_NOT_MEDIA",
            ),
            (
                probe(ProbeStatus::Untyped, Some("text/plain"), ""),
                "SOURCE_NOT_MEDIA",
            ),
            (
                probe(ProbeStatus::Ok, Some("image/png"), ""),
                "PROCESSING_FAILED",
            ),
        ];
        for (p, want) in cases {
            let d = of_probe(&p);
            assert_eq!(d.code, want, "{p:?}");
            assert!(!d.message.is_empty(), "{p:?}");
            assert!(!hint(d.code).is_empty(), "{want} has no hint");
        }
        let seen = of_probe(&probe(
            ProbeStatus::Http(404),
            None,
            "source answered 404 Not Found",
        ));
        assert_eq!(seen.message, "source answered 404 Not Found");
        assert!(
            of_probe(&probe(ProbeStatus::Ok, Some("text/html"), ""))
                .message
                .contains("text/html")
        );
    }
}
