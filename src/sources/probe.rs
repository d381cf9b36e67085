//! Asks a URL source whether it answers, what type it claims and how big it is — a `HEAD`, or
//! a one-byte ranged `GET` where `HEAD` is refused (405/501) — without ever downloading a body,
//! with the headers its host needs. Used by `plan --probe` and to explain a failed row.
//! Politeness: at most `per_host` requests in flight to one host (the global cap is the
//! caller's). [`Prober::digest`] is the one that reads a body: `reconcile --verify-content=source`
//! streams each source through MD5, same politeness, same headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, RANGE};

use super::SourceHeaders;
use tokio::sync::Semaphore;

use wix_media_wire::media::{media_type_of_mime, mime_of_name};
use wix_media_wire::types::MediaType;

/// What a probe found out about one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub status: ProbeStatus,
    /// The `Content-Type` the source sent.
    pub content_type: Option<String>,
    /// From `Content-Length`, or the total of a `Content-Range`.
    pub size: Option<u64>,
    /// Why a probe failed, for the report.
    pub detail: String,
}

/// A source's bytes as read by [`Prober::digest`], or a local file's by [`SourceDigest::of_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDigest {
    pub size: u64,
    /// MD5, lowercase hex (the form the Media Manager's `hash` takes).
    pub md5: String,
}

impl SourceDigest {
    /// Size and MD5 of a local file, streamed.
    pub fn of_file(path: &std::path::Path) -> Result<Self, String> {
        use md5::Digest;
        use std::io::Read;
        let mut file =
            std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let mut md5 = md5::Md5::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            md5.update(&buf[..n]);
        }
        Ok(Self {
            size,
            md5: hex::encode(md5.finalize()),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStatus {
    /// 2xx, and its type can be told.
    Ok,
    /// 2xx, but no extension, no `mime_type` and no usable `Content-Type`.
    Untyped,
    /// A non-2xx answer (after redirects).
    Http(u16),
    /// No answer at all: DNS, connection, TLS or timeout.
    Unreachable,
}

impl ProbeStatus {
    /// The `probe_status` cell.
    pub fn label(&self) -> String {
        match self {
            ProbeStatus::Ok => "ok".to_string(),
            ProbeStatus::Untyped => "untyped".to_string(),
            ProbeStatus::Http(code) => format!("http-{code}"),
            ProbeStatus::Unreachable => "unreachable".to_string(),
        }
    }

    pub fn failed(&self) -> bool {
        *self != ProbeStatus::Ok
    }
}

/// Redirects a probe follows, as browsers and reqwest do by default.
const MAX_REDIRECTS: usize = 10;

pub struct Prober {
    http: reqwest::Client,
    headers: SourceHeaders,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Prober {
    pub fn new(
        per_host: usize,
        timeout: Duration,
        headers: SourceHeaders,
    ) -> Result<Prober, reqwest::Error> {
        crate::install_crypto_provider();
        // A private source's headers must not follow it to another host: such a redirect is
        // not followed (the probe reports the redirect itself).
        let private = headers.hosts();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            let host = |u: &url::Url| u.host_str().map(str::to_ascii_lowercase);
            let first = attempt.previous().first().and_then(host);
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if first.as_ref().is_some_and(|h| private.contains(h))
                && first != host(attempt.url())
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .redirect(redirects)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!(
                "media-migrate/",
                env!("CARGO_PKG_VERSION"),
                " (plan --probe)"
            ))
            .build()?;
        Ok(Prober {
            http,
            headers,
            per_host: per_host.max(1),
            hosts: Mutex::default(),
        })
    }

    /// Probes `url`; `typed` says whether the manifest row already makes the type detectable.
    pub async fn probe(&self, url: &url::Url, typed: bool) -> ProbeResult {
        let _slot = self
            .host_slots(url)
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        let mut extra = HeaderMap::new();
        for (name, value) in self.headers.for_url(url.as_str()).unwrap_or_default() {
            if let (Ok(n), Ok(mut v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(&value),
            ) {
                v.set_sensitive(true);
                extra.insert(n, v);
            }
        }
        let head = self.http.head(url.clone()).headers(extra.clone());
        let response = match head.send().await {
            Ok(r)
                if matches!(
                    r.status(),
                    StatusCode::METHOD_NOT_ALLOWED
                        | StatusCode::NOT_IMPLEMENTED
                        // A link signed for GET (S3, GCS) refuses a HEAD.
                        | StatusCode::FORBIDDEN
                ) =>
            {
                self.http
                    .get(url.clone())
                    .headers(extra)
                    .header(RANGE, "bytes=0-0")
                    .send()
                    .await
            }
            other => other,
        };
        match response {
            Ok(r) => judge(r.status(), r.headers(), r.url(), typed),
            Err(e) => ProbeResult {
                status: ProbeStatus::Unreachable,
                content_type: None,
                size: None,
                detail: describe(&e),
            },
        }
        // The response is dropped unread: a ranged GET that sent a whole body is cut off here.
    }

    /// Downloads `url` (streamed, nothing kept) and returns its size and MD5 (lowercase hex),
    /// or why it could not be read.
    pub async fn digest(&self, url: &url::Url) -> Result<SourceDigest, String> {
        use md5::Digest;
        let _slot = self
            .host_slots(url)
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        let mut request = self.http.get(url.clone());
        for (name, value) in self.headers.for_url(url.as_str()).unwrap_or_default() {
            if let (Ok(n), Ok(mut v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(&value),
            ) {
                v.set_sensitive(true);
                request = request.header(n, v);
            }
        }
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        if !response.status().is_success() {
            return Err(format!("source answered {}", response.status()));
        }
        let mut md5 = md5::Md5::new();
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            size += chunk.len() as u64;
            md5.update(&chunk);
        }
        Ok(SourceDigest {
            size,
            md5: hex::encode(md5.finalize()),
        })
    }

    fn host_slots(&self, url: &url::Url) -> Arc<Semaphore> {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }
}

/// The verdict on an answer: status, type and size.
fn judge(
    status: StatusCode,
    headers: &HeaderMap,
    final_url: &url::Url,
    typed: bool,
) -> ProbeResult {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header(CONTENT_TYPE).map(str::to_string);
    let size = if status == StatusCode::PARTIAL_CONTENT {
        header(CONTENT_RANGE).and_then(range_total)
    } else {
        header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
    };
    let mut result = ProbeResult {
        status: ProbeStatus::Ok,
        content_type,
        size,
        detail: String::new(),
    };
    if !status.is_success() {
        // The size of an error page says nothing about the source.
        result.size = None;
        result.status = ProbeStatus::Http(status.as_u16());
        result.detail = format!("source answered {status}");
        return result;
    }
    // A redirect may land on a name with an extension; octet-stream tells Wix nothing.
    let typed = typed
        || mime_of_name(final_url.path()).is_some()
        || result
            .content_type
            .as_deref()
            .is_some_and(|ct| media_type_of_mime(ct) != MediaType::Unknown);
    if !typed {
        result.status = ProbeStatus::Untyped;
        result.detail =
            "type not detectable: no extension, no mime_type, no usable Content-Type".to_string();
    }
    result
}

/// The total of `bytes 0-0/1234`; `None` for `*` or anything malformed.
fn range_total(value: &str) -> Option<u64> {
    value
        .trim()
        .strip_prefix("bytes ")?
        .split_once('/')?
        .1
        .trim()
        .parse()
        .ok()
}

/// An error without its URL (which may carry tokens), with its causes.
fn describe(e: &reqwest::Error) -> String {
    format!("unreachable: {}", crate::api::error::without_url(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    fn url(s: &str) -> url::Url {
        s.parse().unwrap()
    }

    /// A ranged answer's size is the Content-Range total; a plain one's is Content-Length.
    #[test]
    fn reads_sizes() {
        let r = judge(
            StatusCode::PARTIAL_CONTENT,
            &headers(&[("content-range", "bytes 0-0/1234")]),
            &url("http://h/a.png"),
            false,
        );
        assert_eq!((r.status, r.size), (ProbeStatus::Ok, Some(1234)));
        let r = judge(
            StatusCode::OK,
            &headers(&[("content-length", "77")]),
            &url("http://h/a.png"),
            false,
        );
        assert_eq!(r.size, Some(77));
        assert_eq!(range_total("bytes 0-0/*"), None);
    }

    /// No extension, no mime_type and octet-stream is untyped; an image Content-Type is fine.
    #[test]
    fn judges_types() {
        let octet = headers(&[("content-type", "application/octet-stream")]);
        assert_eq!(
            judge(StatusCode::OK, &octet, &url("http://h/blob"), false).status,
            ProbeStatus::Untyped
        );
        assert_eq!(
            judge(StatusCode::OK, &octet, &url("http://h/blob"), true).status,
            ProbeStatus::Ok
        );
        let png = headers(&[("content-type", "image/png")]);
        assert_eq!(
            judge(StatusCode::OK, &png, &url("http://h/blob"), false).status,
            ProbeStatus::Ok
        );
        let r = judge(StatusCode::NOT_FOUND, &png, &url("http://h/a.png"), true);
        assert_eq!(r.status, ProbeStatus::Http(404));
        assert_eq!(r.status.label(), "http-404");
    }

    /// No more than `per_host` probes reach one host at once: each answer waits for a second
    /// request to arrive (a barrier of 2), so with a limit of 2 exactly two are ever in flight.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_to_the_per_host_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        #[derive(Clone)]
        struct Seen(Arc<(AtomicUsize, AtomicUsize, tokio::sync::Barrier)>);
        async fn answer(axum::extract::State(seen): axum::extract::State<Seen>) -> &'static str {
            let (now, max, barrier) = &*seen.0;
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(n, Ordering::SeqCst);
            barrier.wait().await;
            now.fetch_sub(1, Ordering::SeqCst);
            "ok"
        }
        let seen = Seen(Arc::new((
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            tokio::sync::Barrier::new(2),
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let prober =
            Arc::new(Prober::new(2, Duration::from_secs(10), SourceHeaders::default()).unwrap());
        let probes = (0..6).map(|i| {
            let prober = prober.clone();
            let url = url(&format!("http://{addr}/{i}.png"));
            tokio::spawn(async move { prober.probe(&url, true).await })
        });
        for probe in probes.collect::<Vec<_>>() {
            assert_eq!(probe.await.unwrap().status, ProbeStatus::Ok);
        }
        assert_eq!(seen.0.1.load(Ordering::SeqCst), 2);
    }
}
