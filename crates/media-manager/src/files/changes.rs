//! File writes: update (current and deprecated shapes), bulk delete (to the trash or for good)
//! and bulk restore from the trash. Blobs left unreferenced by a permanent delete are removed
//! here, after the transaction that dropped their last row.

use axum::Json;
use axum::extract::{Path, State};

use super::{resolve_file_id, validate_display_name, validate_labels, wire};
use crate::SharedState;
use crate::error::{WixError, WixResult};
use crate::extract::WixJson;
use crate::store::{files, trash};
use wix_media_wire::types::*;

async fn apply_update(
    state: &SharedState,
    id: String,
    display_name: Option<String>,
    parent_folder_id: Option<String>,
    labels: Option<Vec<String>>,
) -> WixResult<Json<FileResponse>> {
    if display_name.is_none() && parent_folder_id.is_none() && labels.is_none() {
        return Err(WixError::rule(
            "fieldMask",
            rules::FIELD_MASK_IS_EMPTY_OR_MISSING,
            "names nothing to change: give displayName, parentFolderId or labels",
            None,
        ));
    }
    if let Some(n) = &display_name {
        validate_display_name("file.displayName", n)?;
    }
    if let Some(l) = &labels {
        validate_labels("file.labels", l)?;
    }
    let row = state
        .store
        .transaction(move |tx| {
            files::update_file(
                tx,
                &id,
                display_name.as_deref(),
                parent_folder_id.as_deref(),
                labels.as_deref(),
            )
        })
        .await?;
    Ok(Json(FileResponse {
        file: wire(state, &row),
    }))
}

pub(super) async fn update_file_descriptor(
    State(state): State<SharedState>,
    path_id: Option<Path<String>>,
    WixJson(req): WixJson<UpdateFileDescriptorRequest>,
) -> WixResult<Json<FileResponse>> {
    let raw = req
        .file
        .id
        .clone()
        .or(path_id.map(|Path(id)| id))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WixError::invalid("file.id", "is required"))?;
    let id = resolve_file_id("file.id", &raw)?;
    let f = req.file;
    apply_update(&state, id, f.display_name, f.parent_folder_id, f.labels).await
}

pub(super) async fn update_file_deprecated(
    State(state): State<SharedState>,
    WixJson(req): WixJson<UpdateFileRequest>,
) -> WixResult<Json<FileResponse>> {
    if req.file_id.is_empty() {
        return Err(WixError::invalid("fileId", "is required"));
    }
    let id = resolve_file_id("fileId", &req.file_id)?;
    apply_update(
        &state,
        id,
        req.display_name,
        req.parent_folder_id,
        req.labels,
    )
    .await
}

pub(super) async fn update_file_deprecated_by_path(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
    WixJson(req): WixJson<UpdateFileRequest>,
) -> WixResult<Json<FileResponse>> {
    let id = resolve_file_id("fileId", &file_id)?;
    apply_update(
        &state,
        id,
        req.display_name,
        req.parent_folder_id,
        req.labels,
    )
    .await
}

fn check_ids(field: &str, ids: &[String]) -> WixResult<Vec<String>> {
    if ids.is_empty() {
        return Err(WixError::invalid(field, "must contain at least one id"));
    }
    if ids.len() > limits::BULK_DELETE_MAX_IDS {
        return Err(WixError::invalid(field, "must contain at most 1000 ids"));
    }
    ids.iter().map(|id| resolve_file_id(field, id)).collect()
}

pub(super) async fn bulk_delete(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkDeleteFilesRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids("fileIds", &req.file_ids)?;
    if req.permanent.unwrap_or(false) {
        let orphans = state
            .store
            .transaction(move |tx| trash::purge_files(tx, &ids))
            .await?;
        for blob in orphans {
            state.blobs.remove(&blob).await?;
        }
    } else {
        state
            .store
            .transaction(move |tx| trash::trash_files(tx, &ids))
            .await?;
    }
    Ok(Json(Empty {}))
}

pub(super) async fn bulk_restore(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkRestoreFilesRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids("fileIds", &req.file_ids)?;
    state
        .store
        .transaction(move |tx| trash::restore_files(tx, &ids))
        .await?;
    Ok(Json(Empty {}))
}
