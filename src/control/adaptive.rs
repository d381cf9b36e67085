//! The adaptive request rate: CUBIC, as the AWS SDKs' adaptive retry mode uses it, as a pure
//! function of time (the caller passes `now`, so tests are tables of instants).
//!
//! A throttle sets `W_max`, the rate the target evidently can't exceed: the rate in force, or,
//! when the client was asking for far more than that, the rate the target actually admitted
//! since the previous throttle (that window includes the pause, when the target's own bucket
//! refilled, so it measures the target's limit, not its burst). The rate drops to `β·W_max` and climbs back along a cubic that is
//! flat near `W_max` and reaches it after `K`, then probes above it, slowly at first. `K` is
//! the time of a fixed number of calls at `W_max`, so a 200/minute site and a scaled-up bench
//! go through the same cycle in calls, and a throttle costs the same share of calls at any rate.

use std::time::Duration;

use tokio::time::Instant;

/// Share of `W_max` kept after a throttle (the AWS SDKs' β).
const BETA: f64 = 0.7;
/// Calls, at `W_max`, that the climb back to `W_max` takes (sets `K`).
const RECOVERY_CALLS: f64 = 200.0;
const MIN_K: f64 = 1.0;
const MAX_K: f64 = 120.0;
/// The rate is never cut below this (requests per second: 6 a minute).
const FLOOR: f64 = 0.1;
/// Width of the buckets the sending rate is measured over, and the weight of the newest.
const MEASURE_BUCKET: f64 = 0.5;
const SMOOTH: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    /// The rate the target evidently can't exceed (per second).
    w_max: f64,
    /// When the climb starts (the end of the pause).
    from: Instant,
    /// Seconds from `from` back to `w_max`.
    k: f64,
}

#[derive(Debug, Clone)]
pub struct AdaptiveRate {
    ceiling: f64,
    cut: Option<Cut>,
    /// Calls granted and throttled since the last throttle (or the start), and since when.
    window_from: Option<Instant>,
    window_grants: u64,
    window_throttles: u64,
    /// The sending rate, smoothed over buckets of `MEASURE_BUCKET` seconds (as the SDKs do):
    /// probing above `W_max` is capped at twice what the client actually sends.
    bucket_from: Option<Instant>,
    bucket_grants: u64,
    measured: f64,
}

impl AdaptiveRate {
    /// A rate that starts at `per_minute`, its ceiling.
    pub fn new(per_minute: f64) -> Self {
        Self {
            ceiling: (per_minute / 60.0).max(FLOOR),
            cut: None,
            window_from: None,
            window_grants: 0,
            window_throttles: 0,
            bucket_from: None,
            bucket_grants: 0,
            measured: 0.0,
        }
    }

    /// The rate at `now`, in requests per second.
    pub fn per_second(&self, now: Instant) -> f64 {
        let Some(cut) = self.cut else {
            return self.ceiling;
        };
        let t = now.saturating_duration_since(cut.from).as_secs_f64() - cut.k;
        let c = cut.w_max * (1.0 - BETA) / cut.k.powi(3);
        let mut rate = cut.w_max + c * t.powi(3);
        if rate > cut.w_max {
            // Probe above the last known limit only as far as the client really sends.
            rate = rate.min(cut.w_max.max(2.0 * self.measured));
        }
        rate.clamp(FLOOR, self.ceiling)
    }

    pub fn per_minute(&self, now: Instant) -> f64 {
        self.per_second(now) * 60.0
    }

    /// A call was let through at `now`.
    pub fn on_grant(&mut self, now: Instant) {
        self.window_from.get_or_insert(now);
        self.window_grants += 1;
        let from = *self.bucket_from.get_or_insert(now);
        let elapsed = now.saturating_duration_since(from).as_secs_f64();
        if elapsed >= MEASURE_BUCKET {
            let rate = self.bucket_grants as f64 / elapsed;
            self.measured = SMOOTH * rate + (1.0 - SMOOTH) * self.measured;
            self.bucket_from = Some(now);
            self.bucket_grants = 0;
        }
        self.bucket_grants += 1;
    }

    /// A 429 that belongs to a throttle already acted on: it counts against the admitted rate.
    pub fn on_echo(&mut self) {
        self.window_throttles += 1;
    }

    /// A new throttle at `now`; the client resumes at `resume` (after `Retry-After`).
    pub fn on_throttle(&mut self, now: Instant, resume: Instant) {
        self.window_throttles += 1;
        let current = self.per_second(now);
        // What the target let through since the last throttle, pause included (one call more,
        // for the one a window boundary may have cut off).
        let admitted = self.window_from.and_then(|from| {
            let secs = now.saturating_duration_since(from).as_secs_f64();
            let admitted = self.window_grants.saturating_sub(self.window_throttles) + 1;
            (secs >= 0.25 && self.window_grants >= 4).then(|| admitted as f64 / secs)
        });
        // Asking for far more than it let through (the start, a lowered limit): the target's
        // rate is what it admitted. Otherwise the rate in force was just too high, as in CUBIC;
        // the admitted rate would understate the limit, the client itself having sent less
        // while it climbed.
        let w_max = match admitted {
            Some(a) if a < BETA * current => a,
            _ => current,
        }
        .max(FLOOR);
        self.cut = Some(Cut {
            w_max,
            from: resume,
            k: (RECOVERY_CALLS / w_max).clamp(MIN_K, MAX_K),
        });
        self.window_from = Some(now);
        self.window_grants = 0;
        self.window_throttles = 0;
    }

    /// Seconds from the resume after the last throttle back to its `W_max` (for tests, reports).
    pub fn recovery(&self) -> Option<Duration> {
        self.cut.map(|c| Duration::from_secs_f64(c.k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    /// Grants `n` calls evenly over `[from, from + secs)`.
    fn send(r: &mut AdaptiveRate, t0: Instant, from: f64, secs: f64, n: u32) {
        for i in 0..n {
            r.on_grant(at(t0, from + secs * f64::from(i) / f64::from(n)));
        }
    }

    /// Untouched, the rate is the ceiling; a throttle cuts it to β·W_max at the resume, it
    /// climbs back to W_max after K (flat near it), then probes above, capped by the ceiling.
    #[test]
    fn cubic_cut_and_climb() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(1200.0); // 20/s
        assert_eq!(r.per_second(t0), 20.0);
        // Too few calls to measure: W_max is the rate in force.
        r.on_throttle(t0, at(t0, 1.0));
        let k = RECOVERY_CALLS / 20.0;
        assert_eq!(r.recovery(), Some(Duration::from_secs_f64(k)));
        let table = [
            (1.0, 14.0),
            (1.0 + k / 2.0, 20.0 - 6.0 / 8.0),
            (1.0 + k, 20.0),
            (1.0 + 1.5 * k, 20.0), // above W_max only as far as twice the measured rate (0 here)
        ];
        for (secs, want) in table {
            let got = r.per_second(at(t0, secs));
            assert!((got - want).abs() < 1e-9, "at {secs}s: {got} ≠ {want}");
        }
    }

    /// Probing above W_max follows the cubic while the client sends at full speed, no further
    /// than twice what it sends, and never past the ceiling.
    #[test]
    fn probes_above_w_max_while_sending() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(3600.0); // 60/s
        send(&mut r, t0, 0.0, 1.0, 31);
        r.on_throttle(at(t0, 1.0), at(t0, 1.0)); // 30 (+1) admitted in 1 s: W_max 31
        let w: f64 = 31.0;
        let k = RECOVERY_CALLS / w;
        send(&mut r, t0, 1.0, 12.0, 360); // 30/s
        let c = w * 0.3 / k.powi(3);
        for dt in [1.0, 2.0, 4.0] {
            let got = r.per_second(at(t0, 1.0 + k + dt));
            assert!((got - (w + c * dt.powi(3))).abs() < 1e-9, "{dt}: {got}");
        }
        let top = r.per_second(at(t0, 1.0 + 3.0 * k));
        assert!(
            (55.0..=60.0).contains(&top),
            "twice the measured rate, at most the ceiling: {top}"
        );
        // A client that sends little can't probe far above W_max.
        let mut idle = AdaptiveRate::new(3600.0);
        send(&mut idle, t0, 0.0, 1.0, 31);
        idle.on_throttle(at(t0, 1.0), at(t0, 1.0));
        send(&mut idle, t0, 1.0, 12.0, 24); // 2/s
        let capped = idle.per_second(at(t0, 1.0 + 3.0 * k));
        assert!((capped - w).abs() < 1e-9, "{capped}");
    }

    /// W_max is the rate in force when the target admitted about that much; when the client
    /// asked for far more than the target admitted (pause included), it is the admitted rate.
    #[test]
    fn w_max_is_the_admitted_rate_when_far_below() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(3600.0); // 60/s
        send(&mut r, t0, 0.0, 0.5, 31);
        r.on_throttle(at(t0, 0.5), at(t0, 1.5)); // 30 of 31 admitted in 0.5 s: W_max 60
        assert!((r.per_second(at(t0, 1.5)) - 42.0).abs() < 1e-9);
        // Pause 0.5..1.5, then 42/s for 0.5 s: 21 calls of which 1 answered 429 (an echo of
        // an earlier call) and the new throttle: 19 (+1) admitted over 1.5 s.
        send(&mut r, t0, 1.5, 0.5, 21);
        r.on_echo();
        r.on_throttle(at(t0, 2.0), at(t0, 3.0));
        let w_max = 20.0 / 1.5;
        assert!((r.per_second(at(t0, 3.0)) - 0.7 * w_max).abs() < 1e-9);
        assert_eq!(
            r.recovery(),
            Some(Duration::from_secs_f64(RECOVERY_CALLS / w_max))
        );
    }

    /// The rate never drops below the floor, however many throttles come.
    #[test]
    fn never_below_the_floor() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(600.0);
        for i in 0..100 {
            r.on_throttle(at(t0, f64::from(i)), at(t0, f64::from(i)));
        }
        assert!(r.per_second(at(t0, 100.0)) >= FLOOR);
        assert_eq!(r.recovery(), Some(Duration::from_secs_f64(MAX_K)));
    }
}
