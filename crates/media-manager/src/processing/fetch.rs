//! Fetching an import's source: one HTTP client per processor with a redirect limit, a connect
//! timeout and an overall deadline; the request's `urlParams` and `urlHeaders`; bodies streamed
//! into a blob under a size limit. Unless private sources are allowed, every hop is checked:
//! IP literals before connecting, names by a resolver that refuses internal addresses, so the
//! addresses checked are the ones connected to and DNS rebinding can't slip past.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::Policy;
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
    max_redirects: usize,
}

/// Where a redirect answer points (resolved against `from`), if it is one with a usable
/// `Location`; an http(s) URL only.
fn redirect_target(from: &Url, resp: &reqwest::Response) -> Option<Url> {
    if !resp.status().is_redirection() || resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return None;
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    from.join(location)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

impl Fetcher {
    pub fn new(config: &ProcessingConfig) -> Self {
        crate::install_crypto_provider();
        let guarded = !config.allow_private_sources;
        let mut builder = reqwest::Client::builder()
            // A proxy would connect on our behalf, past the address checks below.
            .no_proxy()
            // Redirects are followed by `open`, hop by hop, so each is checked and no header
            // of the source's (nor a Referer carrying its `urlParams`) follows it elsewhere.
            .redirect(Policy::none())
            .referer(false)
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
            max_redirects: config.max_redirects,
        }
    }

    /// Sends the request and checks the answer: a 2xx whose announced length fits `limit`.
    /// Redirects are followed as curl follows them: `urlHeaders` go only to the source's own
    /// origin (scheme, host and port), no `Referer` is ever sent, and each hop's address is
    /// checked before it is connected to.
    pub async fn open(
        &self,
        url: &str,
        req: &ImportFileRequest,
        limit: u64,
    ) -> Result<Source, Failure> {
        let mut url = Url::parse(url)
            .map_err(|_| Failure::new("SOURCE_URL_INVALID", "the source URL is not valid"))?;
        if let Some(params) = req.url_params.as_ref().filter(|p| !p.is_empty()) {
            url.query_pairs_mut().extend_pairs(params);
        }
        let origin = url.origin();
        let headers = header_map(req)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut hops = 0;
        let resp = loop {
            if self.guarded {
                check_literal(&url).map_err(|e| Failure::new("SOURCE_FORBIDDEN", e.to_string()))?;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut request = self.client.get(url.clone()).timeout(left);
            if url.origin() == origin {
                request = request.headers(headers.clone());
            }
            let resp = request.send().await.map_err(|e| self.classify(e))?;
            let Some(next) = redirect_target(&url, &resp) else {
                break resp;
            };
            if hops >= self.max_redirects {
                return Err(Failure::new(
                    "SOURCE_TOO_MANY_REDIRECTS",
                    TooManyRedirects {
                        max: self.max_redirects,
                    }
                    .to_string(),
                ));
            }
            hops += 1;
            url = next;
        };
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

/// Whether a server-side fetch must not reach `ip` on a user's behalf: anything outside
/// the public unicast space (every entry of IANA's IPv4 and IPv6 special-purpose address
/// registries, multicast, the reserved 240/4), an IPv4 address however it is dressed as IPv6
/// (mapped, compatible, NAT64, 6to4, Teredo), and the addresses of this host itself.
pub fn is_internal(ip: IpAddr) -> bool {
    is_special(ip) || is_own_address(ip)
}

/// The address ranges alone (no look at this host's interfaces).
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => is_special_v6(v6),
    }
}

fn is_special_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    a == 0                                   // "this network" 0/8
        || a == 10                           // private 10/8
        || (a == 100 && (b & 0xc0) == 64)    // shared address space (CGNAT) 100.64/10
        || a == 127                          // loopback 127/8
        || (a == 169 && b == 254)            // link local 169.254/16
        || (a == 172 && (b & 0xf0) == 16)    // private 172.16/12
        || (a == 192 && b == 0 && c == 0)    // IETF protocol assignments 192.0.0/24
        || (a == 192 && b == 0 && c == 2)    // documentation TEST-NET-1
        || (a == 192 && b == 31 && c == 196) // AS112-v4
        || (a == 192 && b == 52 && c == 193) // AMT
        || (a == 192 && b == 88 && c == 99)  // deprecated 6to4 relay anycast
        || (a == 192 && b == 168)            // private 192.168/16
        || (a == 192 && b == 175 && c == 48) // direct delegation AS112
        || (a == 198 && (b & 0xfe) == 18)    // benchmarking 198.18/15
        || (a == 198 && b == 51 && c == 100) // documentation TEST-NET-2
        || (a == 203 && b == 0 && c == 113)  // documentation TEST-NET-3
        || a >= 224 // multicast 224/4, reserved 240/4, limited broadcast
}

fn is_special_v6(v6: Ipv6Addr) -> bool {
    let seg = v6.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-mapped ::ffff:0:0/96: the IPv4 address is what is reached.
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_special_v4(v4);
    }
    // ::/96 (unspecified, loopback, and the deprecated IPv4-compatible addresses, which some
    // stacks still route to the IPv4 address) and the rest of ::/8: none of it is public.
    if seg[0] == 0 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0 {
        return true;
    }
    // NAT64 well-known prefix 64:ff9b::/96: a translator reaches the embedded IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_special_v4(embedded(seg[6], seg[7]));
    }
    // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): translated inside someone's network.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        return true;
    }
    // 6to4 2002::/16: the IPv4 address of the tunnel end is in bits 16..48.
    if seg[0] == 0x2002 {
        return is_special_v4(embedded(seg[1], seg[2]));
    }
    // Only global unicast 2000::/3 is public (this drops ULA fc00::/7, link-local fe80::/10,
    // site-local fec0::/10, multicast ff00::/8, discard 100::/64, SRv6 5f00::/16 ...).
    if (seg[0] & 0xe000) != 0x2000 {
        return true;
    }
    // Inside 2000::/3: IETF protocol assignments 2001::/23 (Teredo 2001::/32, benchmarking,
    // AMT, ORCHID ...), documentation 2001:db8::/32 and 3fff::/20, direct delegation AS112.
    (seg[0] == 0x2001 && (seg[1] < 0x0200 || seg[1] == 0x0db8))
        || (seg[0] == 0x3fff && seg[1] < 0x1000)
        || (seg[0] == 0x2620 && seg[1] == 0x004f && seg[2] == 0x8000)
}

/// Whether `ip` is one of this host's own addresses: binding a socket to it succeeds only
/// then. (A server listening beyond loopback on all interfaces would otherwise fetch from
/// itself, or from anything else listening on the host's public address.)
fn is_own_address(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
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

    /// Issue 13, hole 7: every special-purpose range of the IANA registries, and IPv4
    /// addresses dressed as IPv6 (compatible, NAT64, 6to4, Teredo), are refused up front;
    /// the same translations of public IPv4 addresses pass where they are routable.
    #[test]
    fn hole_7_special_purpose_ranges_refused() {
        let refused = [
            "::127.0.0.1",
            "::a00:1",
            "::8.8.8.8",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::808:808",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "5f00::1",
            "fec0::1",
            "2620:4f:8000::1",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "250.1.2.3",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "192.88.99.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "100.127.255.254",
            "::ffff:198.18.0.1",
        ];
        for ip in refused {
            assert!(is_special(ip.parse().expect("ip")), "{ip} is refused");
        }
        for ip in [
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2a00:1450:4001::1",
            "198.20.0.1",
            "223.255.255.1",
            "192.0.1.1",
        ] {
            assert!(!is_special(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    /// Issue 13, hole 7: the host's own addresses are refused, whatever their range: here the
    /// address this host would send from (when it has a route), and the listen-all addresses.
    #[test]
    fn hole_7_own_addresses_refused() {
        assert!(is_internal("127.0.0.1".parse().expect("ip")));
        let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
        if probe.connect("192.0.2.1:9").is_ok()
            && let Ok(local) = probe.local_addr()
            && !local.ip().is_unspecified()
        {
            assert!(is_own_address(local.ip()), "{} is this host's", local.ip());
            assert!(is_internal(local.ip()));
        }
        assert!(!is_own_address("8.8.8.8".parse().expect("ip")));
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
