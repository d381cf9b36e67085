//! The import loop's decisions, as pure functions of what it knows: what to do with a planned
//! batch, and what to do when nothing is in flight. Tested as tables.

/// What the import loop knows when it has planned a batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned {
    /// Rows the batch could take (their folders claimable).
    pub(super) rows: usize,
    /// A full batch.
    pub(super) size: usize,
    /// The journal has no queued row beyond those read.
    pub(super) exhausted: bool,
    /// Batches in flight.
    pub(super) in_flight: usize,
    /// Rows answered "not done" since the last read from the start.
    pub(super) requeued: u64,
    /// Rows were left out because their hosts have no room, and files of those hosts are in
    /// fetch: waiting frees room.
    pub(super) hosts_full: bool,
    /// Rows were left out because their hosts have no room (in fetch or not).
    pub(super) held_for_room: bool,
}

/// What to do with a planned batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BatchStep {
    /// Nothing to send now.
    Nothing,
    /// Send it.
    Send,
    /// Put it back: it is short while batches in flight may still free its rows' folders or
    /// send company, or while files in fetch will free room on hosts whose rows were left out.
    Hold,
    /// Put it back and read from the start: rows answered "not done" can join this last,
    /// short batch.
    Gather,
}

/// A batch goes out full; only the last of a pass may be short, once nothing is in flight and
/// every row retried in the meantime has been gathered into it — or one held short by hosts
/// without room, once they have nothing in fetch (their windows are smaller than a batch).
pub(super) fn batch_step(p: &Planned) -> BatchStep {
    if p.rows == 0 {
        BatchStep::Nothing
    } else if p.rows >= p.size {
        BatchStep::Send
    } else if p.hosts_full {
        BatchStep::Hold
    } else if p.held_for_room && p.in_flight == 0 {
        // Hosts whose windows are smaller than a batch, with nothing in fetch: waiting adds no
        // row of theirs, and the rows read are all theirs.
        BatchStep::Send
    } else if !(p.exhausted && p.in_flight == 0) {
        BatchStep::Hold
    } else if p.requeued > 0 {
        BatchStep::Gather
    } else {
        BatchStep::Send
    }
}

/// What the import loop knows when nothing is in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Idle {
    pub(super) stopped: bool,
    /// More files wait for confirmation than the budget confirms soon.
    pub(super) backlogged: bool,
    /// Rows wait for room on hosts with files in fetch.
    pub(super) hosts_full: bool,
    /// Every queued row has been read and planned.
    pub(super) drained: bool,
    /// Rows answered "not done" since the last read from the start.
    pub(super) requeued: u64,
    /// The read stopped where the staging stage is: the rows beyond are being staged.
    pub(super) at_stage_front: bool,
}

/// What to do when nothing is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdleStep {
    /// The pass is over.
    Finish,
    /// Wait until the backlog of unconfirmed files shrinks (or the run stops).
    AwaitBacklog,
    /// Wait until hosts whose rows wait free room (or the run stops).
    AwaitHosts,
    /// Wait until the staging stage has gone past the rows read (or the run stops).
    AwaitStage,
    /// Read the journal from the start again, for rows queued again.
    Rescan,
    /// Plan again.
    Again,
}

pub(super) fn idle_step(i: &Idle) -> IdleStep {
    if i.stopped {
        IdleStep::Finish
    } else if i.backlogged {
        IdleStep::AwaitBacklog
    } else if i.hosts_full {
        IdleStep::AwaitHosts
    } else if i.at_stage_front {
        IdleStep::AwaitStage
    } else if !i.drained {
        IdleStep::Again
    } else if i.requeued > 0 {
        IdleStep::Rescan
    } else {
        IdleStep::Finish
    }
}

/// Whether another batch may go, with `in_flight` batches in flight of which `looking` wait to
/// look at the target after a 5xx: fewer than `concurrency` are sending (a batch waiting for
/// its look spends no budget, so it holds no slot), and fewer than twice that in all (a storm
/// of 5xx answers doesn't pile up batches without end).
pub(super) fn has_slot(in_flight: usize, looking: usize, concurrency: usize) -> bool {
    let concurrency = concurrency.max(1);
    in_flight.saturating_sub(looking) < concurrency && in_flight < 2 * concurrency
}

#[cfg(test)]
mod tests;
