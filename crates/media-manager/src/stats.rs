//! Counters of what clients spent, served at `GET /_local/stats` so tests and benchmarks can
//! count exactly: calls per endpoint, 429s sent (in all and per endpoint), faults injected by
//! kind, files by status; and, with `?timeline=true`, when each call arrived and each 429 was
//! sent, so benchmarks can measure the rate the server saw and the budget it admitted.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::SharedState;
use super::error::WixResult;
use super::faults::{FaultKind, Scope};

/// Instants kept per kind in the timeline; later ones are counted in `dropped` only, so a
/// long-running server holds at most ~16 MB of them.
pub const TIMELINE_CAP: usize = 1 << 20;

pub struct Stats {
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: AtomicU64,
    throttled_calls: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<BTreeMap<FaultKind, u64>>,
    upload_faults: Mutex<BTreeMap<FaultKind, u64>>,
    /// When the server started (within microseconds of its rate limit's bucket, built full).
    started: Instant,
    timeline: Mutex<Timeline>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            calls: Mutex::default(),
            throttled: AtomicU64::default(),
            throttled_calls: Mutex::default(),
            faults: Mutex::default(),
            upload_faults: Mutex::default(),
            started: Instant::now(),
            timeline: Mutex::default(),
        }
    }
}

impl Stats {
    fn since_start_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    pub fn count_call(&self, endpoint: &str) {
        let at = self.since_start_us();
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry(endpoint.to_string()).or_default() += 1;
        drop(calls);
        let mut timeline = self.timeline.lock().unwrap_or_else(|p| p.into_inner());
        timeline.push_received(endpoint, at);
    }

    pub fn count_throttled(&self, endpoint: &str) {
        let at = self.since_start_us();
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_throttled(at);
        let mut calls = self
            .throttled_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *calls.entry(endpoint.to_string()).or_default() += 1;
    }

    /// One injected fault, counted in all and, on an upload route, among the uploads' too.
    pub fn count_fault(&self, kind: FaultKind, scope: Scope) {
        let bump = |map: &Mutex<BTreeMap<FaultKind, u64>>| {
            *map.lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(kind)
                .or_default() += 1;
        };
        bump(&self.faults);
        if scope == Scope::Upload {
            bump(&self.upload_faults);
        }
    }
}

/// When calls arrived and 429s were sent, in microseconds since the server started: the
/// server's own clock, for what a benchmark can't learn from totals (the rate over a window,
/// the budget admitted before and after an instant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// The server's clock when this report was made.
    pub now_us: u64,
    /// Arrival of each call (429s included), in arrival order, as the guard first counts it.
    pub received_us: Vec<u64>,
    /// Each 429 sent, when the rate limit refused it.
    pub throttled_us: Vec<u64>,
    /// Per endpoint (as in `calls`): the first and the last arrival.
    pub endpoints: BTreeMap<String, [u64; 2]>,
    /// Instants not kept past `TIMELINE_CAP` (received and throttled together).
    pub dropped: u64,
}

impl Timeline {
    fn push_received(&mut self, endpoint: &str, at: u64) {
        if self.received_us.len() < TIMELINE_CAP {
            self.received_us.push(at);
        } else {
            self.dropped += 1;
        }
        match self.endpoints.get_mut(endpoint) {
            Some(span) => span[1] = at,
            None => {
                self.endpoints.insert(endpoint.to_string(), [at, at]);
            }
        }
    }

    fn push_throttled(&mut self, at: u64) {
        if self.throttled_us.len() < TIMELINE_CAP {
            self.throttled_us.push(at);
        } else {
            self.dropped += 1;
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    /// `true` (or `1`) adds the timeline.
    timeline: Option<String>,
}

/// The JSON of `/_local/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsReport {
    /// `"METHOD /site-media/v1/..."` (the route's template) → calls received, 429s included.
    pub calls: BTreeMap<String, u64>,
    pub total_calls: u64,
    /// Calls answered 429 by the rate limit.
    pub throttled: u64,
    /// The same 429s by endpoint (as in `calls`), to tell whose calls the limit stopped.
    pub throttled_calls: BTreeMap<String, u64>,
    /// Faults injected, by kind (`latency`, `error503`, `lostResponse`, `slowResponse`,
    /// `performedError`, `itemFailure`, `processingFailure`).
    pub faults: BTreeMap<String, u64>,
    /// The faults of `faults` that struck upload URLs (`PUT` and tus), by kind.
    #[serde(default)]
    pub upload_faults: BTreeMap<String, u64>,
    /// Files by operation status (`PENDING`, `READY`, `FAILED`), trash included.
    pub files: BTreeMap<String, u64>,
    /// Only with `?timeline=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

/// The counters; a keyed server asks for one of its keys (they say what clients are doing).
pub(crate) async fn stats_handler(
    State(state): State<SharedState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<StatsQuery>,
) -> WixResult<Json<StatsReport>> {
    super::guard::check_key(&state.config, &headers)?;
    let files = state
        .store
        .call(|conn| super::store::files::count_by_status(conn))
        .await?
        .into_iter()
        .collect();
    let calls = state
        .stats
        .calls
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let by_name = |map: &Mutex<BTreeMap<FaultKind, u64>>| {
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.name().to_string(), *v))
            .collect()
    };
    let faults = by_name(&state.stats.faults);
    let upload_faults = by_name(&state.stats.upload_faults);
    Ok(Json(StatsReport {
        total_calls: calls.values().sum(),
        calls,
        throttled: state.stats.throttled.load(Ordering::Relaxed),
        throttled_calls: state
            .stats
            .throttled_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        faults,
        upload_faults,
        files,
        timeline: matches!(query.timeline.as_deref(), Some("true" | "1")).then(|| {
            let mut timeline = state
                .stats
                .timeline
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            timeline.now_us = state.stats.since_start_us();
            timeline
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call and every 429 lands in the timeline, in order, with its endpoint's span.
    #[test]
    fn timeline_records_arrivals_and_429s() {
        let stats = Stats::default();
        stats.count_call("POST /a");
        stats.count_call("GET /b");
        stats.count_throttled("GET /b");
        stats.count_call("POST /a");
        let t = stats.timeline.lock().unwrap().clone();
        assert_eq!(t.received_us.len(), 3);
        assert_eq!(t.throttled_us.len(), 1);
        assert!(t.received_us.windows(2).all(|w| w[0] <= w[1]));
        assert!(t.received_us[1] <= t.throttled_us[0]);
        let a = t.endpoints["POST /a"];
        assert_eq!(a, [t.received_us[0], t.received_us[2]]);
        assert_eq!(t.endpoints["GET /b"], [t.received_us[1]; 2]);
        assert_eq!(t.dropped, 0);
    }
}
