//! Fault injection for the local Media Manager: latency, 503s, lost responses, per-item
//! failures, slow and failing processing. Decisions come from one seeded generator, so a
//! sequential client sees the same faults on every run with the same `--seed`.

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
    ItemFailure,
    ProcessingFailure,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Error503 => "error503",
            Self::LostResponse => "lostResponse",
            Self::ItemFailure => "itemFailure",
            Self::ProcessingFailure => "processingFailure",
        }
    }
}

pub struct Faults {
    pub config: FaultConfig,
    rng: Mutex<fastrand::Rng>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(fastrand::Rng::with_seed(config.seed));
        Self { config, rng }
    }

    fn with_rng<T>(&self, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// True with probability `p` (never draws when `p` is 0, so quiet runs stay repeatable).
    pub fn roll(&self, p: f64) -> bool {
        p > 0.0 && self.with_rng(|r| r.f64()) < p
    }

    fn draw(&self, range: Option<MsRange>) -> Option<Duration> {
        range.map(|r| Duration::from_millis(self.with_rng(|rng| rng.u64(r.lo..=r.hi))))
    }

    pub fn latency(&self) -> Option<Duration> {
        self.draw(self.config.latency)
    }

    pub fn processing_time(&self) -> Option<Duration> {
        self.draw(self.config.processing_time)
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
        let a: Vec<bool> = (0..64)
            .map(|_| Faults::new(cfg.clone()))
            .map(|f| f.roll(0.5))
            .collect();
        let f1 = Faults::new(cfg.clone());
        let f2 = Faults::new(cfg);
        let s1: Vec<bool> = (0..64).map(|_| f1.roll(0.5)).collect();
        let s2: Vec<bool> = (0..64).map(|_| f2.roll(0.5)).collect();
        assert_eq!(s1, s2);
        assert!(s1.iter().any(|b| *b) && s1.iter().any(|b| !*b));
        assert!(a.iter().all(|b| *b == a[0]));
    }
}
