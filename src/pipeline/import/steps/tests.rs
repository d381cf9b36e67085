//! Tests of the import loop's decisions, as tables.

use super::*;

/// The batch decision as a table: full batches go; a short one waits while anything is in
/// flight or unread, gathers requeued rows first, and goes last.
#[test]
fn batch_step_table() {
    use BatchStep::*;
    let cases = [
        // rows, exhausted, in flight, requeued → step
        (0, true, 0, 0, Nothing),
        (0, false, 3, 5, Nothing),
        (10, false, 0, 0, Send),
        (10, true, 4, 2, Send),
        (12, false, 2, 0, Send),
        (3, false, 0, 0, Hold),
        (3, true, 1, 0, Hold),
        (3, false, 1, 4, Hold),
        (3, true, 0, 4, Gather),
        (3, true, 0, 0, Send),
    ];
    for (rows, exhausted, in_flight, requeued, want) in cases {
        let planned = Planned {
            rows,
            size: 10,
            exhausted,
            in_flight,
            requeued,
        };
        assert_eq!(batch_step(&planned), want, "{planned:?}");
    }
}

/// The idle decision as a table: a stop ends the pass, a backlog waits, unread rows are
/// planned, requeued rows are read again, and then the pass is over.
#[test]
fn idle_step_table() {
    use IdleStep::*;
    let cases = [
        // stopped, backlogged, drained, requeued → step
        (true, true, false, 3, Finish),
        (true, false, true, 0, Finish),
        (false, true, true, 0, AwaitBacklog),
        (false, true, false, 2, AwaitBacklog),
        (false, false, false, 0, Again),
        (false, false, false, 7, Again),
        (false, false, true, 7, Rescan),
        (false, false, true, 0, Finish),
    ];
    for (stopped, backlogged, drained, requeued, want) in cases {
        let idle = Idle {
            stopped,
            backlogged,
            drained,
            requeued,
        };
        assert_eq!(idle_step(&idle), want, "{idle:?}");
    }
}
