//! The request budget of one target site, shared by every stage: a token bucket at an
//! adaptive rate, a cap on requests in flight, and one client-wide pause after a 429.
//!
//! Adaptation follows the AWS SDK's adaptive retry mode in spirit: a throttle cuts the rate to
//! 0.7× of what it was and pauses everyone for `Retry-After` (or a backoff); the rate then
//! recovers linearly to the ceiling over `recovery`. All of it is a function of `tokio::time`,
//! so tests run it under paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::bucket::TokenBucket;

/// Floor of the adaptive rate, in requests per minute.
const MIN_RATE: f64 = 6.0;
/// Share of the current rate kept after a throttle.
const CUT: f64 = 0.7;
/// Pause when a 429 carries no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// The ceiling: requests per minute the client may spend.
    pub per_minute: u32,
    /// Requests allowed back to back before the rate applies.
    pub burst: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time to climb back from a cut to the ceiling.
    pub recovery: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            per_minute: 180,
            burst: 10,
            concurrency: 8,
            recovery: Duration::from_secs(60),
        }
    }
}

struct State {
    bucket: TokenBucket,
    ceiling: f64,
    /// Rate just after the last cut, and when it happened.
    cut: Option<(f64, Instant)>,
    paused_until: Option<Instant>,
    throttles: u64,
}

impl State {
    /// The adaptive rate at `now`: the ceiling, or a linear climb back to it after a cut.
    fn rate_at(&self, now: Instant, recovery: Duration) -> f64 {
        match self.cut {
            None => self.ceiling,
            Some((low, at)) => {
                let progress = now.saturating_duration_since(at).as_secs_f64()
                    / recovery.as_secs_f64().max(1e-3);
                (low + (self.ceiling - low) * progress.min(1.0)).min(self.ceiling)
            }
        }
    }
}

pub struct Budget {
    config: BudgetConfig,
    state: Mutex<State>,
    in_flight: std::sync::Arc<Semaphore>,
}

/// Held while a request is in flight.
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

impl Budget {
    pub fn new(config: BudgetConfig) -> Self {
        let now = Instant::now();
        let state = State {
            bucket: TokenBucket::per_minute(config.per_minute, config.burst, now),
            ceiling: f64::from(config.per_minute.max(1)),
            cut: None,
            paused_until: None,
            throttles: 0,
        };
        Self {
            in_flight: std::sync::Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot in flight, the end of any pause, and a token at the current rate.
    pub async fn acquire(&self) -> Permit {
        let slot = self
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the budget's semaphore is never closed");
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                match s.paused_until.filter(|until| *until > now) {
                    Some(until) => until - now,
                    None => {
                        let rate = s.rate_at(now, self.config.recovery);
                        s.bucket.set_per_minute(rate, now);
                        match s.bucket.try_take(now) {
                            Ok(()) => return Permit { _slot: slot },
                            Err(wait) => wait,
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// A 429: pause every worker once, for `retry_after` or a default, and cut the rate.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        let now = Instant::now();
        let until = now + retry_after.unwrap_or(DEFAULT_PAUSE);
        // Workers that were already in flight report the same throttle: pause once, cut once
        // per pause window.
        let already_paused = s.paused_until.is_some_and(|p| p > now);
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        s.throttles += 1;
        if !already_paused {
            let low = (s.rate_at(now, self.config.recovery) * CUT)
                .max(MIN_RATE)
                .min(s.ceiling);
            s.cut = Some((low, until));
        }
    }

    /// The current rate in requests per minute (for progress and reports).
    pub fn current_rate(&self) -> f64 {
        self.lock().rate_at(Instant::now(), self.config.recovery)
    }

    pub fn throttles(&self) -> u64 {
        self.lock().throttles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_minute: u32, burst: u32) -> Budget {
        Budget::new(BudgetConfig {
            per_minute,
            burst,
            concurrency: 4,
            recovery: Duration::from_secs(60),
        })
    }

    /// The burst goes at once, then requests are spaced at the rate.
    #[tokio::test(start_paused = true)]
    async fn spaces_requests_at_the_rate() {
        let b = budget(60, 2);
        let t0 = Instant::now();
        for _ in 0..4 {
            drop(b.acquire().await);
        }
        assert_eq!(Instant::now() - t0, Duration::from_secs(2));
    }

    /// A throttle pauses every caller until Retry-After, cuts the rate to 0.7×, and the rate
    /// climbs back to the ceiling over the recovery period.
    #[tokio::test(start_paused = true)]
    async fn throttle_pauses_cuts_and_recovers() {
        let b = budget(100, 1);
        drop(b.acquire().await);
        b.on_throttled(Some(Duration::from_secs(5)));
        b.on_throttled(Some(Duration::from_secs(5))); // a second report of the same throttle
        let t0 = Instant::now();
        drop(b.acquire().await);
        assert!(Instant::now() - t0 >= Duration::from_secs(5));
        assert!(
            (b.current_rate() - 70.0).abs() < 1.0,
            "rate {}",
            b.current_rate()
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(
            (b.current_rate() - 85.0).abs() < 1.0,
            "rate {}",
            b.current_rate()
        );
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(b.current_rate(), 100.0);
        assert_eq!(b.throttles(), 2);
    }

    /// No more requests are in flight than the concurrency cap.
    #[tokio::test(start_paused = true)]
    async fn caps_requests_in_flight() {
        let b = std::sync::Arc::new(Budget::new(BudgetConfig {
            per_minute: 6000,
            burst: 100,
            concurrency: 2,
            recovery: Duration::from_secs(60),
        }));
        let p1 = b.acquire().await;
        let _p2 = b.acquire().await;
        let b2 = b.clone();
        let third = tokio::spawn(async move { b2.acquire().await });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(p1);
        third.await.unwrap();
    }
}
