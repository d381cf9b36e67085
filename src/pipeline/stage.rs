//! The staging stage of `run --stage`: queued local-file rows hashed, their objects stored in
//! the bucket once (a HEAD first: bytes already there are never sent again), each row's
//! object recorded in the journal before the import stage sends it from a presigned URL; and,
//! after the run, objects whose rows are all READY deleted (unless `--keep-staged`) — those of
//! this run and those a run cut short left behind, since the journal holds them all.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;

use super::{PipelineError, RunContext};
use crate::api::client::CallError;
use crate::api::error::LocalCause;
use crate::journal::{JournalRow, Outcome};
use crate::sources::stage::{self, StageError, Staging};

/// A row and its file's hash and length.
type Hashed = (JournalRow, Result<(String, u64), StageError>);

/// Files hashed, or objects stored, at once.
const STAGE_CONCURRENCY: usize = 8;
/// Queued rows read from the journal at a time.
const READ_ROWS: usize = 256;
/// Staged objects deleted at a time: one S3 DeleteObjects call.
const DELETE_BATCH: usize = 1000;

/// Stages every queued local-file row not staged yet in this run; returns how many rows were
/// answered by it (failed, or queued again after a failure of the store), which the sending
/// loop counts as sent.
pub(crate) async fn stage_pass(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let Some(staging) = ctx.config.stage.clone() else {
        return Ok(0);
    };
    let mut after_line = 0u64;
    let mut answered = 0u64;
    let mut present: HashSet<String> = HashSet::new();
    while !ctx.stop.is_stopped() && !ctx.stage_front.halted() {
        let rows = ctx
            .journal
            .with(move |j| j.queued(true, after_line, READ_ROWS))
            .await?;
        let Some(last) = rows.last() else { break };
        after_line = last.line;
        let rows: Vec<JournalRow> = rows
            .into_iter()
            .filter(|r| !staging.is_staged(&r.key))
            .collect();
        answered += stage_rows(ctx, &staging, rows, &mut present).await?;
        // Every row through this line is staged (or answered): the import stage may send them.
        ctx.stage_front.advance(after_line);
    }
    // The front is finished by whoever runs this pass (`stage_beside_imports`), however it ends.
    Ok(answered)
}

/// Hashes `rows`, stores each distinct object once, and records every row's object.
async fn stage_rows(
    ctx: &Arc<RunContext>,
    staging: &Staging,
    rows: Vec<JournalRow>,
    present: &mut HashSet<String>,
) -> Result<u64, PipelineError> {
    let location = staging.store().location().clone();
    let hashed: Vec<Hashed> = futures_util::stream::iter(rows)
        .map(|row| async move {
            let path = PathBuf::from(&row.source);
            let hash = stage::hash_file(&path).await;
            (row, hash)
        })
        .buffer_unordered(STAGE_CONCURRENCY)
        .collect()
        .await;
    let mut answers = Vec::new();
    let mut by_object: HashMap<String, (PathBuf, String, u64, Vec<String>)> = HashMap::new();
    for (row, hash) in hashed {
        match hash {
            Ok((sha, len)) => {
                let path = PathBuf::from(&row.source);
                let object = location.object_key(&sha, &path);
                by_object
                    .entry(object)
                    .or_insert_with(|| (path, sha, len, Vec::new()))
                    .3
                    .push(row.key);
            }
            Err(e) => answers.push(failure(&row.key, &e)),
        }
    }
    let stored: Vec<(String, Vec<String>, Result<(), StageError>)> =
        futures_util::stream::iter(by_object)
            .map(|(object, (path, sha, len, keys))| {
                let known = present.contains(&object);
                async move {
                    let result = if known {
                        Ok(())
                    } else {
                        store_once(staging, &object, &path, &sha, len).await
                    };
                    (object, keys, result)
                }
            })
            .buffer_unordered(STAGE_CONCURRENCY)
            .collect()
            .await;
    let mut recorded = Vec::new();
    for (object, keys, result) in stored {
        match result {
            Ok(()) => {
                present.insert(object.clone());
                recorded.extend(keys.into_iter().map(|k| (k, object.clone())));
            }
            Err(e) if e.is_fatal() => return Err(PipelineError::Stage(e)),
            Err(e) => answers.extend(keys.iter().map(|k| failure(k, &e))),
        }
    }
    let to_record = recorded.clone();
    ctx.journal
        .with(move |j| j.record_staged(&to_record))
        .await?;
    for (key, object) in &recorded {
        staging.note(key, object);
    }
    let answered = answers.len() as u64;
    if !answers.is_empty() {
        let keys: Vec<String> = answers.iter().map(|(k, _)| k.clone()).collect();
        let outcomes: Vec<Outcome> = answers.into_iter().map(|(_, o)| o).collect();
        let max_attempts = ctx.config.max_attempts;
        let clock = ctx.client.target_clock_floor();
        ctx.journal
            .with(move |j| {
                let id = j.next_batch_id()?;
                j.mark_sending(&keys, id, clock)?;
                j.record_answer(&[], &outcomes, max_attempts)
            })
            .await?;
    }
    Ok(answered)
}

/// Stores the object unless the bucket already holds it.
async fn store_once(
    staging: &Staging,
    object: &str,
    path: &std::path::Path,
    sha: &str,
    len: u64,
) -> Result<(), StageError> {
    if staging.store().exists(object).await? {
        tracing::debug!(object, "already staged");
        return Ok(());
    }
    staging.uploader().put_file(object, path, sha, len).await?;
    tracing::debug!(object, bytes = len, "staged");
    Ok(())
}

/// What a row's failed staging means: an unreadable or changing file fails it as a failed
/// upload would; a failure of the store queues it again (an attempt spent).
fn failure(key: &str, e: &StageError) -> (String, Outcome) {
    let outcome = match e {
        StageError::Local { path, source } => Outcome::from_call_error(
            key,
            &CallError::local_io("stagePut", std::path::Path::new(path), source),
        ),
        StageError::Changed { .. } => Outcome::from_call_error(
            key,
            &CallError::LocalFile {
                endpoint: "stagePut",
                cause: LocalCause::Changed,
                message: e.to_string(),
            },
        ),
        _ => Outcome::Retry {
            key: key.to_string(),
            code: "stageFailed".to_string(),
            message: e.to_string(),
        },
    };
    (key.to_string(), outcome)
}

/// Deletes the staged objects whose rows are all READY, and retired ones (none with
/// `--keep-staged`), a bulk call's worth at a time, each batch recorded in one journal call;
/// returns how many were deleted. A failed delete is logged and left for a later run.
pub(crate) async fn delete_done(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let Some(staging) = ctx.config.stage.as_ref().filter(|s| !s.keep()) else {
        return Ok(0);
    };
    let objects = ctx.journal.with(|j| j.staged_done()).await?;
    let mut deleted = 0;
    for chunk in objects.chunks(DELETE_BATCH) {
        let gone = staging.store().delete_all(chunk).await;
        deleted += gone.len() as u64;
        ctx.journal
            .with(move |j| j.mark_staged_deleted(&gone))
            .await?;
    }
    Ok(deleted)
}
