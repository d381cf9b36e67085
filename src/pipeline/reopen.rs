//! `run --retry-failed`: rows that ended failed get a fresh set of attempts, after the user
//! fixed their sources. The FAILED files this tool made for them go to the trash first (only
//! ids the journal holds, only files that ended FAILED; `--keep-failed-files` leaves them), so
//! a row that ends ready leaves no FAILED file of ours in a live folder. Trashing is idempotent
//! and comes before the journal forgets the ids: a crash in between repeats the trash, harmless.

use std::sync::Arc;

use super::{PipelineError, RunContext};
use crate::api::types::OperationStatus;
use crate::api::types::limits::BULK_DELETE_MAX_IDS;
use crate::control::budget::Priority;

/// Reopens the failed rows of `run`'s manifest; returns (rows reopened, files trashed).
pub(crate) async fn reopen_failed(
    ctx: &Arc<RunContext>,
    run: i64,
) -> Result<(u64, u64), PipelineError> {
    let rows = ctx.journal.with(move |j| j.failed_rows(run)).await?;
    if rows.is_empty() {
        return Ok((0, 0));
    }
    let failed_files: Vec<String> = rows
        .iter()
        .filter(|r| r.operation_status.as_deref() == Some(OperationStatus::Failed.as_str()))
        .filter_map(|r| r.file_id.clone())
        .collect();
    let mut trashed = 0;
    if !ctx.config.keep_failed_files {
        for ids in failed_files.chunks(BULK_DELETE_MAX_IDS.min(100)) {
            Priority::Unblock
                .scope(ctx.client.trash_files(ids))
                .await
                .map_err(PipelineError::Target)?;
            trashed += ids.len() as u64;
        }
    }
    let keys: Vec<String> = rows.into_iter().map(|r| r.key).collect();
    let reopened = keys.len() as u64;
    ctx.journal.with(move |j| j.reopen_failed(&keys)).await?;
    Ok((reopened, trashed))
}
