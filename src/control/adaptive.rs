//! The adaptive request rate: CUBIC, as the AWS SDKs' adaptive retry mode uses it, as a pure
//! function of time (the caller passes `now`, so tests are tables of instants).
//!
//! A throttle sets `W_max`, the rate the target evidently can't exceed: the rate in force, or,
//! when the client was asking for far more than that, the rate the target actually admitted
//! since the previous throttle (that window includes the pause, when the target's own bucket
//! refilled, so it measures the target's limit, not its burst). The rate drops to `β·W_max` and
//! climbs back along a cubic that is flat near `W_max` and reaches it after `K`, then probes
//! above it, slowly at first. `K` is the time of a fixed number of calls at `W_max`, so a
//! 200/minute site and a scaled-up bench go through the same cycle in calls, and a throttle
//! costs the same share of calls at any rate.
//!
//! Two refinements, both for a client whose rate is far above a limit it wasn't told:
//!
//! - The first window starts with the target's bucket full, so what it admitted then is its
//!   burst plus its rate, not its rate. When the target names the pause (`Retry-After`), the
//!   window is measured to the end of that pause: by then the target has had the whole span to
//!   admit those calls. That is exact for a fixed-window limit (the pause runs to the window's
//!   end) and for a bucket whose pause refills it; for a bucket that names only the time to its
//!   next token it still overstates the limit, as without the pause, and the next throttle's
//!   window (which starts empty) measures it.
//! - A `W_max` that is a measurement of what the target admitted is not an overshoot of it, so
//!   the climb starts higher on the same curve (at `β_MEASURED·W_max`): the cut of CUBIC is for
//!   a rate that was too high, not for a rate the target was seen to sustain.

use std::time::Duration;

use tokio::time::Instant;

/// Share of `W_max` kept after a throttle (the AWS SDKs' β).
const BETA: f64 = 0.7;
/// Share of `W_max` kept when `W_max` is the rate the target was measured to admit.
const BETA_MEASURED: f64 = 0.9;
/// Calls, at `W_max`, that the climb back to `W_max` takes (sets `K`).
const RECOVERY_CALLS: f64 = 200.0;
const MIN_K: f64 = 1.0;
const MAX_K: f64 = 120.0;
/// The rate is never cut below this (requests per second: 6 a minute).
const FLOOR: f64 = 0.1;
/// Width of the buckets the sending rate is measured over, and the weight of the newest.
const MEASURE_BUCKET: f64 = 0.5;
const SMOOTH: f64 = 0.8;
/// Before the first throttle, a gap between calls this long (or of 3 calls at the ceiling,
/// when longer) means the client stopped asking: the first window restarts after it.
const IDLE_GAP: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    /// The rate the target evidently can't exceed (per second).
    w_max: f64,
    /// Where the cubic is at `β·W_max`: the end of the pause, or earlier when the climb starts
    /// higher up the curve.
    from: Instant,
    /// The end of the pause.
    resume: Instant,
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
    last_grant: Option<Instant>,
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
            last_grant: None,
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
        // Before the first throttle, the window is the client's current streak of calls: while
        // it didn't ask (the manifest being read after the target check), the target's bucket
        // filled up to its burst and no further, so that time says nothing of its rate.
        let idle = IDLE_GAP.max(3.0 / self.ceiling);
        if self.cut.is_none()
            && self
                .last_grant
                .is_some_and(|last| now.saturating_duration_since(last).as_secs_f64() > idle)
        {
            self.window_from = None;
            self.window_grants = 0;
        }
        self.last_grant = Some(now);
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

    /// A new throttle at `now`; the client resumes at `resume`, which the target named
    /// (`Retry-After`) when `named` is true.
    pub fn on_throttle(&mut self, now: Instant, resume: Instant, named: bool) {
        self.window_throttles += 1;
        let current = self.per_second(now);
        // The first window ends where the target said it would admit again (see the module's
        // notes); later ones start with a pause and end at the throttle.
        let end = if self.cut.is_none() && named {
            resume
        } else {
            now
        };
        // What the target let through since the last throttle, pause included. Counted exactly
        // (no call added for one a window boundary may have cut off): the client resumes at
        // 0.9 of it, and an overstated limit costs the next throttle sooner.
        let admitted = self.window_from.and_then(|from| {
            let secs = end.saturating_duration_since(from).as_secs_f64();
            let admitted = self.window_grants.saturating_sub(self.window_throttles);
            (secs >= 0.25 && self.window_grants >= 4).then(|| admitted as f64 / secs)
        });
        // Asking for far more than it let through (the start, a lowered limit): the target's
        // rate is what it admitted. Otherwise the rate in force was just too high, as in CUBIC;
        // the admitted rate would understate the limit, the client itself having sent less
        // while it climbed.
        let (w_max, beta) = match admitted {
            Some(a) if a < BETA * current => (a, BETA_MEASURED),
            _ => (current, BETA),
        };
        let w_max = w_max.max(FLOOR);
        let k = (RECOVERY_CALLS / w_max).clamp(MIN_K, MAX_K);
        // On the curve `W_max + c·(t − K)³`, `c = W_max·(1 − β)/K³`, the rate is `beta·W_max`
        // at `t = K·(1 − ((1 − beta)/(1 − β))^⅓)`: start the climb there.
        let head_start = k * (1.0 - ((1.0 - beta) / (1.0 - BETA)).cbrt());
        self.cut = Some(Cut {
            w_max,
            from: resume
                .checked_sub(Duration::from_secs_f64(head_start))
                .unwrap_or(resume),
            resume,
            k,
        });
        self.window_from = Some(now);
        self.window_grants = 0;
        self.window_throttles = 0;
    }

    /// Seconds from the resume after the last throttle back to its `W_max` (for tests, reports).
    pub fn recovery(&self) -> Option<Duration> {
        self.cut
            .map(|c| Duration::from_secs_f64(c.k).saturating_sub(c.resume - c.from))
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
        r.on_throttle(t0, at(t0, 1.0), true);
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
        r.on_throttle(at(t0, 1.0), at(t0, 1.0), true); // 30 admitted in 1 s: W_max 30
        let w: f64 = 30.0;
        let k = RECOVERY_CALLS / w;
        // Measured, so the climb starts at 0.9·W_max and is back at W_max before K.
        assert!((r.per_second(at(t0, 1.0)) - 0.9 * w).abs() < 1e-6);
        let back = r.recovery().unwrap().as_secs_f64();
        assert!(back < k && back > 0.5 * k, "{back} of {k}");
        send(&mut r, t0, 1.0, 12.0, 360); // 30/s
        let c = w * 0.3 / k.powi(3);
        for dt in [1.0, 2.0, 4.0] {
            let got = r.per_second(at(t0, 1.0 + back + dt));
            assert!((got - (w + c * dt.powi(3))).abs() < 1e-6, "{dt}: {got}");
        }
        let top = r.per_second(at(t0, 1.0 + 3.0 * k));
        assert!(
            (55.0..=60.0).contains(&top),
            "twice the measured rate, at most the ceiling: {top}"
        );
        // A client that sends little can't probe far above W_max.
        let mut idle = AdaptiveRate::new(3600.0);
        send(&mut idle, t0, 0.0, 1.0, 31);
        idle.on_throttle(at(t0, 1.0), at(t0, 1.0), true);
        send(&mut idle, t0, 1.0, 12.0, 24); // 2/s
        let capped = idle.per_second(at(t0, 1.0 + 3.0 * k));
        assert!((capped - w).abs() < 1e-9, "{capped}");
    }

    /// The first throttle: the target's burst inflates what it admitted before it, so when it
    /// names its pause the window runs to the pause's end; unnamed (the client's own guess),
    /// the window ends at the throttle and W_max is the rate in force. A call followed by a
    /// silence (the target check, then the manifest read) doesn't start the window.
    #[test]
    fn first_window_runs_to_the_named_pause() {
        let t0 = Instant::now();
        // 30 of 31 calls admitted in 0.5 s (a burst of 25 and 10/s), resume at 1.5 s.
        let first = |named| {
            let mut r = AdaptiveRate::new(3600.0); // 60/s
            r.on_grant(t0); // the check, 0.5 s before the streak
            send(&mut r, t0, 0.5, 0.5, 31);
            r.on_throttle(at(t0, 1.0), at(t0, 2.0), named);
            r
        };
        // Named: 30 over 1.5 s, far below the 60/s asked for: measured, climb from 0.9·W_max.
        let named = first(true);
        let w_max = 30.0 / 1.5;
        assert!((named.per_second(at(t0, 2.0)) - 0.9 * w_max).abs() < 1e-6);
        // Unnamed: 30 over 0.5 s is what was asked for: W_max is the rate in force.
        let guessed = first(false);
        assert!((guessed.per_second(at(t0, 2.0)) - 42.0).abs() < 1e-9);
        assert_eq!(
            guessed.recovery(),
            Some(Duration::from_secs_f64(RECOVERY_CALLS / 60.0))
        );
    }

    /// After the first throttle, the window runs from one throttle to the next (the pause
    /// included, when the target's bucket refilled): W_max is the rate in force when the
    /// target admitted about that much, the admitted rate when the client asked for far more.
    #[test]
    fn w_max_is_the_admitted_rate_when_far_below() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(3600.0); // 60/s
        send(&mut r, t0, 0.0, 0.5, 31);
        r.on_throttle(at(t0, 0.5), at(t0, 1.5), false); // 30 of 31 admitted in 0.5 s: W_max 60
        assert!((r.per_second(at(t0, 1.5)) - 42.0).abs() < 1e-9);
        // Pause 0.5..1.5, then 42/s for 0.5 s: 21 calls of which 1 answered 429 (an echo of
        // an earlier call) and the new throttle: 19 admitted over 1.5 s.
        send(&mut r, t0, 1.5, 0.5, 21);
        r.on_echo();
        r.on_throttle(at(t0, 2.0), at(t0, 3.0), true);
        let w_max = 19.0 / 1.5;
        assert!((r.per_second(at(t0, 3.0)) - 0.9 * w_max).abs() < 1e-6);
        let k = RECOVERY_CALLS / w_max;
        let back = r.recovery().unwrap().as_secs_f64();
        assert!((back - k * (1.0_f64 / 3.0).cbrt()).abs() < 1e-6, "{back}");
        // Near the rate in force (19 admitted in 2 s at 10/s asked, the pause not named): W_max
        // is that rate, cut by β, and the climb takes all of K.
        let mut near = AdaptiveRate::new(600.0);
        send(&mut near, t0, 0.0, 2.0, 20);
        near.on_throttle(at(t0, 2.0), at(t0, 3.0), false);
        assert!((near.per_second(at(t0, 3.0)) - 7.0).abs() < 1e-9);
        assert_eq!(near.recovery(), Some(Duration::from_secs(20)));
    }

    /// The rate never drops below the floor, however many throttles come.
    #[test]
    fn never_below_the_floor() {
        let t0 = Instant::now();
        let mut r = AdaptiveRate::new(600.0);
        for i in 0..100 {
            r.on_throttle(at(t0, f64::from(i)), at(t0, f64::from(i)), true);
        }
        assert!(r.per_second(at(t0, 100.0)) >= FLOOR);
        assert_eq!(r.recovery(), Some(Duration::from_secs_f64(MAX_K)));
    }
}
