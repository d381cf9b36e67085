//! Failed rows imported again: by `run --retry-failed`, every row that ended failed (after the
//! user fixed its source); and within a run, rows whose file FAILED for a reason that can heal
//! (the source throttled, failed or did not answer, or processing failed on a healthy source),
//! up to `--max-processing-attempts`. The FAILED files this tool made for them go to the trash
//! first (only ids the journal holds, only files that ended FAILED; `--keep-failed-files`
//! leaves them), so a row that ends ready leaves no FAILED file of ours in a live folder.
//! Trashing is idempotent and comes before the journal forgets the ids: a crash in between
//! repeats the trash, harmless.

use std::sync::Arc;
use std::time::Duration;

use super::{PipelineError, RunContext};
use crate::api::client::CallError;
use crate::control::budget::Priority;
use crate::control::retry::Disposition;
use crate::journal::JournalRow;
use wix_media_wire::types::OperationStatus;
use wix_media_wire::types::limits::BULK_DELETE_MAX_IDS;

/// The codes of failures that can heal by themselves — a file the target no longer holds
/// (deleted mid-run) is imported again too.
pub(crate) const HEALABLE: [&str; 5] = [
    "SOURCE_UNREACHABLE",
    "SOURCE_THROTTLED",
    "SOURCE_ERROR",
    "PROCESSING_FAILED",
    "FILE_NOT_FOUND",
];

/// The pause before re-import round `round` (1-based): 2 s, 4 s, 8 s, … up to a minute, so a
/// source that throttled or failed has time to recover.
pub(crate) fn round_pause(round: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(round.min(6)).min(60))
}

/// Reopens the failed rows of `run`'s manifest; returns (rows reopened, files trashed).
pub(crate) async fn reopen_failed(
    ctx: &Arc<RunContext>,
    run: i64,
) -> Result<(u64, u64), PipelineError> {
    let rows = ctx.journal.with(move |j| j.failed_rows(run)).await?;
    let (trashed, keys) = trash_failed_files(ctx, rows).await?;
    let reopened = keys.len() as u64;
    ctx.journal.with(move |j| j.reopen_failed(&keys)).await?;
    Ok((reopened, trashed))
}

/// Queues again the rows of `run` whose file FAILED for a reason that can heal, with
/// re-imports left; returns (rows queued again, files trashed).
pub(crate) async fn reimport_healable(
    ctx: &Arc<RunContext>,
    run: i64,
) -> Result<(u64, u64), PipelineError> {
    let max_reimports = ctx.config.max_processing_attempts.saturating_sub(1);
    if max_reimports == 0 {
        return Ok((0, 0));
    }
    let rows = ctx
        .journal
        .with(move |j| j.healable_failures(run, &HEALABLE, max_reimports))
        .await?;
    let (trashed, keys) = trash_failed_files(ctx, rows).await?;
    let again = keys.len() as u64;
    ctx.journal.with(move |j| j.reimport_failed(&keys)).await?;
    Ok((again, trashed))
}

/// Moves the FAILED files of `rows` to the trash (unless `--keep-failed-files`); returns how
/// many, and the rows' keys.
async fn trash_failed_files(
    ctx: &Arc<RunContext>,
    rows: Vec<JournalRow>,
) -> Result<(u64, Vec<String>), PipelineError> {
    if rows.is_empty() {
        return Ok((0, Vec::new()));
    }
    let failed_files: Vec<String> = rows
        .iter()
        .filter(|r| r.operation_status.as_deref() == Some(OperationStatus::Failed.as_str()))
        .filter_map(|r| r.file_id.clone())
        .collect();
    let mut trashed = 0;
    if !ctx.config.keep_failed_files {
        for ids in failed_files.chunks(BULK_DELETE_MAX_IDS) {
            trash(ctx, ids).await?;
            trashed += ids.len() as u64;
        }
    }
    Ok((trashed, rows.into_iter().map(|r| r.key).collect()))
}

/// Trashes `ids` in one call, or — when the target refuses that many at once (its limit is not
/// documented; 1000 is the largest seen accepted) — in calls of a hundred.
pub(crate) async fn trash(ctx: &RunContext, ids: &[String]) -> Result<(), PipelineError> {
    let call = |ids| Priority::Unblock.scope(ctx.client.trash_files(ids));
    match call(ids).await {
        Err(CallError::Api(e)) if e.status == 400 && ids.len() > SMALL_TRASH => {
            tracing::debug!(error = %e, "trashing in smaller calls");
            for chunk in ids.chunks(SMALL_TRASH) {
                tolerate(call(chunk).await, chunk.len())?;
            }
            Ok(())
        }
        other => tolerate(other, ids.len()),
    }
}

/// A trash refused for good (an id the target no longer knows, say) leaves those FAILED files
/// where they are; their rows are imported again all the same. Anything else stops the run.
fn tolerate(result: Result<(), CallError>, files: usize) -> Result<(), PipelineError> {
    match result {
        Err(e) if e.disposition() == Disposition::Permanent => {
            tracing::warn!(error = %e, files, "the target refused to trash FAILED files; leaving them");
            Ok(())
        }
        other => other.map_err(PipelineError::of_call),
    }
}

/// Ids per Bulk Delete call when the target refuses a larger one.
const SMALL_TRASH: usize = 100;
