//! Fault injection for the local Media Manager: latency, 503s, lost responses, answers held
//! past the client's patience, calls performed and then answered 502/503, 429s without
//! `Retry-After`, per-item failures, slow and failing processing. Decisions come from seeded
//! generators, one stream per kind and [`Scope`], so the same `--seed` gives the same faults
//! in the same number of calls on every run.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// A duration in milliseconds, fixed (`250`) or drawn uniformly from a range (`100..400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsRange {
    pub lo: u64,
    pub hi: u64,
}

impl FromStr for MsRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{s}` is not milliseconds (MS or MS..MS)"))
        };
        let (lo, hi) = match s.split_once("..") {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => (parse(s)?, parse(s)?),
        };
        if lo > hi {
            return Err(format!("`{s}`: the range's start is after its end"));
        }
        Ok(Self { lo, hi })
    }
}

/// A probability in [0, 1].
pub fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a probability between 0 and 1")),
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    pub seed: u64,
    /// Added before every API call is handled.
    pub latency: Option<MsRange>,
    /// Share of API calls answered 503 before anything is done.
    pub error_rate: f64,
    /// Share of API calls performed and then answered by dropping the connection.
    pub lost_response_rate: f64,
    /// Share of API calls performed and then answered only after `slow_response`: longer than
    /// a client's timeout, this is a lost answer the client had to give up on.
    pub slow_response_rate: f64,
    pub slow_response: Option<MsRange>,
    /// Share of calls performed and then answered 502 or 503, as a gateway answers when it
    /// loses the backend's answer: the error says nothing about whether the work was done.
    pub performed_error_rate: f64,
    /// Answer 429 without `Retry-After`, so clients must pick their own pause.
    pub omit_retry_after: bool,
    /// Share of bulk-import items failed with a retryable code.
    pub item_failure_rate: f64,
    /// How long an import stays PENDING at least.
    pub processing_time: Option<MsRange>,
    /// Share of imports whose processing ends FAILED.
    pub processing_failure_rate: f64,
}

impl FaultConfig {
    pub fn is_quiet(&self) -> bool {
        self.latency.is_none()
            && self.error_rate == 0.0
            && self.lost_response_rate == 0.0
            && (self.slow_response_rate == 0.0 || self.slow_response.is_none())
            && self.performed_error_rate == 0.0
            && !self.omit_retry_after
            && self.item_failure_rate == 0.0
            && self.processing_time.is_none()
            && self.processing_failure_rate == 0.0
    }
}

/// The kinds of fault counted in `/_local/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    Latency,
    Error503,
    LostResponse,
    SlowResponse,
    ItemFailure,
    ProcessingFailure,
    PerformedError,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Error503 => "error503",
            Self::LostResponse => "lostResponse",
            Self::SlowResponse => "slowResponse",
            Self::ItemFailure => "itemFailure",
            Self::ProcessingFailure => "processingFailure",
            Self::PerformedError => "performedError",
        }
    }
}

/// Which routes a call took: the API (`/site-media/...`) or the upload URLs it hands out
/// (`PUT` and tus). Each scope draws its decisions from streams of its own, so a test can pick
/// a seed under which both meet a fault early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Api,
    Upload,
}

/// Where the generator's numbers go: one stream per kind of decision and scope, one per kind
/// of drawn value.
const KINDS: usize = 7;
const SLOW_RESPONSE_TIME: usize = KINDS;
const PROCESSING_TIME: usize = KINDS + 1;
const GATEWAY_STATUS: usize = KINDS + 2;
const UPLOAD_STREAMS: usize = KINDS + 3;
const STREAMS: usize = UPLOAD_STREAMS + KINDS;

/// The fault injector. Every kind of decision draws from a stream of its own, seeded from
/// `seed`: the n-th 503 decision is the same however the calls of concurrent clients
/// interleave with item and processing decisions, so a run meets the same faults in the same
/// number of calls.
pub struct Faults {
    pub config: FaultConfig,
    streams: Mutex<[fastrand::Rng; STREAMS]>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let streams = std::array::from_fn(|i| {
            // Far-apart seeds: wyrand streams from adjacent seeds are unrelated anyway.
            fastrand::Rng::with_seed(config.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        });
        Self {
            config,
            streams: Mutex::new(streams),
        }
    }

    fn with_stream<T>(&self, stream: usize, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        f(&mut self.streams.lock().unwrap_or_else(|p| p.into_inner())[stream])
    }

    /// Whether the next API call (bulk item, file) meets the fault `kind`, at its configured
    /// rate. Never draws at a rate of 0, so quiet runs stay repeatable. `Latency` always
    /// strikes when configured: its effect is the drawn delay.
    pub fn strikes(&self, kind: FaultKind) -> bool {
        self.strikes_in(kind, Scope::Api)
    }

    /// Whether the next call of `scope` meets the fault `kind`.
    pub fn strikes_in(&self, kind: FaultKind, scope: Scope) -> bool {
        let c = &self.config;
        let p = match kind {
            FaultKind::Latency => return c.latency.is_some(),
            FaultKind::Error503 => c.error_rate,
            FaultKind::LostResponse => c.lost_response_rate,
            FaultKind::SlowResponse if c.slow_response.is_none() => 0.0,
            FaultKind::SlowResponse => c.slow_response_rate,
            FaultKind::ItemFailure => c.item_failure_rate,
            FaultKind::ProcessingFailure => c.processing_failure_rate,
            FaultKind::PerformedError => c.performed_error_rate,
        };
        let stream = match scope {
            Scope::Api => kind as usize,
            Scope::Upload => UPLOAD_STREAMS + kind as usize,
        };
        p > 0.0 && self.with_stream(stream, |r| r.f64()) < p
    }

    fn draw(&self, stream: usize, range: Option<MsRange>) -> Option<Duration> {
        range.map(|r| Duration::from_millis(self.with_stream(stream, |rng| rng.u64(r.lo..=r.hi))))
    }

    pub fn latency(&self) -> Option<Duration> {
        self.draw(FaultKind::Latency as usize, self.config.latency)
    }

    /// How long to hold this call's answer, when it is one of the slow ones.
    pub fn slow_response(&self, scope: Scope) -> Option<Duration> {
        if self.strikes_in(FaultKind::SlowResponse, scope) {
            self.draw(SLOW_RESPONSE_TIME, self.config.slow_response)
        } else {
            None
        }
    }

    pub fn processing_time(&self) -> Option<Duration> {
        self.draw(PROCESSING_TIME, self.config.processing_time)
    }

    /// The status a gateway answers a performed call with: 502 or 503, evenly.
    pub fn gateway_status(&self) -> u16 {
        if self.with_stream(GATEWAY_STATUS, |r| r.bool()) {
            502
        } else {
            503
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges parse in both forms and refuse nonsense; rates must be probabilities.
    #[test]
    fn parses_ranges_and_rates() {
        assert_eq!("250".parse::<MsRange>(), Ok(MsRange { lo: 250, hi: 250 }));
        assert_eq!("10..40".parse::<MsRange>(), Ok(MsRange { lo: 10, hi: 40 }));
        assert!("40..10".parse::<MsRange>().is_err());
        assert!("fast".parse::<MsRange>().is_err());
        assert_eq!(parse_rate("0.05"), Ok(0.05));
        assert!(parse_rate("1.5").is_err());
    }

    /// The same seed gives the same sequence of decisions.
    #[test]
    fn same_seed_same_faults() {
        let cfg = FaultConfig {
            seed: 7,
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let f1 = Faults::new(cfg.clone());
        let f2 = Faults::new(cfg);
        let s1: Vec<bool> = (0..64).map(|_| f1.strikes(FaultKind::Error503)).collect();
        let s2: Vec<bool> = (0..64).map(|_| f2.strikes(FaultKind::Error503)).collect();
        assert_eq!(s1, s2);
        assert!(s1.iter().any(|b| *b) && s1.iter().any(|b| !*b));
    }

    /// Each kind of decision has its own stream: the 503 decisions are the same whether or not
    /// item decisions are drawn in between; kinds at rate 0 never strike.
    #[test]
    fn each_kind_draws_from_its_own_stream() {
        let cfg = FaultConfig {
            seed: 3,
            error_rate: 0.5,
            item_failure_rate: 0.5,
            ..FaultConfig::default()
        };
        let alone = Faults::new(cfg.clone());
        let mixed = Faults::new(cfg);
        let a: Vec<bool> = (0..64)
            .map(|_| alone.strikes(FaultKind::Error503))
            .collect();
        let b: Vec<bool> = (0..64)
            .map(|i| {
                for _ in 0..i % 3 {
                    mixed.strikes(FaultKind::ItemFailure);
                }
                mixed.strikes(FaultKind::Error503)
            })
            .collect();
        assert_eq!(a, b);
        assert!((0..64).all(|_| !alone.strikes(FaultKind::LostResponse)));
        assert!(!alone.strikes(FaultKind::Latency) && alone.latency().is_none());
    }

    /// Upload routes draw from streams of their own: API decisions are the same whether or
    /// not upload decisions are drawn in between, and the two scopes' sequences differ.
    #[test]
    fn upload_routes_draw_from_their_own_streams() {
        let cfg = FaultConfig {
            seed: 11,
            performed_error_rate: 0.5,
            ..FaultConfig::default()
        };
        let alone = Faults::new(cfg.clone());
        let mixed = Faults::new(cfg);
        let api: Vec<bool> = (0..64)
            .map(|_| alone.strikes(FaultKind::PerformedError))
            .collect();
        let (mut api_mixed, mut uploads) = (Vec::new(), Vec::new());
        for _ in 0..64 {
            uploads.push(mixed.strikes_in(FaultKind::PerformedError, Scope::Upload));
            api_mixed.push(mixed.strikes(FaultKind::PerformedError));
        }
        assert_eq!(api, api_mixed);
        assert_ne!(api, uploads);
        let statuses: Vec<u16> = (0..32).map(|_| alone.gateway_status()).collect();
        assert!(
            statuses.contains(&502) && statuses.contains(&503),
            "{statuses:?}"
        );
    }
}
