//! `--stage-bandwidth RATE`: one token bucket shared by every upload to the stage, so the
//! uploads together send at most RATE bytes a second (after a burst of one second's worth).
//! A taker reserves its bytes and sleeps once for the debt it made: no polling, and takers are
//! served in the order they came. The clock is tokio's, so tests run it paused.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A cap of bytes per second shared by all uploads.
#[derive(Debug)]
pub struct Bandwidth {
    rate: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Bytes that may go now; negative when takers are waiting for their reservations.
    available: f64,
    at: Instant,
}

impl Bandwidth {
    /// A cap of `bytes_per_sec` (at least 1), its burst of one second available now.
    pub fn new(bytes_per_sec: u64) -> Self {
        let rate = bytes_per_sec.max(1) as f64;
        Self {
            rate,
            bucket: Mutex::new(Bucket {
                available: rate,
                at: Instant::now(),
            }),
        }
    }

    /// Waits until `bytes` may be sent.
    pub async fn take(&self, bytes: u64) {
        let wait = self.reserve(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Reserves `bytes` at `now`; how long until they may go.
    fn reserve(&self, bytes: u64, now: Instant) -> Duration {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.available = (b.available + elapsed * self.rate).min(self.rate);
        b.at = b.at.max(now);
        b.available -= bytes as f64;
        if b.available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.available / self.rate)
        }
    }
}

/// Parses a rate in bytes per second: a number with an optional `K`, `M` or `G` (powers of
/// 1000, as network rates are counted), e.g. `50M`.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                _ => return Err(rate_error(text)),
            };
            (&t[..i], scale)
        }
        _ => (t, 1.0),
    };
    let plain = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match number.parse::<f64>() {
        Ok(n) if plain && n * scale >= 1.0 && n * scale <= 1e15 => Ok((n * scale) as u64),
        _ => Err(rate_error(text)),
    }
}

fn rate_error(text: &str) -> String {
    format!(
        "--stage-bandwidth takes bytes per second with an optional K, M or G (e.g. 50M), at least 1 byte, not {text:?}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rates parse with K/M/G (powers of 1000); zero, negatives and other suffixes are refused.
    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("50M"), Ok(50_000_000));
        assert_eq!(parse_rate("1.5k"), Ok(1_500));
        assert_eq!(parse_rate("2G"), Ok(2_000_000_000));
        assert_eq!(parse_rate("4096"), Ok(4096));
        for bad in ["", "0", "0K", "-5M", "5T", "M", "5 M", "1e3", "abc"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    /// A burst of one second's worth goes at once; after it, reservations queue at the rate.
    #[tokio::test(start_paused = true)]
    async fn reservations_queue_at_the_rate() {
        let bw = Bandwidth::new(1000);
        let t0 = Instant::now();
        assert_eq!(bw.reserve(1000, t0), Duration::ZERO);
        assert_eq!(bw.reserve(500, t0), Duration::from_millis(500));
        assert_eq!(bw.reserve(500, t0), Duration::from_millis(1000));
        // Time refills the bucket, never beyond one second's worth.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(bw.reserve(1000, later), Duration::ZERO);
        assert_eq!(bw.reserve(1, later), Duration::from_millis(1));
    }

    /// Concurrent takers share the cap: 5 seconds' worth takes 4 seconds after the burst.
    #[tokio::test(start_paused = true)]
    async fn concurrent_takers_share_the_cap() {
        let bw = std::sync::Arc::new(Bandwidth::new(1_000_000));
        let t0 = Instant::now();
        let takers: Vec<_> = (0..5)
            .map(|_| {
                let bw = bw.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        bw.take(100_000).await;
                    }
                })
            })
            .collect();
        for t in takers {
            t.await.expect("taker");
        }
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_secs(4) && took < Duration::from_millis(4100),
            "{took:?}"
        );
    }
}
