//! Fetching an import's source: one HTTP client per processor with a redirect limit, a connect
//! timeout and an overall deadline; the request's `urlParams` and `urlHeaders`; bodies streamed
//! into a blob under a size limit. Unless private sources are allowed, every hop is checked:
//! IP literals before connecting, names by a resolver that refuses internal addresses, so the
//! addresses checked are the ones connected to and DNS rebinding can't slip past.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::{Attempt, Policy};
use url::{Host, Url};

use super::{Failure, ProcessingConfig};
use crate::blobs::{BlobError, BlobWriter};
use wix_media_wire::types::ImportFileRequest;

/// Longest wait for a connection, within the overall fetch deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error(
    "the source's host {host} is at {ip}, an internal address, and private sources are not allowed"
)]
struct ForbiddenAddress {
    host: String,
    ip: IpAddr,
}

#[derive(Debug, thiserror::Error)]
#[error("the source redirected more than {max} times")]
struct TooManyRedirects {
    max: usize,
}

/// The HTTP side of processing, built once per processor.
pub struct Fetcher {
    client: reqwest::Client,
    guarded: bool,
    timeout: Duration,
}

impl Fetcher {
    pub fn new(config: &ProcessingConfig) -> Self {
        crate::install_crypto_provider();
        let guarded = !config.allow_private_sources;
        let max = config.max_redirects;
        let redirects = Policy::custom(move |attempt: Attempt<'_>| {
            if attempt.previous().len() > max {
                return attempt.error(TooManyRedirects { max });
            }
            match guarded.then(|| check_literal(attempt.url())) {
                Some(Err(forbidden)) => attempt.error(forbidden),
                _ => attempt.follow(),
            }
        });
        let mut builder = reqwest::Client::builder()
            // A proxy would connect on our behalf, past the address checks below.
            .no_proxy()
            .redirect(redirects)
            .connect_timeout(CONNECT_TIMEOUT.min(config.fetch_timeout))
            .timeout(config.fetch_timeout);
        if guarded {
            builder = builder.dns_resolver(GuardedResolver);
        }
        let client = builder
            .build()
            .expect("an HTTP client with the installed crypto provider always builds");
        Self {
            client,
            guarded,
            timeout: config.fetch_timeout,
        }
    }

    /// Sends the request and checks the answer: a 2xx whose announced length fits `limit`.
    pub async fn open(
        &self,
        url: &str,
        req: &ImportFileRequest,
        limit: u64,
    ) -> Result<Source, Failure> {
        let mut url = Url::parse(url)
            .map_err(|_| Failure::new("SOURCE_URL_INVALID", "the source URL is not valid"))?;
        if self.guarded {
            check_literal(&url).map_err(|e| Failure::new("SOURCE_FORBIDDEN", e.to_string()))?;
        }
        if let Some(params) = req.url_params.as_ref().filter(|p| !p.is_empty()) {
            url.query_pairs_mut().extend_pairs(params);
        }
        let headers = header_map(req)?;
        let resp = self
            .client
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Failure::new(
                "SOURCE_HTTP_ERROR",
                format!("source answered {status}"),
            ));
        }
        if let Some(len) = resp.content_length().filter(|len| *len > limit) {
            return Err(too_large(len, limit));
        }
        Ok(Source { resp })
    }

    /// A client error in words that name no URL (its query may carry a signature).
    fn classify(&self, err: reqwest::Error) -> Failure {
        if let Some(forbidden) = find_cause::<ForbiddenAddress>(&err) {
            return Failure::new("SOURCE_FORBIDDEN", forbidden.to_string());
        }
        if let Some(too_many) = find_cause::<TooManyRedirects>(&err) {
            return Failure::new("SOURCE_TOO_MANY_REDIRECTS", too_many.to_string());
        }
        if err.is_timeout() {
            return Failure::new(
                "SOURCE_TIMEOUT",
                format!(
                    "the source did not deliver the file within {}s",
                    self.timeout.as_secs_f64()
                ),
            );
        }
        let cause = root_cause(&err);
        if err.is_connect() {
            return Failure::new(
                "SOURCE_UNREACHABLE",
                format!("can't connect to the source: {cause}"),
            );
        }
        Failure::new(
            "SOURCE_READ_ERROR",
            format!("reading from the source failed: {cause}"),
        )
    }
}

/// An answered source whose body is still to be read.
pub struct Source {
    resp: reqwest::Response,
}

impl Source {
    pub fn content_type(&self) -> Option<String> {
        let value = self.resp.headers().get(CONTENT_TYPE)?;
        value.to_str().ok().map(str::to_string)
    }

    /// Copies the body into `writer` until `head_len` bytes (or all of it) are in, and
    /// returns those first bytes for type detection.
    pub async fn copy_head(
        &mut self,
        fetcher: &Fetcher,
        writer: &mut BlobWriter,
        head_len: usize,
    ) -> Result<Vec<u8>, Failure> {
        let mut head = Vec::with_capacity(head_len.min(16 * 1024));
        while head.len() < head_len {
            match self.next_chunk(fetcher, writer).await? {
                Some(chunk) => {
                    let room = head_len - head.len();
                    head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                None => break,
            }
        }
        Ok(head)
    }

    /// Copies the rest of the body into `writer`.
    pub async fn copy_rest(
        &mut self,
        fetcher: &Fetcher,
        writer: &mut BlobWriter,
    ) -> Result<(), Failure> {
        while self.next_chunk(fetcher, writer).await?.is_some() {}
        Ok(())
    }

    async fn next_chunk(
        &mut self,
        fetcher: &Fetcher,
        writer: &mut BlobWriter,
    ) -> Result<Option<bytes::Bytes>, Failure> {
        let Some(chunk) = self.resp.chunk().await.map_err(|e| fetcher.classify(e))? else {
            return Ok(None);
        };
        match writer.write(&chunk).await {
            Ok(()) => Ok(Some(chunk)),
            Err(BlobError::TooLarge { limit }) => {
                Err(too_large(writer.size() + chunk.len() as u64, limit))
            }
            Err(BlobError::Io(e)) => Err(Failure::internal("writing the fetched file", &e)),
        }
    }
}

fn too_large(size: u64, limit: u64) -> Failure {
    Failure::new(
        "FILE_TOO_LARGE",
        format!("the source is over the limit of {limit} bytes (at least {size} bytes)"),
    )
}

fn header_map(req: &ImportFileRequest) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for (name, value) in req.url_headers.iter().flatten() {
        // Only the name goes into the message: values may be tokens.
        let invalid = || {
            Failure::new(
                "SOURCE_REQUEST_INVALID",
                format!("urlHeaders has an invalid header `{name}`"),
            )
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

fn find_cause<'e, E: StdError + 'static>(err: &'e (dyn StdError + 'static)) -> Option<&'e E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Refuses a URL whose host is an internal IP literal (names are checked when resolved).
fn check_literal(url: &Url) -> Result<(), ForbiddenAddress> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_internal(ip) {
        return Err(ForbiddenAddress {
            host: ip.to_string(),
            ip,
        });
    }
    Ok(())
}

/// Loopback, private, link-local, unique-local, shared (CGNAT), unspecified, broadcast or
/// multicast: addresses a server-side fetch must not reach on a user's behalf.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Deprecated site-local fec0::/10, still routed inside some networks.
                || (v6.segments()[0] & 0xffc0) == 0xfec0
        }
    }
}

/// Resolves with the system resolver and refuses a name if any of its addresses is internal.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
                let ip = bad.ip();
                return Err(Box::new(ForbiddenAddress { host, ip }) as Box<_>);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Internal ranges of both families are refused, mapped IPv4 included; public ones pass.
    #[test]
    fn classifies_internal_addresses() {
        let internal = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ];
        for ip in internal {
            assert!(is_internal(ip.parse().expect("ip")), "{ip} is internal");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    /// Literal hosts are checked by the URL alone; names are left to the resolver.
    #[test]
    fn checks_literal_hosts() {
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(check_literal(&url("http://127.0.0.1:8080/a.png")).is_err());
        assert!(check_literal(&url("http://[::1]/a.png")).is_err());
        assert!(check_literal(&url("https://8.8.8.8/a.png")).is_ok());
        assert!(check_literal(&url("https://cdn.example/a.png")).is_ok());
    }
}
