//! Counters of what clients spent, served at `GET /_local/stats` so tests and benchmarks can
//! count exactly: calls per endpoint, 429s sent (in all and per endpoint), faults injected by
//! kind, files by status.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::SharedState;
use super::error::WixResult;
use super::faults::{FaultKind, Scope};

#[derive(Default)]
pub struct Stats {
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: AtomicU64,
    throttled_calls: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<BTreeMap<FaultKind, u64>>,
    upload_faults: Mutex<BTreeMap<FaultKind, u64>>,
}

impl Stats {
    pub fn count_call(&self, endpoint: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry(endpoint.to_string()).or_default() += 1;
    }

    pub fn count_throttled(&self, endpoint: &str) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
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
}

pub async fn stats_handler(State(state): State<SharedState>) -> WixResult<Json<StatsReport>> {
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
    }))
}
