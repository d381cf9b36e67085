//! The upload stage: queued local-file rows through Generate File Upload URL and a `PUT` (or a
//! resumable tus upload for large files), several at once. As with imports, a row goes to
//! `sending` before its upload starts; an upload whose answer was lost is in doubt and is
//! settled by name and size before it is sent again. An upload answered with a 5xx is looked
//! for at once, and sent again (with a new upload URL) only when the target doesn't hold it;
//! one that couldn't connect is sent again after a pause.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::{PipelineError, RunContext, request, settle};
use crate::api::client::CallError;
use crate::api::transfer;
use crate::control::budget::Priority;
use crate::journal::{FileFacts, JournalRow, Outcome};
use wix_media_wire::media::mime_of_name;
use wix_media_wire::types::{FileResponse, GenerateFileResumableUploadUrlRequest, limits};

/// A row's upload in flight: the row and its upload's result.
type Uploading = Result<(JournalRow, Result<FileResponse, CallError>), PipelineError>;

/// Uploads every queued local-file row once; returns how many were sent.
pub(crate) async fn upload_pass(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    if ctx.config.files_by_url() {
        // The import stage sends them, from their served or staged URLs.
        return Ok(0);
    }
    let mut known = ctx.journal.with(|j| j.folders()).await?;
    let mut after_line = 0u64;
    let mut sent = 0u64;
    let mut in_flight: JoinSet<Uploading> = JoinSet::new();
    let concurrency = ctx.config.import_concurrency.max(1);
    // Uploads to one unknown folder wait for the first to reveal its id (no racing creates).
    let mut pioneering: Option<String> = None;
    loop {
        while in_flight.len() < concurrency && !ctx.stop.is_stopped() {
            let next = ctx
                .journal
                .with(move |j| j.queued(true, after_line, 1))
                .await?;
            let Some(row) = next.into_iter().next() else {
                break;
            };
            let unknown = !row.folder_path.is_empty() && !known.contains_key(&row.folder_path);
            if unknown && pioneering.is_some() {
                break;
            }
            after_line = row.line;
            let steps = ctx
                .folder_steps
                .reach(ctx, [row.folder_path.as_str()], &known)
                .await?;
            known.extend(steps);
            if unknown {
                pioneering = Some(row.folder_path.clone());
            }
            let key = row.key.clone();
            let clock = ctx.client.target_clock_floor();
            ctx.journal
                .with(move |j| {
                    let id = j.next_batch_id()?;
                    j.mark_sending(&[key], id, clock)
                })
                .await?;
            let ctx = ctx.clone();
            let known = known.clone();
            sent += 1;
            in_flight.spawn(async move {
                let result = upload_settled(&ctx, &row, &known).await?;
                Ok((row, result))
            });
        }
        let Some(done) = in_flight.join_next().await else {
            return Ok(sent);
        };
        let (row, result) = done.map_err(|e| PipelineError::Task(e.to_string()))??;
        if pioneering.as_deref() == Some(row.folder_path.as_str()) {
            pioneering = None;
        }
        match record(ctx, &row, result).await {
            Ok(Some(id)) => {
                known.insert(row.folder_path.clone(), id);
            }
            Ok(None) => {}
            Err(e @ (PipelineError::AccessRefused(_) | PipelineError::SiteFull(_))) => {
                // Nothing new goes out; the uploads in flight are answered and recorded.
                while let Some(done) = in_flight.join_next().await {
                    if let Ok(Ok((row, result))) = done {
                        let _ = record(ctx, &row, result).await;
                    }
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records an upload's answer; returns the id of the row's folder when the answer told it.
async fn record(
    ctx: &RunContext,
    row: &JournalRow,
    result: Result<FileResponse, CallError>,
) -> Result<Option<String>, PipelineError> {
    let refused = result.as_ref().err().filter(|e| e.stops_the_run()).cloned();
    let (outcome, learned) = match result {
        Ok(answer) => {
            let id = answer.file.id.clone().unwrap_or_default();
            let learned = answer
                .file
                .parent_folder_id
                .clone()
                .filter(|_| !row.folder_path.is_empty());
            let file = FileFacts::from_descriptor(&answer.file, &id);
            let key = row.key.clone();
            (Outcome::Accepted { key, file }, learned)
        }
        Err(e) => (Outcome::from_call_error(&row.key, &e), None),
    };
    let folders: Vec<(String, String)> = learned
        .iter()
        .map(|id| (row.folder_path.clone(), id.clone()))
        .collect();
    let max_attempts = ctx.config.max_attempts;
    ctx.journal
        .with(move |j| j.record_answer(&folders, &[outcome], max_attempts))
        .await?;
    if let Some(e) = refused {
        return Err(PipelineError::of_call(e));
    }
    Ok(learned)
}

/// Uploads a row, starting over while the upload certainly made no file (the connection was
/// refused, or a resumable upload failed before its finalize) and, after a 5xx, once the
/// target is found not to hold it (after [`settle::look_delay`]). The resends cost the row no
/// attempt; past the client's resends, or when the look can't decide, the last failure is the
/// row's.
async fn upload_settled(
    ctx: &Arc<RunContext>,
    row: &JournalRow,
    known: &HashMap<String, String>,
) -> Result<Result<FileResponse, CallError>, PipelineError> {
    let client = &ctx.client;
    let mut rng = fastrand::Rng::new();
    let (mut resend, mut looked) = (0, false);
    loop {
        let result = upload_one(ctx, row, known).await;
        let Err(e) = &result else {
            return Ok(result);
        };
        let refused = matches!(e, CallError::Refused { .. } | CallError::Unfinished(_));
        if !(refused || e.is_server_error()) || resend >= client.resends() || ctx.stop.is_stopped()
        {
            return Ok(result);
        }
        if refused {
            tokio::time::sleep(client.backoff().delay(resend, &mut rng)).await;
        } else {
            tracing::debug!(line = row.line, error = %e, "looking at the target before uploading again");
            tokio::time::sleep(settle::look_delay(client, resend, &mut rng)).await;
            if !std::mem::replace(&mut looked, true) {
                settle::count_looked(ctx, 1);
            }
            let look = Priority::Unblock.scope(settle::claim_found(ctx, std::slice::from_ref(row)));
            match look.await {
                Ok(mut resolved) => match resolved.remove(&row.key) {
                    Some(Some(file)) => return Ok(Ok(FileResponse { file })),
                    // In doubt now, for the settle stage: the 5xx stands for the row.
                    Some(None) => return Ok(result),
                    None => {}
                },
                // Can't look now: the row stays in doubt for the settle stage.
                Err(PipelineError::Target(_)) => return Ok(result),
                Err(e) => return Err(e),
            }
        }
        resend += 1;
        client.count_retry();
    }
}

async fn upload_one(
    ctx: &RunContext,
    row: &JournalRow,
    known: &HashMap<String, String>,
) -> Result<FileResponse, CallError> {
    let path = PathBuf::from(&row.source);
    let size = tokio::fs::metadata(&path)
        .await
        .map_err(|e| CallError::local_io("uploadPut", &path, &e))?
        .len();
    let mime = row
        .mime_type
        .clone()
        .or_else(|| mime_of_name(&row.display_name))
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let request = request::upload_request(row, known, &mime, size);
    let http = ctx.client.http();
    // Generate File Upload URL takes at most 50 labels, the resumable one 500: a file with more
    // goes resumable whatever its size, so every label arrives (tus costs no extra API call).
    let many_labels = row.labels.len() > limits::UPLOAD_URL_LABELS_MAX_ITEMS;
    if size >= ctx.config.resumable_threshold || many_labels {
        let request = GenerateFileResumableUploadUrlRequest::from(request);
        let session = ctx.client.generate_resumable_upload_url(&request).await?;
        transfer::tus_upload(
            http,
            ctx.client.counters(),
            &session,
            &row.display_name,
            &mime,
            &path,
        )
        .await
    } else {
        let url = ctx.client.generate_upload_url(&request).await?;
        transfer::put_file(
            http,
            ctx.client.counters(),
            &url,
            &row.display_name,
            &mime,
            &path,
        )
        .await
    }
}
