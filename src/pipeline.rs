//! The migration: a staged pipeline over one journal. The orchestrator reads the manifest into
//! the journal, settles what a dead run left in doubt, then runs the import stages (URL rows
//! in bulk batches, local files through upload URLs) while the readiness stage polls accepted
//! files, settling in-doubt rows between passes, until every row is done or the run stops.
//!
//! Every stage draws on the client's one budget, by priority: settling (it unblocks rows)
//! first, then imports, then polls; the readiness tracker holds imports back when too many
//! files wait for confirmation, so polls get their share.

mod adopt;
mod explain;
mod folder_steps;
mod front;
mod hosts;
mod import;
mod prune;
mod readiness;
mod reopen;
mod request;
mod settle;
mod stage;
mod upload;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::api::client::{CallError, MediaClient};
use crate::control::budget::Priority;
use crate::journal::{IngestCounts, Journal, JournalError};
use crate::manifest::{ManifestError, ManifestOptions};
use crate::sources::SourceHeaders;
use crate::sources::served::ServedSources;
use crate::sources::stage::{StageError, Staging};

/// What a run needs, validated by the CLI.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub manifest: PathBuf,
    pub manifest_options: ManifestOptions,
    /// Rows per Bulk Import call.
    pub batch_size: usize,
    /// Attempts per row before it is failed.
    pub max_attempts: u32,
    /// Wait for processing to finish (READY / FAILED).
    pub wait: bool,
    /// Give up waiting for processing after this long.
    pub wait_timeout: Duration,
    /// Local files at least this large go through resumable (tus) uploads.
    pub resumable_threshold: u64,
    /// Bulk imports in flight at once.
    pub import_concurrency: usize,
    /// Headers private sources need, sent as imports' `urlHeaders`.
    pub source_headers: SourceHeaders,
    /// Give rows that ended failed in earlier runs a fresh set of attempts.
    pub retry_failed: bool,
    /// Leave FAILED files where they are when their rows are imported again, instead of
    /// trashing them.
    pub keep_failed_files: bool,
    /// Imports of a row whose file FAILED for a reason that can heal, the first included.
    pub max_processing_attempts: u32,
    /// Files one source host may have in fetch at once: `None` adapts it per host.
    pub source_host_limit: Option<usize>,
    /// Look for rows new to the journal at the target before importing them.
    pub adopt: bool,
    /// Trash the files of rows that changed under their key once their new files are READY.
    pub replace: bool,
    /// `--prune`: the manifest is a full snapshot; trash this journal's files of keys it no
    /// longer holds, unless they are more than this percentage of the journal's files.
    pub prune_max_percent: Option<f64>,
    /// `--serve-sources`: local files are imported through Bulk Import from signed URLs of
    /// this server instead of uploaded one by one.
    pub serve_sources: Option<ServedSources>,
    /// `--stage`: local files are staged in a bucket and imported through Bulk Import from
    /// presigned URLs instead of uploaded one by one.
    pub stage: Option<Staging>,
    /// Check the target (one call) while the manifest is read, waiting up to this long for it
    /// to answer; no other call goes out before it passes. `None`: the caller checked.
    pub check_target: Option<Duration>,
}

impl RunConfig {
    /// Local files ride Bulk Import (served or staged) rather than upload URLs.
    pub(crate) fn files_by_url(&self) -> bool {
        self.serve_sources.is_some() || self.stage.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the target refused the run: {0}")]
    Target(CallError),
    /// The check before the work failed: the key or site refused, or nothing answered.
    #[error(transparent)]
    TargetCheck(#[from] crate::api::preflight::TargetError),
    /// The target refused the key or the site in the middle of the run: it stops, and the
    /// rows not done stay queued.
    #[error("{}", crate::api::preflight::refusal_advice(.0))]
    AccessRefused(CallError),
    /// The site's storage is full (`SITE_QUOTA_EXCEEDED`): the run stops at the first such
    /// answer, and the rows not done stay queued without costing an attempt.
    #[error(
        "the site is full: {0} (SITE_QUOTA_EXCEEDED). Nothing more can be added until the site has room: delete files on the site (or empty its trash) or upgrade its plan, then run the same command again — the rows not done are still queued, and nothing is imported twice"
    )]
    SiteFull(String),
    /// The stage refused the credentials, lost its bucket or could not sign URLs: nothing more
    /// can be staged or imported from it.
    #[error(transparent)]
    Stage(StageError),
    #[error("journal task failed: {0}")]
    Task(String),
    #[error(
        "--prune refused: the manifest leaves out {files} of the journal's {journal_files} files, more than --max-prune {max_percent}%; nothing was trashed. Check that the manifest is complete, or raise --max-prune"
    )]
    PruneRefused {
        files: u64,
        journal_files: u64,
        max_percent: f64,
    },
}

impl PipelineError {
    /// A failed call that stops the run: a refusal of the key or site says so.
    pub(crate) fn of_call(e: CallError) -> Self {
        if e.is_access_refused() {
            Self::AccessRefused(e)
        } else if e.is_site_full() {
            Self::SiteFull(e.to_string())
        } else {
            Self::Target(e)
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub run: i64,
    pub ingest: IngestCounts,
    /// Rows settled by looking at the target after an ambiguous failure.
    pub settled: u64,
    /// True when the run was stopped before it finished.
    pub interrupted: bool,
    /// True when waiting for processing timed out.
    pub wait_timed_out: bool,
    /// Rows adopted: the target already held their files.
    pub adopted: u64,
    /// Folders listed to look for rows new to the journal.
    pub adoption_listings: u64,
    /// Files this run moved to the trash for `--prune`.
    pub pruned: u64,
    /// `--prune` was asked for and not done: the manifest has invalid lines.
    pub prune_skipped_for_invalid: bool,
    /// Superseded files this run moved to the trash for `--replace`.
    pub replaced: u64,
}

/// The journal, shared by the stages. Calls run on the blocking pool, one at a time.
#[derive(Clone)]
pub struct SharedJournal(Arc<Mutex<Journal>>);

impl SharedJournal {
    pub fn new(journal: Journal) -> Self {
        Self(Arc::new(Mutex::new(journal)))
    }

    pub async fn with<T, F>(&self, f: F) -> Result<T, PipelineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
    {
        self.call(f).await?.map_err(PipelineError::from)
    }

    /// Runs `f` on the journal, on the blocking pool, with an error type of its own (a report
    /// writer's, say); the outer error is the task's.
    pub async fn call<T, E, F>(&self, f: F) -> Result<Result<T, E>, PipelineError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut Journal) -> Result<T, E> + Send + 'static,
    {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || f(&mut inner.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))
    }
}

/// Stops a run: the first signal stops new sends and lets in-flight work settle.
#[derive(Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

/// The stages' shared context.
pub(crate) struct RunContext {
    pub client: MediaClient,
    pub journal: SharedJournal,
    pub config: RunConfig,
    pub stop: StopSignal,
    /// Files accepted and not yet confirmed, for the readiness stage.
    pub tracker: readiness::Tracker,
    /// Each source host's room for files in fetch.
    pub hosts: hosts::HostPacer,
    /// Rows looked for at the target by the stage that sent them, after a 5xx answer.
    pub settled_after_errors: AtomicU64,
    /// With `--stage`, how far the staging stage has gone in this sending pass: the import
    /// stage, running beside it, reads rows up to there.
    pub stage_front: front::StageFront,
    /// Folder paths longer than a `filePath`, made reachable one at a time.
    pub folder_steps: folder_steps::FolderSteps,
}

/// Runs the migration of `config.manifest` into the client's target with `journal`.
pub async fn migrate(
    config: RunConfig,
    client: MediaClient,
    journal: SharedJournal,
    stop: StopSignal,
    progress: &dyn Fn(&str),
) -> Result<RunResult, PipelineError> {
    // The target check costs a round trip (more when the target is slow to answer): it goes
    // out while the manifest is read into the journal, which touches nothing outside it. A
    // refusal ends the run at once, whatever was read so far.
    let checked = async {
        if let Some(patience) = config.check_target {
            crate::api::preflight::check_target(&client, patience).await?;
        }
        Ok::<_, PipelineError>(())
    };
    let ingested = async {
        let run = journal.with(|j| j.begin_run()).await?;
        let ingest = ingest(&config, &journal, run).await?;
        Ok::<_, PipelineError>((run, ingest))
    };
    let ((), (run, ingest)) = tokio::try_join!(checked, ingested)?;
    let read = if ingest.rows_read == ingest.rows {
        String::new()
    } else {
        format!(", {} read now", ingest.rows_read)
    };
    progress(&format!(
        "manifest: {} rows ({} new, {} known, {} updated, {} duplicate, {} invalid{read})",
        ingest.rows, ingest.new, ingest.known, ingest.updated, ingest.duplicate, ingest.invalid
    ));
    let hosts = hosts::HostPacer::new(
        config.wait,
        config.source_host_limit,
        config.batch_size,
        config.wait_timeout,
    );
    let ctx = Arc::new(RunContext {
        client,
        journal,
        config,
        stop,
        tracker: readiness::Tracker::new(),
        hosts,
        settled_after_errors: AtomicU64::new(0),
        stage_front: front::StageFront::new(),
        folder_steps: folder_steps::FolderSteps::default(),
    });
    let prune_skipped_for_invalid = ctx.config.prune_max_percent.is_some() && ingest.invalid > 0;
    if prune_skipped_for_invalid {
        // An invalid line's row is not in the set of rows read, so its file would be taken for
        // one the manifest left out: with lines unread, nothing is pruned (files marked by a
        // run that died mid-prune are still trashed below: that choice was made on a clean read).
        progress(&format!(
            "--prune: not pruning this run: {} manifest lines are invalid (invalid.csv) and the files of their rows would be taken for rows the manifest left out; fix them and run again",
            ingest.invalid
        ));
    } else if let Some(max_percent) = ctx.config.prune_max_percent {
        let rows_run = ctx.journal.with(move |j| j.rows_run(run)).await?;
        let marked = prune::plan_pruning(&ctx, rows_run, run, max_percent).await?;
        if marked > 0 {
            progress(&format!(
                "--prune: {marked} rows of this journal are not in the manifest; their files go to the trash"
            ));
        }
    }
    let dead = ctx.journal.with(|j| j.doubt_dead_sends()).await?;
    if dead > 0 {
        progress(&format!(
            "{dead} rows were being sent when an earlier run stopped; settling them first"
        ));
    }
    let mut settled = Priority::Unblock.scope(settle::settle_all(&ctx)).await?;
    let pruned = prune::trash_pruned(&ctx).await?;
    let adoption = if ctx.config.adopt {
        let stats = Priority::Unblock.scope(adopt::adopt_new_rows(&ctx)).await?;
        if stats.listed > 0 || stats.adopted > 0 {
            progress(&format!(
                "adopted {} rows the target already held ({} folders listed)",
                stats.adopted, stats.listed
            ));
        }
        stats
    } else {
        adopt::AdoptStats::default()
    };
    if ctx.config.retry_failed {
        let (reopened, trashed) = reopen::reopen_failed(&ctx, run).await?;
        progress(&format!(
            "--retry-failed: {reopened} failed rows get a fresh set of attempts ({trashed} of their FAILED files moved to the trash)"
        ));
    }
    let mut wait_timed_out;
    let mut round = 0;
    loop {
        let (waited_out, doubts) = send_and_wait(&ctx).await?;
        (wait_timed_out, settled) = (waited_out, settled + doubts);
        if ctx.stop.is_stopped() {
            break;
        }
        let explained = explain::explain_failures(&ctx, run).await?;
        if explained > 0 {
            progress(&format!(
                "asked the sources of {explained} failed rows why they failed"
            ));
        }
        round += 1;
        if ctx.stop.is_stopped() {
            break;
        }
        let (again, trashed) = reopen::reimport_healable(&ctx, run).await?;
        if again == 0 || ctx.stop.is_stopped() {
            break;
        }
        let pause = reopen::round_pause(round);
        progress(&format!(
            "{again} rows failed for reasons that can heal (their sources throttled, failed or did not answer, or processing failed): importing them again in {}s ({trashed} FAILED files moved to the trash)",
            pause.as_secs()
        ));
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.stopped() => break,
        }
    }
    for (host, window) in ctx.hosts.cut_hosts() {
        progress(&format!(
            "source host {host} failed under load: paced to {window} files in fetch at once (--source-host-limit overrides)"
        ));
    }
    settled += ctx.settled_after_errors.load(Ordering::Relaxed);
    let unstaged = stage::delete_done(&ctx).await?;
    if unstaged > 0 {
        progress(&format!(
            "--stage: deleted {unstaged} staged objects whose rows are READY"
        ));
    }
    let replaced = if ctx.config.replace && !ctx.stop.is_stopped() {
        prune::trash_superseded(&ctx).await?
    } else {
        0
    };
    Ok(RunResult {
        run,
        ingest,
        settled,
        interrupted: ctx.stop.is_stopped(),
        wait_timed_out,
        adopted: adoption.adopted,
        adoption_listings: adoption.listed,
        pruned,
        prune_skipped_for_invalid,
        replaced,
    })
}

/// Sends every queued row (settling doubts between passes) while the readiness stage polls,
/// until nothing is left to send and every accepted file is READY or FAILED (or the wait timed
/// out, → `true`); returns that and how many rows were settled.
async fn send_and_wait(ctx: &Arc<RunContext>) -> Result<(bool, u64), PipelineError> {
    let imports_done = watch::channel(false);
    let mut poller = tokio::spawn(readiness::poll_until_done(ctx.clone(), imports_done.1));
    let sends = async {
        let mut settled = 0;
        while !ctx.stop.is_stopped() {
            let imported = if ctx.config.stage.is_some() {
                stage_beside_imports(ctx).await?
            } else {
                import::import_pass(ctx).await?
            };
            let sent = imported + upload::upload_pass(ctx).await?;
            let doubts = Priority::Unblock.scope(settle::settle_all(ctx)).await?;
            settled += doubts;
            if sent == 0 && doubts == 0 {
                break;
            }
        }
        Ok::<_, PipelineError>(settled)
    };
    tokio::pin!(sends);
    let joined = |r: Result<Result<bool, PipelineError>, tokio::task::JoinError>| {
        r.map_err(|e| PipelineError::Task(e.to_string()))?
    };
    // The poller ends first only on an error (a refused key, say): the sends, which may be
    // waiting for it to confirm files, stop with it.
    let settled = tokio::select! {
        settled = &mut sends => match settled {
            Ok(settled) => settled,
            Err(e) => {
                // The poller must not outlive the run (in `fleet`, others go on in-process).
                poller.abort();
                return Err(e);
            }
        },
        early = &mut poller => {
            joined(early)?;
            let settled = sends.await?;
            let _ = imports_done.0.send(true);
            return Ok((false, settled));
        }
    };
    let _ = imports_done.0.send(true);
    let wait_timed_out = joined(poller.await)?;
    Ok((wait_timed_out, settled))
}

/// `--stage`: the staging stage, a task of its own, beside the import stage, so the run takes
/// the longer of the two rather than their sum ([`front`]). Either failing halts the other
/// after its current step; the first error is returned once both have ended.
async fn stage_beside_imports(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    /// Whatever ends the staging task (done, stopped, failed, panicked) lets the imports read on.
    struct Finish(Arc<RunContext>);
    impl Drop for Finish {
        fn drop(&mut self) {
            self.0.stage_front.finish();
        }
    }
    ctx.stage_front.begin();
    let finish = Finish(ctx.clone());
    let staging = tokio::spawn(async move {
        let staged = stage::stage_pass(&finish.0).await;
        if staged.is_err() {
            finish.0.stage_front.halt();
        }
        staged
    });
    let imported = import::import_pass(ctx).await;
    if imported.is_err() {
        ctx.stage_front.halt();
    }
    let staged = staging
        .await
        .map_err(|e| PipelineError::Task(e.to_string()))?;
    Ok(imported? + staged?)
}

async fn ingest(
    config: &RunConfig,
    journal: &SharedJournal,
    run: i64,
) -> Result<IngestCounts, PipelineError> {
    let path = config.manifest.clone();
    let options = config.manifest_options.clone();
    journal
        .with(move |j| j.ingest_manifest(run, &path, &options))
        .await
}
