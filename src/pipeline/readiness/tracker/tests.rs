//! Tests of the tracker: when files are due, the learned processing time, the backlog cap.

use super::*;
use std::sync::Arc;

/// Too many PENDING files raise the estimate above the youngest file's age; a poll that
/// finds its files done near the estimate lowers it; polls of old files change nothing.
#[test]
fn estimate_learns_from_polls() {
    let mut e = ProcessingEstimate::new();
    assert_eq!(e.get(), Duration::from_secs(2));
    // Polled at 2 s: half still pending → above 2 s.
    e.observe(&[(2.0, true), (2.0, false), (2.1, true), (2.1, false)]);
    assert!((e.secs - 2.5).abs() < 1e-9, "{e:?}");
    // Polled early again (the tail): what's pending at 1 s says nothing new.
    e.observe(&[(1.0, true), (1.0, true)]);
    assert!((e.secs - 2.5).abs() < 1e-9, "doesn't compound: {e:?}");
    // Old files, all done: nothing learned.
    e.observe(&[(30.0, false), (31.0, false)]);
    assert!((e.secs - 2.5).abs() < 1e-9, "{e:?}");
    // Young files all done: lower.
    e.observe(&[(2.0, false), (2.2, false)]);
    assert!((e.secs - 1.8).abs() < 1e-9, "{e:?}");
    // One straggler in twenty is tolerated.
    let mut batch: Vec<(f64, bool)> = (0..19).map(|_| (1.8, false)).collect();
    batch.push((1.8, true));
    e.observe(&batch);
    assert!(e.secs < 1.8, "{e:?}");
    e.observe(&[]);
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("f{i}")).collect()
}

/// Accepted files are due after the estimate (as it stands when they come due); PENDING
/// ones come back after a backoff; final ones leave; journal files not seen accepted are
/// due at once.
#[test]
fn tracker_paces_files() {
    let t = Tracker::new();
    let t0 = Instant::now();
    t.accepted(ids(0..150), t0);
    assert_eq!(t.len(), 150);
    assert_eq!(t.due_count(t0, 100), 0);
    assert_eq!(t.nth_due(100), Some(t0 + Duration::from_secs(2)));
    t.adopt(ids(140..160), t0); // ten new ones
    assert_eq!(t.len(), 160);
    assert_eq!(t.due_count(t0, 100), 10);
    let at = t0 + Duration::from_secs(2);
    let batch = t.take_due(at, 100);
    assert_eq!(batch.len(), 100);
    assert_eq!(&batch[..10], &ids(150..160)[..], "oldest due first");
    // 80 done, 20 pending (a fifth: too early, the estimate rises).
    let found: Vec<(String, Found)> = batch
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.clone(),
                if i < 80 { Found::Final } else { Found::Pending },
            )
        })
        .collect();
    t.record(at, &found);
    assert_eq!(t.len(), 80);
    assert_eq!(t.estimate(), Duration::from_secs_f64(2.5));
    // The 60 never polled are due at acceptance + the new estimate; the 20 pending ones
    // half an estimate after the poll.
    assert_eq!(t.due_count(at, 100), 0);
    assert_eq!(t.due_count(t0 + Duration::from_secs_f64(2.5), 100), 60);
    assert_eq!(t.due_count(at + Duration::from_secs_f64(1.25), 100), 80);
    assert_eq!(t.nth_due(80), Some(at + Duration::from_secs_f64(1.25)));
}

/// Imports wait while too many files wait for confirmation, and go on when polls clear them.
#[tokio::test(start_paused = true)]
async fn backlog_holds_imports_back() {
    let t = Arc::new(Tracker::new());
    let t0 = Instant::now();
    t.accepted(ids(0..10), t0);
    let waiter = {
        let t = t.clone();
        tokio::spawn(async move { t.wait_below(10).await })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    let batch = t.take_due(t0 + Duration::from_secs(5), 1);
    t.record(
        t0 + Duration::from_secs(5),
        &[(batch[0].clone(), Found::Final)],
    );
    waiter.await.unwrap();
}

/// The backlog allowed is what the budget confirms in 30 s, or in 3 processing times.
#[test]
fn backlog_follows_budget_and_processing_time() {
    assert_eq!(backlog_cap(200, Duration::from_secs(2)), 5000);
    assert_eq!(backlog_cap(200, Duration::from_secs(60)), 30000);
    assert_eq!(backlog_cap(6, Duration::from_secs(1)), 1000);
}
