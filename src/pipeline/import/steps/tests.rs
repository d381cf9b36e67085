//! Tests of the import loop's decisions, as tables.

use super::*;

/// The batch decision as a table: full batches go; a short one waits while anything is in
/// flight or unread or while hosts without room have files in fetch, gathers requeued rows
/// first, and goes last.
#[test]
fn batch_step_table() {
    use BatchStep::*;
    let cases = [
        // rows, exhausted, in flight, requeued, hosts full, held for room → step
        (0, true, 0, 0, false, false, Nothing),
        (0, false, 3, 5, false, false, Nothing),
        (0, true, 0, 0, true, true, Nothing),
        (10, false, 0, 0, false, false, Send),
        (10, true, 4, 2, false, false, Send),
        (12, false, 2, 0, false, false, Send),
        (10, true, 0, 0, true, true, Send),
        (3, false, 0, 0, false, false, Hold),
        (3, true, 1, 0, false, false, Hold),
        (3, false, 1, 4, false, false, Hold),
        (3, true, 0, 4, false, false, Gather),
        (3, true, 0, 0, false, false, Send),
        // Short for want of room on hosts that will free it: wait for them.
        (3, true, 0, 0, true, true, Hold),
        (3, true, 0, 4, true, true, Hold),
        // Short for want of room on hosts with nothing in fetch (windows below a batch):
        // waiting adds nothing, so it goes — unless batches in flight may still answer.
        (3, false, 0, 0, false, true, Send),
        (3, false, 1, 0, false, true, Hold),
    ];
    for (rows, exhausted, in_flight, requeued, hosts_full, held_for_room, want) in cases {
        let planned = Planned {
            rows,
            size: 10,
            exhausted,
            in_flight,
            requeued,
            hosts_full,
            held_for_room,
        };
        assert_eq!(batch_step(&planned), want, "{planned:?}");
    }
}

/// The idle decision as a table: a stop ends the pass, a backlog waits, rows waiting for room
/// on busy hosts wait, a read stopped at the staging front waits for it, unread rows are
/// planned, requeued rows are read again, and then the pass is over.
#[test]
fn idle_step_table() {
    use IdleStep::*;
    let cases = [
        // stopped, backlogged, hosts full, at stage front, drained, requeued → step
        (true, true, false, false, false, 3, Finish),
        (true, false, true, false, false, 0, Finish),
        (true, false, false, false, true, 0, Finish),
        (true, false, false, true, false, 0, Finish),
        (false, true, false, false, true, 0, AwaitBacklog),
        (false, true, true, false, false, 2, AwaitBacklog),
        (false, true, false, true, false, 0, AwaitBacklog),
        (false, false, true, false, false, 0, AwaitHosts),
        (false, false, true, false, false, 5, AwaitHosts),
        (false, false, true, true, false, 0, AwaitHosts),
        (false, false, false, true, false, 0, AwaitStage),
        (false, false, false, true, false, 4, AwaitStage),
        (false, false, false, false, false, 0, Again),
        (false, false, false, false, false, 7, Again),
        (false, false, false, false, true, 7, Rescan),
        (false, false, false, false, true, 0, Finish),
    ];
    for (stopped, backlogged, hosts_full, at_stage_front, drained, requeued, want) in cases {
        let idle = Idle {
            stopped,
            backlogged,
            hosts_full,
            drained,
            requeued,
            at_stage_front,
        };
        assert_eq!(idle_step(&idle), want, "{idle:?}");
    }
}

/// A batch waiting to look at the target after a 5xx gives its slot to another, up to twice
/// the concurrency in flight.
#[test]
fn batches_waiting_to_look_hold_no_slot() {
    let cases = [
        // in flight, looking, concurrency → a slot
        (0, 0, 4, true),
        (3, 0, 4, true),
        (4, 0, 4, false),
        (4, 1, 4, true),
        (5, 1, 4, false),
        (7, 4, 4, true),
        (8, 4, 4, false),
        (8, 8, 4, false),
        (0, 0, 0, true),
        (1, 0, 0, false),
    ];
    for (in_flight, looking, concurrency, want) in cases {
        assert_eq!(
            has_slot(in_flight, looking, concurrency),
            want,
            "{in_flight} in flight, {looking} looking, concurrency {concurrency}"
        );
    }
}
