//! A 429's `Retry-After` is honoured: after the target answers 429 with `Retry-After: S`, the
//! client's next call reaches it no sooner than S later — measured on the target's own clock
//! (`/_local/stats?timeline=true`), not the client's.

use std::sync::Arc;
use std::time::Duration;

use media_migrate::api::client::{MediaClient, Secret, Target};
use media_migrate::control::budget::{Budget, BudgetConfig};
use serde_json::Value;

use crate::support::TestServer;

/// A site limited to 12 calls a minute (a token every 5 s), burst 1: the client's second call,
/// sent at once, is answered 429 with `Retry-After: 5` (4 or 5 when the machine is slow), longer
/// than the client's own pause for a 429 without one (2 s). The read is resent — and reaches the
/// target only once that many seconds have passed since the 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_call_waits_for_retry_after() {
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["throttle-key".to_string()];
        c.rate_limit_per_minute = Some(12);
        c.rate_limit_burst = 1;
    })
    .await;
    let budget = Arc::new(Budget::new(BudgetConfig {
        per_minute: 6000,
        burst: 10,
        concurrency: 4,
        starve_after: Duration::from_secs(30),
    }));
    let target = Target {
        base_url: s.url.clone(),
        api_key: Some(Secret::new("throttle-key")),
        site_id: Some(s.config.site_id.clone()),
    };
    let client = MediaClient::new(target, budget, Duration::from_secs(30)).expect("client");
    client
        .list_files("media-root", None)
        .await
        .expect("the burst's call");
    client
        .list_files("media-root", None)
        .await
        .expect("the call, throttled, then resent");
    // The stats call itself is no API call: the timeline holds the client's three.
    let stats: Value = s
        .http
        .get(format!("{}/_local/stats?timeline=true", s.url))
        .header("Authorization", "throttle-key")
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    let us = |v: &Value| -> Vec<u64> {
        v.as_array()
            .expect("instants")
            .iter()
            .map(|t| t.as_u64().expect("µs"))
            .collect()
    };
    let received = us(&stats["timeline"]["receivedUs"]);
    let throttled = us(&stats["timeline"]["throttledUs"]);
    assert!(received.len() >= 3 && !throttled.is_empty(), "{stats}");
    // What the server said: the whole seconds until its next token, from the first call.
    let wait_us = 5_000_000u64.saturating_sub(throttled[0] - received[0]);
    let retry_after_us = wait_us.div_ceil(1_000_000).max(1) * 1_000_000;
    assert!(
        retry_after_us > 2_000_000,
        "the 429 came too late to tell Retry-After from the default pause: {stats}"
    );
    let gap = received[2] - throttled[0];
    // 0.1 s for the server's two clocks (bucket and stats) at a whole second's edge.
    assert!(
        gap + 100_000 >= retry_after_us,
        "the call after a 429 with Retry-After: {} s came {gap} µs after it",
        retry_after_us / 1_000_000
    );
    assert_eq!(received.len(), 3, "one 429, one resend: {stats}");
    assert_eq!(throttled.len(), 1, "{stats}");
}
