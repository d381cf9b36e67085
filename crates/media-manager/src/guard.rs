//! What every API call passes through before its handler: counting, authentication, the
//! per-site rate limit, and the injected faults (latency, 503, lost response, slow response,
//! performed then 502/503, 429 without `Retry-After`) — and what every upload-URL call passes
//! through: the same faults of the route, drawn apart.

use std::sync::Mutex;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::conn::ConnMeta;
use super::error::{WixError, WixResult};
use super::faults::{FaultKind, Scope};
use super::{ServerConfig, SharedState};
use wix_media_wire::bucket::TokenBucket;

/// The rate limit of the one site this server stands for.
pub struct Guard {
    bucket: Option<Mutex<TokenBucket>>,
    omit_retry_after: bool,
}

impl Guard {
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            bucket: config.rate_limit_per_minute.map(|rpm| {
                Mutex::new(TokenBucket::per_minute(
                    rpm,
                    config.rate_limit_burst,
                    Instant::now(),
                ))
            }),
            omit_retry_after: config.faults.omit_retry_after,
        }
    }

    /// Admits a call or answers 429 with the whole seconds until a token is free (at least 1),
    /// or with no `Retry-After` at all when that fault is on.
    fn admit(&self) -> WixResult<()> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        bucket.try_take(Instant::now()).map_err(|wait| {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            WixError::too_many_requests((!self.omit_retry_after).then_some(secs))
        })
    }
}

/// Checks `Authorization` (a key, with or without `Bearer`) and `wix-site-id`. A keyed server
/// requires `wix-site-id`, as Wix does for API-key calls (400 when missing); a keyless one
/// takes it as optional. Keys are compared in constant time and never echoed.
pub fn authenticate(config: &ServerConfig, headers: &HeaderMap) -> WixResult<()> {
    check_key(config, headers)?;
    match headers.get("wix-site-id") {
        Some(site) if site.as_bytes() != config.site_id.as_bytes() => Err(WixError::forbidden(
            "SITE_MISMATCH",
            "The credentials do not grant access to the site named in wix-site-id",
        )),
        None if !config.api_keys.is_empty() => Err(WixError::bad_request(
            "MISSING_SITE_ID",
            "Calls with an API key must name their site in the wix-site-id header",
        )),
        _ => Ok(()),
    }
}

/// The key alone (what `/_local/stats` asks for): 401 when keys are configured and none of
/// them was presented.
pub fn check_key(config: &ServerConfig, headers: &HeaderMap) -> WixResult<()> {
    if config.api_keys.is_empty() {
        return Ok(());
    }
    let raw = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| WixError::unauthenticated("Missing Authorization header"))?;
    let presented = raw.strip_prefix("Bearer ").unwrap_or(raw).trim().as_bytes();
    let known = config.api_keys.iter().fold(false, |found, k| {
        found | bool::from(k.as_bytes().ct_eq(presented))
    });
    if known {
        Ok(())
    } else {
        Err(WixError::unauthenticated("Invalid API key or access token"))
    }
}

pub async fn api_guard(
    State(state): State<SharedState>,
    ConnectInfo(conn): ConnectInfo<ConnMeta>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched
        .as_ref()
        .map_or_else(|| request.uri().path(), |m| m.as_str());
    let endpoint = format!("{} {}", request.method(), route);
    state.stats.count_call(&endpoint);
    if let Err(e) = authenticate(&state.config, request.headers()) {
        return e.into_response();
    }
    if let Err(e) = state.guard.admit() {
        state.stats.count_throttled(&endpoint);
        return e.into_response();
    }
    if let Some(delay) = state.faults.latency() {
        state.stats.count_fault(FaultKind::Latency, Scope::Api);
        tokio::time::sleep(delay).await;
    }
    with_faults(&state, Scope::Api, &conn, request, next).await
}

/// The faults of the upload URLs (`PUT` and tus): the same 503s, lost and slow answers and
/// performed-then-502/503 as the API's, drawn from streams of their own. Upload URLs carry
/// their own authorisation and spend no API budget, so nothing else of the API guard applies.
pub async fn upload_guard(
    State(state): State<SharedState>,
    ConnectInfo(conn): ConnectInfo<ConnMeta>,
    request: Request,
    next: Next,
) -> Response {
    with_faults(&state, Scope::Upload, &conn, request, next).await
}

/// Runs the call through the injected faults of `scope`: a 503 before anything is done, or
/// the call performed and then its answer lost, held past the client's patience, or replaced
/// by a gateway's 502/503.
async fn with_faults(
    state: &SharedState,
    scope: Scope,
    conn: &ConnMeta,
    request: Request,
    next: Next,
) -> Response {
    let faults = &state.faults;
    if faults.strikes_in(FaultKind::Error503, scope) {
        state.stats.count_fault(FaultKind::Error503, scope);
        return WixError::unavailable().into_response();
    }
    let lose = faults.strikes_in(FaultKind::LostResponse, scope);
    let gateway = !lose && faults.strikes_in(FaultKind::PerformedError, scope);
    let slow = if lose || gateway {
        None
    } else {
        faults.slow_response(scope)
    };
    let response = next.run(request).await;
    if lose {
        // The work is done and committed; the caller will never hear of it.
        state.stats.count_fault(FaultKind::LostResponse, scope);
        conn.kill.pull();
    } else if gateway {
        // Done and committed, but what comes back is a gateway's error, as when a proxy loses
        // the backend's answer: the status can't tell the caller whether the work was done.
        state.stats.count_fault(FaultKind::PerformedError, scope);
        return WixError::gateway(faults.gateway_status()).into_response();
    } else if let Some(hold) = slow {
        // Done and committed too, but answered late: a client that gave up first has the
        // same doubt as after a lost response.
        state.stats.count_fault(FaultKind::SlowResponse, scope);
        tokio::time::sleep(hold).await;
    }
    response
}
