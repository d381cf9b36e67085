//! Tests of the request budget under a paused clock: pacing, priorities, 429 pauses and the
//! adaptive rate.

use super::*;

fn budget(per_minute: u32, burst: u32) -> Budget {
    Budget::new(BudgetConfig {
        per_minute,
        burst,
        concurrency: 4,
        starve_after: Duration::from_secs(30),
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
/// climbs back to the ceiling; a second report of the same throttle neither pauses nor cuts
/// again.
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
    // K, the time of 200 calls at W_max (100/min), is capped at 120 s; flat near the top.
    tokio::time::advance(Duration::from_secs(60)).await;
    let half = b.current_rate();
    assert!((96.0..100.0).contains(&half), "rate {half}");
    tokio::time::advance(Duration::from_secs(70)).await;
    assert!(
        (b.current_rate() - 100.0).abs() < 1e-9,
        "rate {}",
        b.current_rate()
    );
    assert_eq!(b.throttles(), 2);
}

/// A 429 for a call let through before the pause is an echo: it doesn't pause or cut again;
/// one for a call let through after the pause is a new throttle.
#[tokio::test(start_paused = true)]
async fn echoes_of_a_throttle_are_ignored() {
    let b = Arc::new(budget(600, 10));
    // Two calls let through in the same window, each answered 429 when told to.
    let mut answers = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let b = b.clone();
        answers.push(tx);
        tasks.push(tokio::spawn(Priority::Import.scope(async move {
            drop(b.acquire().await);
            rx.await.unwrap();
            b.on_throttled(Some(Duration::from_secs(1)));
        })));
    }
    while b.grants() < 2 {
        tokio::task::yield_now().await;
    }
    let (first, second) = (answers.remove(0), answers.remove(0));
    first.send(()).unwrap();
    tasks.remove(0).await.unwrap();
    let cut = b.current_rate();
    assert!((cut - 420.0).abs() < 1e-6, "rate {cut}");
    second.send(()).unwrap();
    tasks.remove(0).await.unwrap();
    assert_eq!(b.current_rate(), cut, "the echo changed nothing");
    // A call let through after the pause: its 429 is a new throttle.
    Priority::Import
        .scope(async {
            drop(b.acquire().await);
            b.on_throttled(None);
        })
        .await;
    assert!(b.current_rate() < cut - 1.0, "rate {}", b.current_rate());
    assert_eq!(b.throttles(), 3);
}

/// No more requests are in flight than the concurrency cap.
#[tokio::test(start_paused = true)]
async fn caps_requests_in_flight() {
    let b = Arc::new(Budget::new(BudgetConfig {
        per_minute: 6000,
        burst: 100,
        concurrency: 2,
        ..BudgetConfig::default()
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

/// Waiting callers get tokens by priority (unblocking work, imports, polls), first come
/// within a class.
#[tokio::test(start_paused = true)]
async fn serves_waiters_by_priority() {
    let b = Arc::new(Budget::new(BudgetConfig {
        per_minute: 60,
        burst: 1,
        concurrency: 8,
        ..BudgetConfig::default()
    }));
    drop(b.acquire().await); // the bucket is empty now
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (name, priority) in [
        ("poll", Priority::Poll),
        ("import-1", Priority::Import),
        ("unblock", Priority::Unblock),
        ("import-2", Priority::Import),
    ] {
        let (b, order) = (b.clone(), order.clone());
        tasks.push(tokio::spawn(priority.scope(async move {
            drop(b.acquire().await);
            order.lock().unwrap().push(name);
        })));
        tokio::task::yield_now().await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        vec!["unblock", "import-1", "import-2", "poll"]
    );
}

/// A low-priority waiter is served once it has waited `starve_after`, even while
/// higher-priority callers keep coming.
#[tokio::test(start_paused = true)]
async fn polls_are_not_starved() {
    let b = Arc::new(Budget::new(BudgetConfig {
        per_minute: 60,
        burst: 1,
        concurrency: 8,
        starve_after: Duration::from_secs(5),
    }));
    drop(b.acquire().await); // the bucket is empty now
    let t0 = Instant::now();
    let poll = {
        let b = b.clone();
        tokio::spawn(Priority::Poll.scope(async move {
            drop(b.acquire().await);
            Instant::now()
        }))
    };
    // Two importers that always want a token.
    let mut imports = Vec::new();
    for _ in 0..2 {
        let b = b.clone();
        imports.push(tokio::spawn(Priority::Import.scope(async move {
            for _ in 0..20 {
                drop(b.acquire().await);
            }
        })));
    }
    let served = poll.await.unwrap() - t0;
    assert!(served >= Duration::from_secs(5), "{served:?}");
    assert!(served <= Duration::from_secs(7), "{served:?}");
    for t in imports {
        t.await.unwrap();
    }
}
