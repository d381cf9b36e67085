//! Which `Host` (and `Origin`) a request may name. A browser page can make a name of its own
//! resolve to 127.0.0.1 (DNS rebinding) and then read this server as its own origin; naming
//! the server by an address, `localhost` (on loopback), the public URL's host or an
//! `--allowed-host` is what a rebinding page can't do, so anything else is refused (403), as
//! Vite's and webpack-dev-server's host checks do. No CORS headers are ever sent, and a
//! request whose `Origin` is another site is refused too.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::SharedState;
use super::error::WixError;

#[derive(Debug, Clone)]
pub struct HostPolicy {
    bound: SocketAddr,
    /// Lowercase names: exact, or `.domain` for the domain and its subdomains.
    names: Vec<String>,
    /// Ports an `Origin` of this server may carry.
    ports: Vec<u16>,
}

impl HostPolicy {
    pub fn new(bound: SocketAddr, public_url: &str, allowed: &[String]) -> Self {
        let mut names: Vec<String> = allowed
            .iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let mut ports = vec![bound.port()];
        if bound.ip().is_loopback() {
            names.push("localhost".to_string());
        }
        if let Ok(url) = url::Url::parse(public_url) {
            if let Some(host) = url.host_str() {
                names.push(unbracket(host).to_ascii_lowercase());
            }
            ports.extend(url.port_or_known_default());
        }
        Self {
            bound,
            names,
            ports,
        }
    }

    /// Whether `host` (no port, IPv6 without brackets) names this server.
    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = host.parse::<IpAddr>() {
            let listen = self.bound.ip();
            // An address can't be rebound: a page at http://<address> *is* that origin.
            return listen.is_unspecified()
                || ip == listen
                || (listen.is_loopback() && ip.is_loopback())
                || self.names.contains(&host);
        }
        self.names.iter().any(|n| match n.strip_prefix('.') {
            Some(domain) => host == domain || host.ends_with(n.as_str()),
            None => *n == host,
        })
    }

    /// Checks the request's host (from an absolute URI, else `Host`; a request naming neither,
    /// which no browser sends, passes) and its `Origin`, if any.
    fn check(&self, request: &Request) -> Result<(), WixError> {
        let authority = match request.uri().authority() {
            Some(a) => Some(a.as_str().to_string()),
            None => header_text(request.headers(), header::HOST),
        };
        if let Some(authority) = authority {
            let host = host_of(&authority).ok_or_else(refused_host)?;
            if !self.allows_host(host) {
                return Err(refused_host());
            }
        }
        if let Some(origin) = header_text(request.headers(), header::ORIGIN) {
            let same_site = url::Url::parse(&origin).ok().is_some_and(|o| {
                o.host_str().is_some_and(|h| self.allows_host(unbracket(h)))
                    && o.port_or_known_default()
                        .is_some_and(|p| self.ports.contains(&p))
            });
            if !same_site {
                return Err(WixError::forbidden(
                    "ORIGIN_NOT_ALLOWED",
                    "Requests from other web origins are refused (this server sends no CORS headers)",
                ));
            }
        }
        Ok(())
    }
}

fn refused_host() -> WixError {
    WixError::forbidden(
        "HOST_NOT_ALLOWED",
        "The Host header names a host this server doesn't answer to; name it by its address, or start it with --allowed-host",
    )
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default())
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → the host; `None` when malformed.
fn host_of(authority: &str) -> Option<&str> {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        return (after.is_empty() || after.starts_with(':')).then_some(v6);
    }
    let host = authority.split_once(':').map_or(authority, |(h, _)| h);
    (!host.is_empty()).then_some(host)
}

/// The layer in front of every route.
pub async fn host_guard(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    match state.hosts.check(&request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bound: &str, allowed: &[&str]) -> HostPolicy {
        let bound: SocketAddr = bound.parse().expect("addr");
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(bound, &format!("http://{bound}"), &allowed)
    }

    #[test]
    fn loopback_answers_to_its_addresses_and_localhost() {
        let p = policy("127.0.0.1:7777", &[]);
        for ok in ["127.0.0.1", "localhost", "LOCALHOST", "::1", "127.0.0.2"] {
            assert!(p.allows_host(ok), "{ok}");
        }
        for bad in ["evil.example", "localhost.evil.example", "10.0.0.1", ""] {
            assert!(!p.allows_host(bad), "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_add_names_and_domains() {
        let p = policy("10.0.0.5:80", &["media.example", ".corp.example"]);
        for ok in [
            "10.0.0.5",
            "media.example",
            "corp.example",
            "a.corp.example",
        ] {
            assert!(p.allows_host(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "127.0.0.1",
            "xcorp.example",
            "media.example.evil",
        ] {
            assert!(!p.allows_host(bad), "{bad}");
        }
        assert!(policy("0.0.0.0:80", &[]).allows_host("192.0.2.7"));
    }

    #[test]
    fn authorities_split() {
        assert_eq!(host_of("a.example:80"), Some("a.example"));
        assert_eq!(host_of("[::1]:80"), Some("::1"));
        assert_eq!(host_of("[::1]"), Some("::1"));
        assert_eq!(host_of("[::1]x"), None);
        assert_eq!(host_of(":80"), None);
    }
}
