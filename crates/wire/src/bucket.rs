//! A token bucket as a pure function of time: the caller passes `now`, so the server's rate
//! limit and the client's budget are tested as tables of instants, not with sleeps.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `per_minute` tokens a minute, holding at most `burst` (at least 1), starting full.
    pub fn per_minute(per_minute: u32, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            capacity,
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }

    /// Changes the rate, keeping the tokens already earned.
    pub fn set_per_minute(&mut self, per_minute: f64, now: Instant) {
        self.refill(now);
        self.per_sec = per_minute.max(1.0) / 60.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full bucket serves its burst, then one token per 1/rate, and says how long to wait.
    #[test]
    fn serves_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::per_minute(60, 3, t0);
        for _ in 0..3 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(b.try_take(t0 + Duration::from_millis(999)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(1000)).is_ok());
        // A long idle period refills only up to the burst.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(b.try_take(later).is_ok());
        }
        assert!(b.try_take(later).is_err());
    }
}
