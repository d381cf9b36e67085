//! The import stage: queued URL rows (and local files, from their served URLs, with
//! `--serve-sources`) in full batches through Bulk Import, several batches in flight. Rows go to `sending` (committed) before each call and get their outcome after it.
//! A batch goes out full; only the last of a pass may be short, once every row retried in the
//! meantime has been gathered into it.
//!
//! Folders cost no calls of their own: a row whose folder id is unknown is imported with
//! `filePath`, which makes the target create whatever is missing of the chain, and the answer
//! tells the folder's id. Creating is the one thing two calls must not do at once (both might
//! create the same folder), so a batch claims every folder of its rows' paths not yet known to
//! exist, ancestors included, and a row whose path needs a folder another batch in flight has
//! claimed waits for that batch's answer. A folder known to exist, id or not, is safe for any
//! number of calls.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use self::folders::{Folders, take_claimable};
use self::send::{Looking, send};
use self::steps::{BatchStep, Idle, IdleStep, Planned, batch_step, has_slot, idle_step};
use super::hosts::{HostRooms, host_of};
use super::{PipelineError, RunContext, request};
use crate::api::client::CallError;
use crate::control::budget::Priority;
use crate::control::retry::{Disposition, classify_item};
use crate::journal::{FileFacts, JournalRow, Outcome};
use wix_media_wire::types::{BulkImportFileResponse, ImportFileRequest, OperationStatus, rules};

mod folders;
mod send;
mod steps;

/// Rows read from the journal at a time.
const READ_ROWS: usize = 1000;
/// Rows held back because their hosts have no room, at most, while reading on for rows of
/// other hosts.
const MAX_HELD_BACK: usize = 50_000;

/// The rows read from the journal and not sent yet, in manifest order.
struct Queue {
    held: VecDeque<JournalRow>,
    keys: HashSet<String>,
    after_line: u64,
    exhausted: bool,
    /// Rows answered "not done" since the last read from the start: queued again.
    requeued: u64,
    /// Rows left out of the last plan because their hosts had no room.
    held_back: usize,
    /// The last read stopped at the staging stage's front: rows beyond it are being staged.
    at_stage_front: bool,
}

impl Queue {
    /// Reads queued rows until `want` are held, the journal has no more, or the read reaches the
    /// staging front (rows beyond it are read once it has passed them).
    async fn fill(&mut self, ctx: &RunContext, want: usize) -> Result<(), PipelineError> {
        self.at_stage_front = false;
        while self.held.len() < want && !self.exhausted {
            let front = ctx.stage_front.line();
            if self.after_line >= front {
                self.at_stage_front = true;
                break;
            }
            let after = self.after_line;
            let files_too = ctx.config.files_by_url();
            let rows = ctx
                .journal
                .with(move |j| {
                    if files_too {
                        j.queued_any(after, READ_ROWS)
                    } else {
                        j.queued(false, after, READ_ROWS)
                    }
                })
                .await?;
            match rows.last() {
                None => self.exhausted = true,
                // Rows past the front are read again once it has moved past them.
                Some(last) => self.after_line = last.line.min(front),
            }
            for row in rows.into_iter().take_while(|r| r.line <= front) {
                // A staged run sends a local file only once the staging stage stored it.
                let unstaged = row.is_file
                    && ctx
                        .config
                        .stage
                        .as_ref()
                        .is_some_and(|s| !s.is_staged(&row.key));
                if unstaged {
                    continue;
                }
                if self.keys.insert(row.key.clone()) {
                    self.held.push_back(row);
                }
            }
        }
        Ok(())
    }

    /// Reads from the start again, to pick up rows queued again.
    fn rescan(&mut self) {
        (self.after_line, self.exhausted, self.requeued) = (0, false, 0);
    }

    /// The first `size` rows, in order, whose hosts have room and whose folders `batch` can
    /// claim.
    fn plan(
        &mut self,
        folders: &mut Folders,
        rooms: &mut HostRooms,
        batch: u64,
        size: usize,
    ) -> Vec<JournalRow> {
        let mut held_back = 0;
        let admit = |r: &JournalRow| {
            let host = host_of(&r.source);
            let fits = rooms.fits(host.as_deref());
            if fits {
                rooms.take(host.as_deref());
            } else {
                held_back += 1;
            }
            fits
        };
        let rows = take_claimable(
            &mut self.held,
            |r| &r.folder_path,
            admit,
            folders,
            batch,
            size,
        );
        self.held_back = held_back;
        for r in &rows {
            self.keys.remove(&r.key);
        }
        rows
    }

    /// Puts back rows that were planned but not sent, at the front.
    fn put_back(&mut self, rows: Vec<JournalRow>) {
        for row in rows.into_iter().rev() {
            self.keys.insert(row.key.clone());
            self.held.push_front(row);
        }
    }
}

/// One batch in flight: its number and rows.
struct Batch {
    no: u64,
    rows: Vec<JournalRow>,
}

/// A batch's answer: its rows still to record (those the target was found holding after a 5xx
/// are recorded already) and the last call's result.
type Sent = (Batch, Result<BulkImportFileResponse, CallError>);
type Sending = Result<Sent, PipelineError>;

/// Sends every queued row that goes by URL (local files too when served or staged: staged ones
/// up to the staging front); returns how many rows were sent.
pub(crate) async fn import_pass(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let mut pass = Pass {
        folders: Folders::new(ctx.journal.with(|j| j.folders()).await?),
        queue: Queue {
            held: VecDeque::new(),
            keys: HashSet::new(),
            after_line: 0,
            exhausted: false,
            requeued: 0,
            held_back: 0,
            at_stage_front: false,
        },
        in_flight: JoinSet::new(),
        looking: Arc::default(),
        next_no: 0,
        sent: 0,
        blocked: HashSet::new(),
        planned_at: 0,
    };
    loop {
        // Files waiting for confirmation before imports hold back (the estimate may have grown).
        let cap = ctx.config.wait.then(|| {
            let ceiling = ctx.client.budget().ceiling();
            ctx.tracker.backlog_cap(ceiling)
        });
        let backlogged = cap.is_some_and(|c| ctx.tracker.len() >= c);
        if !backlogged {
            pass.launch_ready(ctx).await?;
        }
        let slot = pass.has_slot(ctx);
        let looking = pass.looking.clone();
        let in_flight = &mut pass.in_flight;
        let done = if in_flight.is_empty() {
            let idle = idle_step(&Idle {
                stopped: halted(ctx),
                backlogged,
                hosts_full: ctx.hosts.any_in_fetch(&pass.blocked),
                drained: pass.queue.held.is_empty() && pass.queue.exhausted,
                requeued: pass.queue.requeued,
                at_stage_front: pass.queue.at_stage_front,
            });
            match idle {
                IdleStep::Finish => return Ok(pass.sent),
                IdleStep::AwaitHosts => await_hosts(ctx, pass.planned_at).await,
                IdleStep::AwaitBacklog => {
                    let mut stop = ctx.stop.clone();
                    tokio::select! {
                        _ = ctx.tracker.wait_below(cap.unwrap_or(usize::MAX)) => {}
                        _ = stop.stopped() => {}
                    }
                }
                IdleStep::AwaitStage => {
                    let mut stop = ctx.stop.clone();
                    tokio::select! {
                        _ = ctx.stage_front.passed(pass.queue.after_line) => {}
                        _ = stop.stopped() => {}
                    }
                }
                IdleStep::Rescan => pass.queue.rescan(),
                IdleStep::Again => {}
            }
            continue;
        } else if backlogged {
            tokio::select! {
                done = in_flight.join_next() => done,
                _ = ctx.tracker.wait_below(cap.unwrap_or(usize::MAX)) => continue,
            }
        } else if pass.queue.at_stage_front && slot {
            // Room for a batch, and rows being staged: the front moving plans one.
            let after = pass.queue.after_line;
            tokio::select! {
                done = in_flight.join_next() => done,
                _ = ctx.stage_front.passed(after) => continue,
            }
        } else {
            // A batch that starts waiting to look gives its slot to the next one.
            tokio::select! {
                done = in_flight.join_next() => done,
                _ = looking.started() => continue,
            }
        };
        let Some(done) = done else { continue };
        let (batch, result) = done.map_err(|e| PipelineError::Task(e.to_string()))??;
        match record(ctx, &mut pass.folders, batch, result).await {
            Ok(requeued) => pass.queue.requeued += requeued,
            Err(e @ (PipelineError::AccessRefused(_) | PipelineError::SiteFull(_))) => {
                pass.drain(ctx).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The run stopped, or the staging stage beside this one failed: no new batch goes out; those
/// in flight are answered and recorded.
fn halted(ctx: &RunContext) -> bool {
    ctx.stop.is_stopped() || ctx.stage_front.halted()
}

/// One import pass's state: the rows read and not sent, the folders known and claimed, the
/// batches in flight.
struct Pass {
    folders: Folders,
    queue: Queue,
    in_flight: JoinSet<Sending>,
    /// Batches of `in_flight` waiting to look at the target after a 5xx: they hold no slot.
    looking: Arc<Looking>,
    next_no: u64,
    /// Rows sent in this pass.
    sent: u64,
    /// Hosts that had no room for rows of the last plan, and the hosts' version then.
    blocked: HashSet<String>,
    planned_at: u64,
}

impl Pass {
    /// The site refused the run: nothing new goes out, and the batches already in flight are
    /// answered and recorded (their rows queued again at no attempt when the site refused them
    /// too), so no row is left in doubt by the stop.
    async fn drain(&mut self, ctx: &Arc<RunContext>) {
        while let Some(done) = self.in_flight.join_next().await {
            if let Ok(Ok((batch, result))) = done {
                // The run stops with the first refusal; these answers only need recording.
                let _ = record(ctx, &mut self.folders, batch, result).await;
            }
        }
    }

    /// Whether another batch may go ([`has_slot`]).
    fn has_slot(&self, ctx: &RunContext) -> bool {
        has_slot(
            self.in_flight.len(),
            self.looking.count(),
            ctx.config.import_concurrency,
        )
    }

    /// Launches batches while there is a slot ([`Self::has_slot`]) and a batch worth sending
    /// ([`batch_step`]).
    async fn launch_ready(&mut self, ctx: &Arc<RunContext>) -> Result<(), PipelineError> {
        let concurrency = ctx.config.import_concurrency.max(1);
        let size = ctx.config.batch_size.max(1);
        while self.has_slot(ctx) && !halted(ctx) {
            let held_back = self.queue.held_back.min(MAX_HELD_BACK);
            self.queue
                .fill(ctx, size * (concurrency + 2) + held_back)
                .await?;
            self.planned_at = ctx.hosts.version();
            let mut rooms = ctx.hosts.rooms();
            let rows = self
                .queue
                .plan(&mut self.folders, &mut rooms, self.next_no, size);
            self.blocked = rooms.blocked;
            let step = batch_step(&Planned {
                rows: rows.len(),
                size,
                exhausted: self.queue.exhausted,
                in_flight: self.in_flight.len(),
                requeued: self.queue.requeued,
                hosts_full: ctx.hosts.any_in_fetch(&self.blocked),
                held_for_room: !self.blocked.is_empty(),
            });
            match step {
                BatchStep::Send => {
                    let paths = rows.iter().map(|r| r.folder_path.as_str());
                    let steps = ctx
                        .folder_steps
                        .reach(ctx, paths, &self.folders.known)
                        .await;
                    let steps = match steps {
                        Ok(steps) => steps,
                        Err(e) => {
                            self.folders.release(self.next_no);
                            self.queue.put_back(rows);
                            return Err(e);
                        }
                    };
                    for (path, id) in steps {
                        self.folders.learn(&path, Some(&id));
                    }
                    self.sent += rows.len() as u64;
                    let batch = Batch {
                        no: self.next_no,
                        rows,
                    };
                    let looking = self.looking.clone();
                    launch(ctx, batch, &self.folders, &mut self.in_flight, looking).await?;
                    self.next_no += 1;
                    continue;
                }
                BatchStep::Nothing => {}
                BatchStep::Hold | BatchStep::Gather => {
                    self.folders.release(self.next_no);
                    self.queue.put_back(rows);
                }
            }
            if step != BatchStep::Gather {
                return Ok(());
            }
            self.queue.rescan();
        }
        Ok(())
    }
}

/// Applies a batch's answer; returns how many of its rows are queued to be sent again.
async fn record(
    ctx: &Arc<RunContext>,
    folders: &mut Folders,
    batch: Batch,
    result: Result<BulkImportFileResponse, CallError>,
) -> Result<u64, PipelineError> {
    folders.release(batch.no);
    let stop = site_refusal(&result);
    let (outcomes, learned) = outcomes_of(&batch.rows, result);
    for (row, outcome) in batch.rows.iter().zip(&outcomes) {
        let Some(host) = host_of(&row.source) else {
            continue;
        };
        match outcome {
            Outcome::Accepted { file, .. } if !file.operation_status.is_final() => {
                ctx.hosts.sent(&host, Some(&file.file_id), None);
            }
            Outcome::Accepted { file, .. } => ctx.hosts.sent(
                &host,
                None,
                Some(file.operation_status == OperationStatus::Ready),
            ),
            _ => ctx.hosts.sent(&host, None, None),
        }
    }
    let mut new_ids = Vec::new();
    let mut seen = HashSet::new();
    for (path, id) in learned {
        if !seen.insert(path.clone()) {
            continue;
        }
        if let Some(id) = &id
            && folders.known.get(&path) != Some(id)
        {
            new_ids.push((path.clone(), id.clone()));
        }
        folders.learn(&path, id.as_deref());
    }
    let requeued = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Retry { .. }))
        .count() as u64;
    let accepted: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Accepted { file, .. } if !file.operation_status.is_final() => {
                Some(file.file_id.clone())
            }
            _ => None,
        })
        .collect();
    let max_attempts = ctx.config.max_attempts;
    ctx.journal
        .with(move |j| j.record_answer(&new_ids, &outcomes, max_attempts))
        .await?;
    if let Some(e) = stop {
        return Err(e);
    }
    if ctx.config.wait {
        ctx.tracker.accepted(accepted, Instant::now());
    }
    Ok(requeued)
}

/// What stops the run in a batch's answer: a refusal of the key or site, or a full site —
/// whether the whole call was refused or only some of its items.
fn site_refusal(result: &Result<BulkImportFileResponse, CallError>) -> Option<PipelineError> {
    match result {
        Err(e) if e.stops_the_run() => Some(PipelineError::of_call(e.clone())),
        Err(_) => None,
        Ok(answer) => answer
            .results
            .iter()
            .filter_map(|r| r.item_metadata.error.as_ref())
            .find(|e| e.code == rules::SITE_QUOTA_EXCEEDED)
            .map(|e| PipelineError::SiteFull(format!("bulkImportFile: {}", e.description))),
    }
}

async fn launch(
    ctx: &Arc<RunContext>,
    batch: Batch,
    folders: &Folders,
    in_flight: &mut JoinSet<Sending>,
    looking: Arc<Looking>,
) -> Result<(), PipelineError> {
    // Staged files' URLs are signed now, as the batch goes: a row sent again later gets a
    // fresh one, never one that expired while it waited or failed.
    let staged = match &ctx.config.stage {
        Some(s) => s
            .urls_for(
                batch
                    .rows
                    .iter()
                    .filter(|r| r.is_file)
                    .map(|r| r.key.as_str()),
            )
            .await
            .map_err(PipelineError::Stage)?,
        None => HashMap::new(),
    };
    let items: Vec<ImportFileRequest> = batch
        .rows
        .iter()
        .map(|r| {
            request::import_item(
                r,
                &folders.known,
                &ctx.config.source_headers,
                ctx.config.serve_sources.as_ref(),
                &staged,
            )
        })
        .collect();
    let keys: Vec<String> = batch.rows.iter().map(|r| r.key.clone()).collect();
    let hosts: Vec<String> = batch
        .rows
        .iter()
        .filter_map(|r| host_of(&r.source))
        .collect();
    ctx.hosts.sending(hosts.iter().map(String::as_str));
    let clock = ctx.client.target_clock_floor();
    ctx.journal
        .with(move |j| {
            let id = j.next_batch_id()?;
            j.mark_sending(&keys, id, clock)
        })
        .await?;
    let ctx = ctx.clone();
    in_flight
        .spawn(Priority::Import.scope(async move { send(&ctx, batch, items, &looking).await }));
    Ok(())
}

/// Waits until a host frees room after the plan made at hosts' version `planned_at` (or a
/// file has been in fetch too long, or the run stops); meanwhile, polls needn't wait for full
/// calls.
async fn await_hosts(ctx: &RunContext, planned_at: u64) {
    let changed = ctx.hosts.changed();
    tokio::pin!(changed);
    changed.as_mut().enable();
    if ctx.hosts.version() != planned_at {
        return;
    }
    let expiry = ctx.hosts.expire(Instant::now());
    ctx.tracker.set_imports_held(true);
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = changed => {}
        _ = tokio::time::sleep_until(expiry.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))) => {}
        _ = stop.stopped() => {}
    }
    ctx.tracker.set_imports_held(false);
}

/// Each row's outcome, and the folders the answer showed to exist (path → id, when told).
fn outcomes_of(
    rows: &[JournalRow],
    result: Result<BulkImportFileResponse, CallError>,
) -> (Vec<Outcome>, Vec<(String, Option<String>)>) {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                rows.iter()
                    .map(|r| Outcome::from_call_error(&r.key, &e))
                    .collect(),
                Vec::new(),
            );
        }
    };
    let mut by_index: HashMap<usize, _> = response
        .results
        .into_iter()
        .map(|r| (r.item_metadata.original_index, r))
        .collect();
    let mut learned = Vec::new();
    let outcomes = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let key = row.key.clone();
            let Some(result) = by_index.remove(&i) else {
                // The answer left this item out: we can't know whether it was created.
                return Outcome::InDoubt { key };
            };
            let meta = result.item_metadata;
            let item = result.item.unwrap_or_default();
            match (meta.success, meta.id.or_else(|| item.id.clone())) {
                (true, Some(id)) => {
                    if !row.folder_path.is_empty() {
                        learned.push((row.folder_path.clone(), item.parent_folder_id.clone()));
                    }
                    Outcome::Accepted {
                        key,
                        file: FileFacts::from_descriptor(&item, &id),
                    }
                }
                (true, None) => Outcome::InDoubt { key },
                (false, _) => {
                    let err = meta.error.unwrap_or_default();
                    if err.code == rules::SITE_QUOTA_EXCEEDED {
                        // The site, not the row: queued again at no cost; the run stops.
                        return Outcome::Refused { key };
                    }
                    let (code, message) = (err.code, err.description);
                    match classify_item(&code) {
                        Disposition::NotDone => Outcome::Retry { key, code, message },
                        _ => Outcome::Failed { key, code, message },
                    }
                }
            }
        })
        .collect();
    (outcomes, learned)
}
