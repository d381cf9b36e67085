//! The window as a function of events: trust until trouble, the first cut, pacing after it.
//! Each test is a table of event sequences and what the window is after them.

use super::*;

/// Batches of 100: a floor and step of 10, a first cut from at most 200, judgements of 200.
const SIZES: Sizes = Sizes {
    floor: 10.0,
    cut_base: 200.0,
    span: 200,
};

#[derive(Debug, Clone, Copy)]
enum Ev {
    /// Files sent.
    Send(usize),
    /// Files answered READY.
    Ready(usize),
    /// Files answered FAILED.
    Failed(usize),
    /// Files left fetch unanswered.
    Release(usize),
    /// Files answered, one FAILED in every `every`: a flaky link, evenly spread.
    Flaky { answers: usize, every: usize },
}

fn play(mut w: Window, events: &[Ev]) -> Window {
    for ev in events {
        match *ev {
            Ev::Send(n) => (0..n).for_each(|_| w.sent()),
            Ev::Ready(n) => (0..n).for_each(|_| w.answered(true, &SIZES)),
            Ev::Failed(n) => (0..n).for_each(|_| w.answered(false, &SIZES)),
            Ev::Release(n) => (0..n).for_each(|_| w.released()),
            Ev::Flaky { answers, every } => {
                (0..answers).for_each(|i| w.answered(i % every != 0, &SIZES))
            }
        }
    }
    w
}

use Ev::*;

/// When trouble is judged: clearly above a third at once, above a third at all once a
/// judgement is over, never on fewer than 20 answers.
#[test]
fn judging_the_answers() {
    let table = [
        // (answered, failed, span, verdict)
        (19, 19, 200, Verdict::Open),
        (20, 20, 200, Verdict::Trouble),
        (20, 12, 200, Verdict::Trouble),
        (20, 11, 200, Verdict::Open),
        (40, 21, 200, Verdict::Trouble),
        (40, 20, 200, Verdict::Open),
        (100, 46, 200, Verdict::Trouble),
        (100, 45, 200, Verdict::Open),
        (100, 45, 100, Verdict::Trouble),
        (100, 33, 100, Verdict::Healthy),
        (100, 34, 100, Verdict::Trouble),
        (199, 66, 200, Verdict::Open),
        (200, 66, 200, Verdict::Healthy),
        (200, 67, 200, Verdict::Trouble),
        // A small window is still judged on 20 answers at least.
        (10, 9, 10, Verdict::Open),
        (20, 6, 10, Verdict::Healthy),
    ];
    for (answered, failed, span, want) in table {
        assert_eq!(
            judge(answered, failed, span),
            want,
            "{failed} of {answered} failed, judgement of {span}"
        );
    }
}

/// A host that has shown no trouble never holds a row back, however much it has in fetch and
/// however many of its files fail now and then.
#[test]
fn a_trusted_host_has_room_for_everything() {
    let table: [(&str, Vec<Ev>); 5] = [
        ("new", vec![]),
        ("10,000 in fetch", vec![Send(10_000)]),
        ("all READY", vec![Send(10_000), Ready(10_000)]),
        (
            "every fifth FAILED (20 % flaky sources)",
            vec![
                Send(10_000),
                Flaky {
                    answers: 10_000,
                    every: 5,
                },
            ],
        ),
        (
            "every fourth FAILED",
            vec![
                Send(10_000),
                Flaky {
                    answers: 10_000,
                    every: 4,
                },
            ],
        ),
    ];
    for (name, events) in table {
        let w = play(Window::trusted(), &events);
        assert_eq!(w.limit, Limit::Trusted, "{name}");
        assert_eq!(w.room(), usize::MAX, "{name}");
    }
}

/// Files failing at random, a fifth of them, as flaky links fail: no cut over 7,200 answers
/// (6,000 rows and their re-imports), for any of these seeds.
#[test]
fn random_flaky_failures_are_noise() {
    for seed in 1..=20 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut w = Window::trusted();
        for _ in 0..7_200 {
            w.sent();
            w.answered(rng.u32(0..100) >= 20, &SIZES);
        }
        assert_eq!(w.limit, Limit::Trusted, "seed {seed}");
    }
}

/// The first trouble cuts a trusted host to half of what it had in fetch, one batch at most,
/// a tenth of a batch at least — within its first answers, not a judgement later.
#[test]
fn the_first_trouble_cuts_to_half_the_flight() {
    // In fetch when the 20th FAILED answer came: what was sent less 19.
    let table: [(&str, Vec<Ev>, f64); 6] = [
        ("981 in fetch", vec![Send(1_000), Failed(20)], 100.0),
        ("150 in fetch", vec![Send(169), Failed(20)], 75.0),
        ("60 in fetch", vec![Send(79), Failed(20)], 30.0),
        ("20 in fetch", vec![Send(39), Failed(20)], 10.0),
        ("1 in fetch", vec![Send(20), Failed(20)], 10.0),
        (
            "healthy for a judgement, then 20 FAILED in a row",
            vec![Send(1_000), Ready(200), Failed(20), Ready(55)],
            100.0,
        ),
    ];
    for (name, events, want) in table {
        let w = play(Window::trusted(), &events);
        assert_eq!(w.limit, Limit::Paced(want), "{name}");
    }
    // Sixty percent failing, spread out: cut within its first 40 answers.
    let mut w = Window::trusted();
    (0..1_000).for_each(|_| w.sent());
    let mut at = None;
    for i in 0..200 {
        w.answered(i % 5 >= 3, &SIZES);
        if at.is_none() && w.limit != Limit::Trusted {
            at = Some(i + 1);
        }
    }
    assert!(at.is_some_and(|n| n <= 40), "cut after {at:?} answers");
}

/// Once paced: halved at every trouble down to the floor, grown by the floor per healthy
/// judgement of a window's worth of answers (20 at least).
#[test]
fn a_paced_host_halves_and_grows_by_steps() {
    let cut = vec![Send(1_000), Failed(20)];
    let table: [(&str, Vec<Ev>, f64); 5] = [
        ("cut once", cut.clone(), 100.0),
        (
            "then 20 more FAILED",
            [cut.clone(), vec![Failed(20)]].concat(),
            50.0,
        ),
        (
            "then everything FAILED",
            [cut.clone(), vec![Failed(900)]].concat(),
            10.0,
        ),
        (
            "then a window of READY",
            [cut.clone(), vec![Ready(100)]].concat(),
            110.0,
        ),
        (
            "at the floor, then 20 READY",
            [cut.clone(), vec![Failed(900), Send(20), Ready(20)]].concat(),
            20.0,
        ),
    ];
    for (name, events, want) in table {
        let w = play(Window::trusted(), &events);
        assert_eq!(w.limit, Limit::Paced(want), "{name}");
    }
}

/// Room: a paced window holds what it has in fetch; released files give it back, answered
/// ones too.
#[test]
fn room_follows_the_files_in_fetch() {
    let table: [(Vec<Ev>, usize); 4] = [
        (vec![Send(1_000), Failed(20)], 0),
        (vec![Send(1_000), Failed(20), Release(900)], 20),
        (vec![Send(1_000), Failed(20), Release(980)], 100),
        (vec![Send(1_000), Failed(20), Release(975), Ready(5)], 100),
    ];
    for (events, want) in table {
        assert_eq!(play(Window::trusted(), &events).room(), want, "{events:?}");
    }
}

/// `--source-host-limit`: never adapted, room as fixed.
#[test]
fn a_fixed_window_never_moves() {
    let w = play(Window::fixed(5), &[Send(2), Failed(100), Ready(100)]);
    assert_eq!(w.limit, Limit::Fixed(5));
    let w = play(Window::fixed(5), &[Send(7)]);
    assert_eq!(w.room(), 0);
    let w = play(Window::fixed(5), &[Send(3)]);
    assert_eq!(w.room(), 2);
}

/// The sizes of a batch of 100 and of 20.
#[test]
fn sizes_follow_the_batch() {
    assert_eq!(Sizes::of_batch(100), SIZES);
    assert_eq!(
        Sizes::of_batch(20),
        Sizes {
            floor: 2.0,
            cut_base: 40.0,
            span: 40
        }
    );
}
