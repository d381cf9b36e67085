//! The decision to retry, kept apart from the mechanism. [`classify_status`] and
//! [`classify_item`] say what an outcome means for the work (done for sure, not done, or in
//! doubt); [`Backoff`] says how long to wait before the next attempt.

use std::time::Duration;

/// What a failed call means for the work it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Certainly not performed (429, connection refused): resend.
    NotDone,
    /// Maybe performed (timeout, reset, any 5xx, lost response): look before resending.
    InDoubt,
    /// Refused for good (validation, auth, not found): don't resend.
    Permanent,
}

/// The disposition of an HTTP error status. Only a 429 says the work was not done: the API
/// documents no 5xx as "not performed", and a gateway answers 502 or 503 when it loses the
/// answer of a backend that did the work.
pub fn classify_status(status: u16) -> Disposition {
    match status {
        429 => Disposition::NotDone,
        408 => Disposition::InDoubt,
        s if s >= 500 => Disposition::InDoubt,
        _ => Disposition::Permanent,
    }
}

/// The disposition of a failed bulk item's error code: transient codes are resent.
pub fn classify_item(code: &str) -> Disposition {
    match code {
        "UNAVAILABLE"
        | "TEMPORARILY_UNAVAILABLE"
        | "RESOURCE_EXHAUSTED"
        | "INTERNAL"
        | "INTERNAL_ERROR"
        | "DEADLINE_EXCEEDED"
        | "ABORTED"
        | "503"
        | "500"
        | "429" => Disposition::NotDone,
        _ => Disposition::Permanent,
    }
}

/// Exponential backoff with full jitter, capped: attempt n waits a uniform time in
/// `[0, min(cap, base·2ⁿ)]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling of attempt `n` (0-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before attempt `n + 1`, with full jitter from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        self.ceiling(attempt).mul_f64(rng.f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses map to what they mean for the work; only 408/429/5xx are ever resent.
    #[test]
    fn classifies_statuses() {
        assert_eq!(classify_status(429), Disposition::NotDone);
        assert_eq!(classify_status(503), Disposition::InDoubt);
        assert_eq!(classify_status(502), Disposition::InDoubt);
        assert_eq!(classify_status(504), Disposition::InDoubt);
        assert_eq!(classify_status(500), Disposition::InDoubt);
        for s in [400, 401, 403, 404, 409, 413] {
            assert_eq!(classify_status(s), Disposition::Permanent, "{s}");
        }
        assert_eq!(classify_item("UNAVAILABLE"), Disposition::NotDone);
        assert_eq!(classify_item("INVALID_ARGUMENT"), Disposition::Permanent);
    }

    /// Backoff ceilings double up to the cap, and jittered delays stay under the ceiling.
    #[test]
    fn backoff_doubles_to_cap_with_jitter() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(60), Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(1);
        let delays: Vec<Duration> = (0..100).map(|_| b.delay(3, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(800)));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(400)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(400)));
    }
}
