//! The host windows: slow start, the cut, additive growth, fixed limits, room accounting.

use super::*;

const FLOOR: f64 = 10.0;

fn answer(w: &mut Window, ok: bool, n: usize) {
    for _ in 0..n {
        w.answered(ok, FLOOR);
    }
}

#[test]
fn host_keys_keep_the_port_and_ignore_what_is_not_a_url() {
    assert_eq!(
        host_of("https://CDN.Example.com/a.png").as_deref(),
        Some("cdn.example.com")
    );
    assert_eq!(
        host_of("http://127.0.0.1:8080/x").as_deref(),
        Some("127.0.0.1:8080")
    );
    assert_eq!(host_of("photos/a.png"), None);
    assert_eq!(host_of("file:///tmp/a.png"), None);
}

/// A healthy host's window doubles per window's worth of READY files, from one batch.
#[test]
fn slow_start_doubles_per_round_trip() {
    let mut w = Window::adaptive(100.0);
    assert_eq!(w.room(), 100);
    answer(&mut w, true, 100);
    assert_eq!(w.limit, 200.0);
    answer(&mut w, true, 200);
    assert_eq!(w.limit, 400.0);
}

/// More than a third FAILED in a window: halved, then growing a batch per healthy window.
#[test]
fn trouble_halves_the_window_and_growth_turns_additive() {
    let mut w = Window::adaptive(100.0);
    answer(&mut w, false, 40);
    answer(&mut w, true, 60);
    // 60 READY grew it to 160 during the judgement; 40 of 100 failed: halved.
    assert!(w.limit < 100.0, "cut: {}", w.limit);
    let cut = w.limit;
    answer(&mut w, true, cut as usize);
    assert_eq!(w.limit, cut + FLOOR, "additive once out of slow start");
}

/// A host whose files fail now and then keeps its window (re-imports heal those).
#[test]
fn occasional_failures_are_tolerated() {
    let mut w = Window::adaptive(100.0);
    for _ in 0..10 {
        answer(&mut w, false, 2);
        answer(&mut w, true, 8);
    }
    assert!(w.limit > 100.0, "still growing: {}", w.limit);
}

/// A failing host's window bottoms out at the floor, never at zero.
#[test]
fn the_window_never_falls_below_the_floor() {
    let mut w = Window::adaptive(100.0);
    answer(&mut w, false, 1000);
    assert_eq!(w.limit, FLOOR);
    assert_eq!(w.room(), 10);
}

#[test]
fn a_fixed_window_never_moves() {
    let mut w = Window::fixed(5);
    answer(&mut w, false, 100);
    answer(&mut w, true, 100);
    assert_eq!(w.limit, 5.0);
    w.in_fetch = 7;
    assert_eq!(w.room(), 0);
}

/// Room is taken by sends, held by files in fetch, given back by their answers; files the
/// target isn't fetching give it back at once.
#[test]
fn room_follows_the_files_in_fetch() {
    let pacer = HostPacer::new(true, Some(3), 100, Duration::from_secs(60));
    let hosts = ["a:1", "a:1", "a:1"];
    pacer.sending(hosts);
    let mut rooms = pacer.rooms();
    assert!(!rooms.fits(Some("a:1")), "a:1 is full");
    assert!(rooms.fits(Some("b:1")) && rooms.fits(None));
    assert!(rooms.blocked.contains("a:1"));
    assert!(pacer.any_in_fetch(&rooms.blocked));
    pacer.sent("a:1", Some("f1"), None);
    pacer.sent("a:1", Some("f2"), None);
    pacer.sent("a:1", None, None);
    assert_eq!(pacer.room("a:1"), 1);
    pacer.finished("f1", Some(true));
    pacer.finished("f1", Some(true)); // twice: counted once
    assert_eq!(pacer.room("a:1"), 2);
    pacer.finished("f2", None);
    assert_eq!(pacer.room("a:1"), 3);
    assert!(!pacer.any_in_fetch(&HashSet::from(["a:1".to_string()])));
}

/// What a batch plans counts against the room.
#[test]
fn planning_counts_what_it_takes() {
    let pacer = HostPacer::new(true, Some(2), 100, Duration::from_secs(60));
    let mut rooms = pacer.rooms();
    for _ in 0..2 {
        assert!(rooms.fits(Some("h")));
        rooms.take(Some("h"));
    }
    assert!(!rooms.fits(Some("h")));
}

/// Without waiting for processing nothing is confirmed, so nothing is paced.
#[test]
fn an_unpaced_run_has_room_everywhere() {
    let pacer = HostPacer::new(false, Some(1), 100, Duration::from_secs(60));
    pacer.sending(["h", "h", "h"]);
    assert!(pacer.rooms().fits(Some("h")));
}

/// A file in fetch for longer than the expiry gives its room back.
#[tokio::test(start_paused = true)]
async fn files_stuck_in_fetch_expire() {
    let pacer = HostPacer::new(true, Some(1), 100, Duration::from_secs(60));
    pacer.sending(["h"]);
    pacer.sent("h", Some("f"), None);
    assert_eq!(pacer.room("h"), 0);
    let next = pacer.expire(Instant::now()).expect("a file in fetch");
    tokio::time::advance(Duration::from_secs(61)).await;
    assert!(next <= Instant::now());
    assert_eq!(pacer.expire(Instant::now()), None);
    assert_eq!(pacer.room("h"), 1);
}

/// Only windows trouble cut are reported; fixed ones never are.
#[test]
fn cut_hosts_are_the_troubled_ones() {
    let pacer = HostPacer::new(true, None, 100, Duration::from_secs(60));
    // Two batches' worth of answers: one judgement of the first window.
    pacer.sending(std::iter::repeat_n("bad", 200).chain(std::iter::repeat_n("good", 200)));
    for i in 0..200 {
        let (bad, good) = (format!("b{i}"), format!("g{i}"));
        pacer.sent("bad", Some(&bad), None);
        pacer.sent("good", Some(&good), None);
        pacer.finished(&bad, Some(false));
        pacer.finished(&good, Some(true));
    }
    assert_eq!(pacer.cut_hosts(), vec![("bad".to_string(), 100)]);
    let fixed = HostPacer::new(true, Some(5), 100, Duration::from_secs(60));
    fixed.sending(["h"]);
    fixed.sent("h", None, Some(false));
    assert!(fixed.cut_hosts().is_empty());
}
