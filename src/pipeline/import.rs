//! The import stage: queued URL rows in full batches through Bulk Import, several batches in
//! flight. Rows go to `sending` (committed) before each call and get their outcome after it.
//!
//! Folders cost no calls of their own: a row whose folder id is unknown is imported with
//! `filePath`, which makes the target create the missing chain, and the answer tells the
//! folder's id. So that two concurrent calls never race to create the same folder, only one
//! batch at a time may carry a given unknown path (it "pioneers" the path).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::{PipelineError, Stage};
use crate::api::client::CallError;
use crate::api::types::{
    BulkImportFileResponse, ExternalInfo, ImportFileRequest, MEDIA_ROOT, MediaType,
};
use crate::control::retry::{Disposition, classify_item};
use crate::journal::{FileFacts, JournalRow, Outcome};

/// One batch in flight: its rows and the paths it pioneers.
struct Batch {
    rows: Vec<JournalRow>,
    pioneers: Vec<String>,
}

type Sent = (Batch, Result<BulkImportFileResponse, CallError>);

/// Sends every queued URL row once; returns how many rows were sent.
pub(crate) async fn import_pass(stage: &Arc<Stage>) -> Result<u64, PipelineError> {
    let mut known = stage.journal.with(|j| j.folders()).await?;
    let mut pioneering: HashSet<String> = HashSet::new();
    let mut in_flight: JoinSet<Sent> = JoinSet::new();
    let (mut after_line, mut deferred, mut sent) = (0u64, false, 0u64);
    let concurrency = stage.config.import_concurrency.max(1);
    loop {
        while in_flight.len() < concurrency && !stage.stop.is_stopped() {
            let candidates = stage
                .journal
                .with(move |j| j.queued(false, after_line, 1000))
                .await?;
            let Some(last) = candidates.last() else { break };
            let scanned_to = last.line;
            let (batch, skipped, end) =
                plan_batch(candidates, &known, &pioneering, stage.config.batch_size);
            deferred |= skipped;
            after_line = end.unwrap_or(scanned_to);
            if batch.rows.is_empty() {
                continue;
            }
            pioneering.extend(batch.pioneers.iter().cloned());
            sent += batch.rows.len() as u64;
            launch(stage, batch, &known, &mut in_flight).await?;
        }
        let Some(done) = in_flight.join_next().await else {
            if deferred && !stage.stop.is_stopped() {
                // Rows held back behind a pioneer: their folder may be known now.
                (after_line, deferred) = (0, false);
                continue;
            }
            return Ok(sent);
        };
        let (batch, result) = done.map_err(|e| PipelineError::Task(e.to_string()))?;
        for p in &batch.pioneers {
            pioneering.remove(p);
        }
        let (outcomes, learned) = outcomes_of(&batch.rows, result);
        for (path, id) in &learned {
            known.insert(path.clone(), id.clone());
        }
        let max_attempts = stage.config.max_attempts;
        stage
            .journal
            .with(move |j| {
                for (path, id) in &learned {
                    j.set_folder_id(path, id)?;
                }
                j.apply(&outcomes, max_attempts)
            })
            .await?;
    }
}

/// Picks up to `size` rows in order, holding back rows whose unknown folder another batch is
/// pioneering. Returns the batch, whether rows were held back, and the line it stopped at when
/// it filled up before the end of `candidates`.
fn plan_batch(
    candidates: Vec<JournalRow>,
    known: &HashMap<String, String>,
    pioneering: &HashSet<String>,
    size: usize,
) -> (Batch, bool, Option<u64>) {
    let mut batch = Batch {
        rows: Vec::new(),
        pioneers: Vec::new(),
    };
    let mut skipped = false;
    for row in candidates {
        if batch.rows.len() == size {
            let end = batch_last_line(&batch);
            return (batch, skipped, Some(end));
        }
        let path = &row.folder_path;
        let unknown = !path.is_empty() && !known.contains_key(path);
        if unknown && pioneering.contains(path) {
            skipped = true;
            continue;
        }
        if unknown && !batch.pioneers.contains(path) {
            batch.pioneers.push(path.clone());
        }
        batch.rows.push(row);
    }
    (batch, skipped, None)
}

fn batch_last_line(batch: &Batch) -> u64 {
    batch.rows.last().map_or(0, |r| r.line)
}

async fn launch(
    stage: &Arc<Stage>,
    batch: Batch,
    known: &HashMap<String, String>,
    in_flight: &mut JoinSet<Sent>,
) -> Result<(), PipelineError> {
    let items: Vec<ImportFileRequest> = batch.rows.iter().map(|r| request_for(r, known)).collect();
    let keys: Vec<String> = batch.rows.iter().map(|r| r.key.clone()).collect();
    stage
        .journal
        .with(move |j| {
            let id = j.next_batch_id()?;
            j.mark_sending(&keys, id)
        })
        .await?;
    let client = stage.client.clone();
    in_flight.spawn(async move {
        let result = client.bulk_import(&items).await;
        (batch, result)
    });
    Ok(())
}

/// The import request of a row: its folder by id when known, else by `filePath`.
pub(crate) fn request_for(row: &JournalRow, known: &HashMap<String, String>) -> ImportFileRequest {
    let (parent, file_path) = folder_target(&row.folder_path, known);
    ImportFileRequest {
        url: row.source.clone(),
        media_type: row.media_type.as_deref().and_then(MediaType::parse),
        display_name: Some(row.display_name.clone()),
        parent_folder_id: Some(parent),
        file_path,
        private: Some(row.private),
        labels: (!row.labels.is_empty()).then(|| row.labels.clone()),
        mime_type: row.mime_type.clone(),
        external_info: Some(ExternalInfo {
            origin: "media-migrate".to_string(),
            external_ids: vec![row.external_id.clone().unwrap_or_else(|| row.key.clone())],
        }),
        url_params: None,
        url_headers: None,
    }
}

/// `(parentFolderId, filePath)` for a manifest folder path.
pub(crate) fn folder_target(
    path: &str,
    known: &HashMap<String, String>,
) -> (String, Option<String>) {
    if path.is_empty() {
        return (MEDIA_ROOT.to_string(), None);
    }
    match known.get(path) {
        Some(id) => (id.clone(), None),
        None => (MEDIA_ROOT.to_string(), Some(path.to_string())),
    }
}

/// The facts of a descriptor the target returned.
pub(crate) fn facts(file: &crate::api::types::FileDescriptor, id: &str) -> FileFacts {
    FileFacts {
        file_id: id.to_string(),
        url: file.url.clone(),
        operation_status: file
            .operation_status
            .map_or("PENDING", |s| s.as_str())
            .to_string(),
        size: file.size_in_bytes,
        hash: file.hash.clone(),
    }
}

/// Each row's outcome, and the folder ids the answer revealed (path → id).
fn outcomes_of(
    rows: &[JournalRow],
    result: Result<BulkImportFileResponse, CallError>,
) -> (Vec<Outcome>, Vec<(String, String)>) {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                rows.iter().map(|r| call_failure(&r.key, &e)).collect(),
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
            match (meta.success, meta.id) {
                (true, Some(id)) => {
                    let item = result.item.unwrap_or_default();
                    if let Some(parent) = item
                        .parent_folder_id
                        .as_deref()
                        .filter(|_| !row.folder_path.is_empty())
                    {
                        learned.push((row.folder_path.clone(), parent.to_string()));
                    }
                    Outcome::Accepted {
                        key,
                        file: facts(&item, &id),
                    }
                }
                (true, None) => Outcome::InDoubt { key },
                (false, _) => {
                    let err = meta.error.unwrap_or_default();
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

/// What a failed call means for one of the rows it carried.
pub(crate) fn call_failure(key: &str, e: &CallError) -> Outcome {
    let key = key.to_string();
    match e.disposition() {
        Disposition::NotDone => Outcome::Retry {
            key,
            code: e.code(),
            message: e.to_string(),
        },
        Disposition::InDoubt => Outcome::InDoubt { key },
        Disposition::Permanent => Outcome::Failed {
            key,
            code: e.code(),
            message: e.to_string(),
        },
    }
}
