//! The readiness stage: accepted is not done. Polls accepted files with Get File Descriptors,
//! 100 ids a call, until each is READY or FAILED, at the budget's lowest priority.
//!
//! Polls are paced by how long processing takes and go out full: the [`Tracker`] holds every
//! file this run saw accepted with the time it is worth asking about (accepted + the estimated
//! processing time; after a PENDING answer, a growing backoff), and a poll waits for 100 due
//! ids — fewer only once imports are over. Files accepted elsewhere (an earlier run, settled
//! rows, uploads) are found in the journal and are due at once. The tracker also holds imports
//! back when too many files wait for confirmation, so polls are never starved for long.

mod tracker;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{PipelineError, RunContext};
use crate::control::budget::Priority;
use crate::journal::answers::PROCESSING_FAILED;
use crate::journal::{FileFacts, Outcome};
use wix_media_wire::types::OperationStatus;
use wix_media_wire::types::limits::GET_FILES_MAX_IDS;

use self::tracker::Found;
pub(crate) use self::tracker::Tracker;

/// Rows read from the journal to find files the tracker didn't see accepted.
const DISCOVERY_ROWS: usize = 1000;
/// How often, at most, the journal is searched for them while a poll isn't full.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// Once imports are over, how long a due file may wait for others to fill its poll: a quarter
/// of the processing time, within these bounds.
const MIN_LATENESS: Duration = Duration::from_millis(250);
const MAX_LATENESS: Duration = Duration::from_secs(3);

/// When the next poll goes.
enum NextPoll {
    Now,
    /// When the tracker's files make it due (if they ever do without news).
    At(Option<Instant>),
}

/// A poll goes with a full 100 due ids. Once imports are over (`finished`) it needn't be full:
/// it goes when everything left is due, or when its oldest due file has waited a quarter of a
/// processing time for company.
fn next_poll(tracker: &Tracker, finished: bool, due: usize, now: Instant) -> NextPoll {
    let waiting = tracker.len();
    let lateness = tracker
        .estimate()
        .mul_f64(0.25)
        .clamp(MIN_LATENESS, MAX_LATENESS);
    let oldest = tracker.nth_due(1);
    let tail_ready =
        finished && due > 0 && (due == waiting || oldest.is_some_and(|t| t + lateness <= now));
    if due >= GET_FILES_MAX_IDS || tail_ready {
        return NextPoll::Now;
    }
    let full = tracker.nth_due(GET_FILES_MAX_IDS);
    if !finished {
        return NextPoll::At(full);
    }
    let last = tracker
        .nth_due(waiting)
        .filter(|_| waiting < GET_FILES_MAX_IDS);
    NextPoll::At(
        [full, oldest.map(|t| t + lateness), last]
            .into_iter()
            .flatten()
            .min(),
    )
}

/// Polls until every accepted row is final, the wait times out (→ `true`), or the run stops.
pub(crate) async fn poll_until_done(
    ctx: Arc<RunContext>,
    mut imports_done: watch::Receiver<bool>,
) -> Result<bool, PipelineError> {
    let tracker = &ctx.tracker;
    let mut deadline: Option<Instant> = None;
    let mut next_discovery = Instant::now();
    loop {
        let finished = *imports_done.borrow();
        if !ctx.config.wait || ctx.stop.is_stopped() {
            if finished {
                return Ok(false);
            }
            let _ = imports_done.changed().await;
            continue;
        }
        let changed = tracker.changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = Instant::now();
        if finished {
            let d = *deadline.get_or_insert_with(|| now + ctx.config.wait_timeout);
            if now >= d {
                return Ok(true);
            }
        }
        let mut due = tracker.due_count(now, GET_FILES_MAX_IDS);
        if due < GET_FILES_MAX_IDS && (now >= next_discovery || finished && tracker.len() == 0) {
            let rows = ctx.journal.with(|j| j.processing(DISCOVERY_ROWS)).await?;
            let found_none = rows.is_empty();
            tracker.adopt(rows.into_iter().filter_map(|r| r.file_id), now);
            next_discovery = now + DISCOVERY_INTERVAL;
            if finished && found_none && tracker.len() == 0 {
                return Ok(false);
            }
            due = tracker.due_count(now, GET_FILES_MAX_IDS);
        }
        // Imports held back until files are confirmed: the polls that confirm them go short.
        let tail = finished || tracker.imports_held();
        let wake = match next_poll(tracker, tail, due, now) {
            NextPoll::Now => {
                let ids = tracker.take_due(now, GET_FILES_MAX_IDS);
                let found = Priority::Poll.scope(poll_once(&ctx, ids)).await?;
                tracker.record(Instant::now(), &found);
                continue;
            }
            NextPoll::At(wake) => wake.map_or(next_discovery, |w| w.min(next_discovery)),
        };
        // Wait for a full poll's worth to be due, a new acceptance, the end of imports, the
        // next look at the journal, or the stop.
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = &mut changed => {}
            _ = imports_done.changed(), if !finished => {}
            _ = stop.stopped() => {}
        }
    }
}

/// One Get File Descriptors call; says what it found for each id.
async fn poll_once(
    ctx: &Arc<RunContext>,
    ids: Vec<String>,
) -> Result<Vec<(String, Found)>, PipelineError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let files = ctx
        .client
        .get_files(&ids)
        .await
        .map_err(PipelineError::of_call)?;
    let mut seen = HashSet::new();
    let mut failures = HashMap::new();
    let mut all = Vec::with_capacity(files.len());
    let mut found = Vec::with_capacity(ids.len());
    for f in &files {
        let Some(id) = f.id.clone() else { continue };
        let fact = FileFacts::from_descriptor(f, &id);
        let status = if fact.operation_status.is_final() {
            Found::Final
        } else {
            Found::Pending
        };
        if fact.operation_status.is_final() {
            ctx.hosts
                .finished(&id, Some(fact.operation_status == OperationStatus::Ready));
        }
        if fact.operation_status == OperationStatus::Failed {
            let (code, message) = PROCESSING_FAILED;
            failures.insert(id.clone(), (code.to_string(), message.to_string()));
        }
        if seen.insert(id.clone()) {
            found.push((id, status));
        }
        all.push(fact);
    }
    // A file the target no longer has can't become READY.
    let missing: Vec<Outcome> = ids
        .iter()
        .filter(|id| !seen.contains(*id))
        .map(|id| {
            ctx.hosts.finished(id, None);
            found.push((id.clone(), Found::Final));
            Outcome::FileMissing {
                file_id: id.clone(),
            }
        })
        .collect();
    let max_attempts = ctx.config.max_attempts;
    ctx.journal
        .with(move |j| {
            j.record_files(&all, &failures)?;
            j.record_answer(&[], &missing, max_attempts)
        })
        .await?;
    Ok(found)
}
