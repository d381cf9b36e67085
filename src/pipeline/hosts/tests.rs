//! The pacer: host keys, room accounting across sends, answers and expiry, the hosts it
//! reports cut. (The window's decisions are tested in `window/tests.rs`.)

use super::*;

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

/// A new host is trusted: rows of it always fit, however many are in fetch.
#[test]
fn a_new_host_has_room_for_every_row() {
    let pacer = HostPacer::new(true, None, 100, Duration::from_secs(60));
    pacer.sending(std::iter::repeat_n("h", 10_000));
    let mut rooms = pacer.rooms();
    for _ in 0..1_000 {
        assert!(rooms.fits(Some("h")));
        rooms.take(Some("h"));
    }
    assert!(rooms.blocked.is_empty());
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

/// Only windows trouble cut are reported, with their windows; fixed ones never are.
#[test]
fn cut_hosts_are_the_troubled_ones() {
    let pacer = HostPacer::new(true, None, 100, Duration::from_secs(60));
    pacer.sending(std::iter::repeat_n("bad", 200).chain(std::iter::repeat_n("good", 200)));
    for i in 0..200 {
        let (bad, good) = (format!("b{i}"), format!("g{i}"));
        pacer.sent("bad", Some(&bad), None);
        pacer.sent("good", Some(&good), None);
        pacer.finished(&bad, Some(false));
        pacer.finished(&good, Some(true));
    }
    // Cut at its 20th FAILED answer (to half of the ~180 in fetch), halved at each 20 more.
    assert_eq!(pacer.cut_hosts(), vec![("bad".to_string(), 10)]);
    let mut rooms = pacer.rooms();
    assert!(rooms.fits(Some("good")));
    assert!(rooms.fits(Some("bad")), "nothing of it in fetch any more");
    let fixed = HostPacer::new(true, Some(5), 100, Duration::from_secs(60));
    fixed.sending(["h"]);
    fixed.sent("h", None, Some(false));
    assert!(fixed.cut_hosts().is_empty());
}
