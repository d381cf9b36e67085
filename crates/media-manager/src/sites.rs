//! Many sites behind one listener, the way Wix serves many sites: each site is a whole local
//! Media Manager of its own (database and blobs under `DATA/sites/<id>/`, keys, rate limit,
//! stats, processing), and this module only routes a request to it — API calls by their
//! `wix-site-id` header, the URLs a site hands out (uploads, downloads, file URLs) by their
//! `/_site/<id>` prefix, `/_local/stats` by `?site=` (or the header). It owns no storage of its own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use wix_media_wire::site::valid_site_id;

use super::error::WixError;
use super::{ServeError, ServerConfig, SharedState};

/// One site of a multi-site server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    /// The `wix-site-id` it answers to; also the name of its data directory.
    pub id: String,
    /// Keys accepted for this site only.
    pub api_keys: Vec<String>,
    /// Requests per minute for this site; `None` takes the server's `rate_limit_per_minute`.
    pub rate_limit_per_minute: Option<u32>,
}

/// The prefix of the URLs a site hands out, under the server's base URL.
pub fn site_prefix(id: &str) -> String {
    format!("/_site/{id}")
}

/// The config one site runs with: the server's, narrowed to the site.
fn site_config(base: &ServerConfig, site: &SiteConfig, public_base: &str) -> ServerConfig {
    let mut config = base.clone();
    config.sites = Vec::new();
    config.data_dir = base.data_dir.join("sites").join(&site.id);
    config.api_keys = site.api_keys.clone();
    config.site_id = site.id.clone();
    config.public_url = Some(format!("{public_base}{}", site_prefix(&site.id)));
    if site.rate_limit_per_minute.is_some() {
        config.rate_limit_per_minute = site.rate_limit_per_minute;
    }
    config
}

struct Sites {
    routers: BTreeMap<String, Router>,
}

/// Builds every site (each its own storage, guard and stats) and the router in front of them.
pub(crate) async fn build_many(
    config: &ServerConfig,
    bound: SocketAddr,
) -> Result<(Router, Vec<SharedState>), ServeError> {
    let public_base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_string();
    let mut routers = BTreeMap::new();
    let mut states = Vec::new();
    for site in &config.sites {
        if !valid_site_id(&site.id) {
            return Err(ServeError::Init(format!(
                "site id {:?} is not 1-64 of A-Z a-z 0-9 . _ - (not starting with .)",
                site.id
            )));
        }
        let (router, state) = super::build(site_config(config, site, &public_base), bound).await?;
        if routers.insert(site.id.clone(), router).is_some() {
            return Err(ServeError::Init(format!("site {} is named twice", site.id)));
        }
        states.push(state);
    }
    let sites = Arc::new(Sites { routers });
    Ok((Router::new().fallback(dispatch).with_state(sites), states))
}

/// The site a request names in its `wix-site-id` header.
fn header_site(request: &Request) -> Option<String> {
    request
        .headers()
        .get("wix-site-id")
        .map(|v| v.to_str().unwrap_or_default().to_string())
}

/// Hands the request to its site's router, or answers for the server when no site is named.
async fn dispatch(State(sites): State<Arc<Sites>>, mut request: Request) -> Response {
    let path = request.uri().path().to_string();
    let site = if let Some(rest) = path.strip_prefix("/_site/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(uri) = with_path(request.uri(), tail) else {
            return WixError::bad_request("BAD_PATH", "Malformed site path").into_response();
        };
        *request.uri_mut() = uri;
        Some(id.to_string())
    } else if path == "/_local/stats" {
        match query_site(request.uri()).or_else(|| header_site(&request)) {
            Some(id) => Some(id),
            None => {
                return WixError::bad_request(
                    "MISSING_SITE",
                    "This server serves several sites: name one with /_local/stats?site=ID \
                     (or the wix-site-id header)",
                )
                .into_response();
            }
        }
    } else if path == "/openapi.json" {
        sites.routers.keys().next().cloned()
    } else if path.starts_with("/site-media/") {
        match header_site(&request) {
            Some(id) => Some(id),
            None => {
                return WixError::bad_request(
                    "MISSING_SITE_ID",
                    "Calls must name their site in the wix-site-id header",
                )
                .into_response();
            }
        }
    } else {
        None
    };
    let Some(router) = site.as_deref().and_then(|id| sites.routers.get(id)) else {
        return match site {
            // Not said whether the site exists: the same answer as a wrong key would get.
            Some(_) => WixError::forbidden(
                "SITE_MISMATCH",
                "The credentials do not grant access to the site named",
            )
            .into_response(),
            None => WixError::not_found("NOT_FOUND", "No such endpoint").into_response(),
        };
    };
    match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `uri` with its path replaced by `/tail` (what follows `/_site/<id>`), query kept.
fn with_path(uri: &Uri, tail: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(q) => format!("/{tail}?{q}"),
        None => format!("/{tail}"),
    };
    path_and_query.parse().ok()
}

/// `site=` of the query string, decoded.
fn query_site(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefix is cut and the query kept.
    #[test]
    fn site_prefix_is_cut_from_the_path() {
        let uri: Uri = "/_site/a/_download/f/src?exp=1&sig=2".parse().unwrap();
        let cut = with_path(&uri, "_download/f/src").unwrap();
        assert_eq!(cut.to_string(), "/_download/f/src?exp=1&sig=2");
    }
}
