//! Files of this journal's imports that are no longer wanted go to the trash: with `--prune`,
//! those of rows a snapshot manifest no longer holds; with `--replace`, the superseded files of
//! rows that changed under their key (once the new file is READY). Only ids the journal holds
//! as ours are trashed — never an adopted file, never one the tool didn't make. Every trash is
//! committed to the journal first (`trashing`), then made, then recorded done: the trash is
//! idempotent, so a crash in between repeats it on the next run, harmlessly.

use std::sync::Arc;

use super::reopen::trash;
use super::{PipelineError, RunContext};
use crate::journal::DoomedFile;
use wix_media_wire::types::limits::BULK_DELETE_MAX_IDS;

/// Marks what `--prune` takes for the manifest of `rows_run`, refusing (nothing marked) when
/// that is more than `max_percent` of the journal's files; returns the rows marked.
pub(crate) async fn plan_pruning(
    ctx: &Arc<RunContext>,
    rows_run: i64,
    run: i64,
    max_percent: f64,
) -> Result<u64, PipelineError> {
    ctx.journal
        .with(move |j| {
            let count = j.prune_count(rows_run)?;
            if count.exceeds(max_percent) {
                return Ok(Err(count));
            }
            Ok(Ok(j.mark_pruning(rows_run, run)?))
        })
        .await?
        .map_err(|count| PipelineError::PruneRefused {
            files: count.files,
            journal_files: count.journal_files,
            max_percent,
        })
}

/// Trashes the files marked for pruning (by this run or one that died before finishing);
/// returns how many.
pub(crate) async fn trash_pruned(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let doomed = ctx.journal.with(|j| j.pruning()).await?;
    let mut trashed = 0;
    for chunk in doomed.chunks(BULK_DELETE_MAX_IDS) {
        if ctx.stop.is_stopped() {
            break;
        }
        trash_files(ctx, chunk).await?;
        let keys: Vec<String> = chunk.iter().map(|d| d.key.clone()).collect();
        ctx.journal.with(move |j| j.finish_pruning(&keys)).await?;
        trashed += chunk.len() as u64;
    }
    Ok(trashed)
}

/// `--replace`: trashes superseded files whose rows' new files are READY; returns how many.
pub(crate) async fn trash_superseded(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let doomed = ctx.journal.with(|j| j.superseded_to_trash()).await?;
    let mut trashed = 0;
    for chunk in doomed.chunks(BULK_DELETE_MAX_IDS) {
        trash_files(ctx, chunk).await?;
        let ids: Vec<String> = chunk.iter().map(|d| d.file_id.clone()).collect();
        ctx.journal
            .with(move |j| j.superseded_trashed(&ids))
            .await?;
        trashed += chunk.len() as u64;
    }
    Ok(trashed)
}

async fn trash_files(ctx: &Arc<RunContext>, files: &[DoomedFile]) -> Result<(), PipelineError> {
    let ids: Vec<String> = files.iter().map(|d| d.file_id.clone()).collect();
    trash(ctx, &ids).await
}
