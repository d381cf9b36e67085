//! The request budget of one target site, shared by every stage: a token bucket at an adaptive
//! rate ([`AdaptiveRate`], CUBIC), a cap on requests in flight, priorities among the callers
//! waiting for a token, and one client-wide pause after a 429.
//!
//! Callers say what their call is for with [`Priority::scope`] (a task-local, so the client's
//! methods need no extra argument): work that unblocks imports first, then imports, then
//! readiness polls. A waiter that has waited `starve_after` goes first, so no class starves.
//! The same scope remembers in which pause window its last call was let through, so a 429 for
//! a call sent before the client paused is known for an echo of a throttle already acted on.
//! All of it runs on `tokio::time`, so tests run under paused time.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::adaptive::AdaptiveRate;
use super::bucket::TokenBucket;

/// Pause when a 429 carries no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(2);

/// What a call is for, highest priority first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Work imports wait for: settling rows in doubt, folder lookups.
    Unblock,
    /// Imports and uploads (and any call made outside a scope).
    Import,
    /// Readiness polls.
    Poll,
}

struct CallScope {
    priority: Priority,
    /// The pause window (epoch) in which this task's last call was let through.
    granted_in: Cell<Option<u64>>,
}

tokio::task_local! {
    static SCOPE: CallScope;
}

impl Priority {
    /// Runs `fut` with every budget request it makes at this priority.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        let scope = CallScope {
            priority: self,
            granted_in: Cell::new(None),
        };
        SCOPE.scope(scope, fut).await
    }

    fn current() -> Self {
        SCOPE.try_with(|s| s.priority).unwrap_or(Priority::Import)
    }
}

#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// The ceiling: requests per minute the client may spend.
    pub per_minute: u32,
    /// Requests allowed back to back before the rate applies.
    pub burst: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A waiter that has waited this long goes before every other class.
    pub starve_after: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            per_minute: 180,
            // Small: a client whose burst is no larger than the site's never outruns it, even
            // at the site's own rate, and the site's burst isn't published.
            burst: 4,
            concurrency: 8,
            starve_after: Duration::from_secs(30),
        }
    }
}

struct Waiter {
    priority: Priority,
    seq: u64,
    since: Instant,
}

struct State {
    bucket: TokenBucket,
    rate: AdaptiveRate,
    paused_until: Option<Instant>,
    /// Incremented by every throttle acted on (a new pause window).
    epoch: u64,
    waiters: Vec<Waiter>,
    next_seq: u64,
    throttles: u64,
    grants: u64,
}

impl State {
    /// The waiter whose turn it is: the highest priority, first come; starved waiters first.
    fn head(&self, now: Instant, starve_after: Duration) -> Option<u64> {
        self.waiters
            .iter()
            .min_by_key(|w| {
                let starved = now.saturating_duration_since(w.since) >= starve_after;
                (!starved, w.priority, w.seq)
            })
            .map(|w| w.seq)
    }

    /// When the first waiter that isn't starved yet will be.
    fn next_starving(&self, now: Instant, starve_after: Duration) -> Option<Instant> {
        self.waiters
            .iter()
            .map(|w| w.since + starve_after)
            .filter(|t| *t > now)
            .min()
    }

    fn remove(&mut self, seq: u64) {
        self.waiters.retain(|w| w.seq != seq);
    }
}

pub struct Budget {
    config: BudgetConfig,
    state: Mutex<State>,
    in_flight: Arc<Semaphore>,
    /// Woken when the head of the queue may have changed (a grant, a waiter leaving).
    turn: Notify,
}

/// Held while a request is in flight.
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

/// A place in the queue; leaving it (granted or cancelled) lets the next waiter look again.
struct Ticket<'a> {
    budget: &'a Budget,
    seq: u64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.budget.lock().remove(self.seq);
        self.budget.turn.notify_waiters();
    }
}

impl Budget {
    pub fn new(config: BudgetConfig) -> Self {
        let now = Instant::now();
        let state = State {
            bucket: TokenBucket::per_minute(config.per_minute, config.burst, now),
            rate: AdaptiveRate::new(f64::from(config.per_minute.max(1))),
            paused_until: None,
            epoch: 0,
            waiters: Vec::new(),
            next_seq: 0,
            throttles: 0,
            grants: 0,
        };
        Self {
            in_flight: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            state: Mutex::new(state),
            turn: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot in flight, its turn among the waiters, the end of any pause, and a
    /// token at the current rate.
    pub async fn acquire(&self) -> Permit {
        let priority = Priority::current();
        let slot = self
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the budget's semaphore is never closed");
        let seq = {
            let mut s = self.lock();
            let seq = s.next_seq;
            s.next_seq += 1;
            s.waiters.push(Waiter {
                priority,
                seq,
                since: Instant::now(),
            });
            seq
        };
        let _ticket = Ticket { budget: self, seq };
        loop {
            let notified = self.turn.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wake_at = {
                let mut s = self.lock();
                let now = Instant::now();
                let starve_after = self.config.starve_after;
                if let Some(until) = s.paused_until.filter(|u| *u > now) {
                    Some(until)
                } else if s.head(now, starve_after) != Some(seq) {
                    // Not our turn: look again when the head moves, or when someone starves.
                    s.next_starving(now, starve_after)
                } else {
                    let rate = s.rate.per_minute(now);
                    s.bucket.set_per_minute(rate, now);
                    match s.bucket.try_take(now) {
                        Ok(()) => {
                            s.grants += 1;
                            s.rate.on_grant(now);
                            let epoch = s.epoch;
                            let _ = SCOPE.try_with(|c| c.granted_in.set(Some(epoch)));
                            return Permit { _slot: slot };
                        }
                        Err(wait) => Some(now + wait),
                    }
                }
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A 429. The first for calls sent since the last pause pauses every caller once (for
    /// `retry_after`, or a default) and cuts the rate; 429s for calls sent before that pause
    /// are echoes of the same throttle and only count.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let granted_in = SCOPE.try_with(|c| c.granted_in.get()).ok().flatten();
        let mut s = self.lock();
        let now = Instant::now();
        s.throttles += 1;
        let echo = match granted_in {
            Some(epoch) => epoch < s.epoch,
            // Outside a scope: within the pause is the same throttle.
            None => s.paused_until.is_some_and(|p| p > now),
        };
        if echo {
            s.rate.on_echo();
            return;
        }
        let until = now + retry_after.unwrap_or(DEFAULT_PAUSE);
        s.paused_until = Some(until);
        s.epoch += 1;
        s.rate.on_throttle(now, until, retry_after.is_some());
    }

    /// The current rate in requests per minute (for progress and reports).
    pub fn current_rate(&self) -> f64 {
        self.lock().rate.per_minute(Instant::now())
    }

    /// 429s reported, echoes included.
    pub fn throttles(&self) -> u64 {
        self.lock().throttles
    }

    /// Calls let through so far.
    pub fn grants(&self) -> u64 {
        self.lock().grants
    }

    /// The ceiling, in requests per minute.
    pub fn ceiling(&self) -> u32 {
        self.config.per_minute
    }
}

#[cfg(test)]
mod tests;
