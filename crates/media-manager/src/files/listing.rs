//! File reads: get by id (query, path or many), the folder listing and its trash twin, search
//! across a root, and the WQL query. Nothing here writes; every response goes through
//! [`super::wire`] so all endpoints describe a file alike.

use axum::Json;
use axum::extract::{Path, State};

use super::{FILE_SORTS, resolve_file_id, wire};
use crate::SharedState;
use crate::error::{WixError, WixResult};
use crate::extract::{QueryList, WixJson};
use crate::query::{FILE_FIELDS, plan_query};
use crate::store::files::{self, FileFilter, FileRow};
use crate::store::{Page, PageRequest, folders};
use wix_media_wire::types::*;

async fn fetch_file(state: &SharedState, raw_id: &str) -> WixResult<Json<FileResponse>> {
    let id = resolve_file_id("fileId", raw_id)?;
    let row = state
        .store
        .call(move |conn| files::require_file(conn, &id))
        .await?;
    Ok(Json(FileResponse {
        file: wire(state, &row),
    }))
}

pub(super) async fn get_file_by_query(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<FileResponse>> {
    let id = q
        .get("fileId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WixError::invalid("fileId", "is required"))?;
    fetch_file(&state, id).await
}

pub(super) async fn get_file_by_path(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
) -> WixResult<Json<FileResponse>> {
    fetch_file(&state, &file_id).await
}

pub(super) async fn get_files(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GetFileDescriptorsRequest>,
) -> WixResult<Json<FilesResponse>> {
    if req.file_ids.is_empty() {
        return Err(WixError::invalid("fileIds", "must contain at least one id"));
    }
    if req.file_ids.len() > limits::GET_FILES_MAX_IDS {
        return Err(WixError::invalid("fileIds", "must contain at most 100 ids"));
    }
    let ids = req
        .file_ids
        .iter()
        .map(|id| resolve_file_id("fileIds", id))
        .collect::<WixResult<Vec<_>>>()?;
    let rows = state
        .store
        .call(move |conn| files::get_files(conn, &ids))
        .await?;
    Ok(Json(FilesResponse {
        files: rows.iter().map(|r| wire(&state, r)).collect(),
    }))
}

fn media_types_filter(
    field: &str,
    values: impl Iterator<Item = String>,
) -> WixResult<Vec<MediaType>> {
    let mut out = Vec::new();
    for v in values {
        match MediaType::parse(&v) {
            Some(MediaType::Other) | None => {
                return Err(WixError::invalid(
                    field,
                    format!("`{v}` is not a media type"),
                ));
            }
            Some(t) => out.push(t),
        }
    }
    Ok(out)
}

async fn list_in_folder(
    state: SharedState,
    q: QueryList,
    deleted: bool,
) -> WixResult<Json<ListFilesResponse>> {
    let (parent, page) = q.listing(deleted, FILE_SORTS)?;
    let filter = FileFilter {
        media_types: media_types_filter("mediaTypes", q.all("mediaTypes").map(str::to_string))?,
        private: q.bool("private")?,
    };
    let page = state
        .store
        .call(move |conn| {
            if !deleted {
                folders::require_folder(conn, &parent)?;
            }
            // The trash's top level holds files trashed one by one.
            files::list_files(conn, &parent, deleted, &filter, &page)
        })
        .await?;
    Ok(list_response(&state, &page))
}

pub(super) async fn list_files(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFilesResponse>> {
    list_in_folder(state, q, false).await
}

pub(super) async fn list_deleted_files(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFilesResponse>> {
    list_in_folder(state, q, true).await
}

pub(super) async fn search_files(
    State(state): State<SharedState>,
    WixJson(req): WixJson<SearchFilesRequest>,
) -> WixResult<Json<ListFilesResponse>> {
    let search = req.search.clone();
    if search
        .as_deref()
        .is_some_and(|s| s.chars().count() > limits::SEARCH_MAX_LEN)
    {
        return Err(WixError::invalid(
            "search",
            "must be at most 200 characters",
        ));
    }
    let media_types = req.media_types.clone().unwrap_or_default();
    if media_types.len() > limits::SEARCH_MAX_MEDIA_TYPES {
        return Err(WixError::invalid(
            "mediaTypes",
            "must have at most 30 items",
        ));
    }
    if media_types.contains(&MediaType::Other) {
        return Err(WixError::invalid(
            "mediaTypes",
            "OTHER can't be searched for",
        ));
    }
    let page = PageRequest::from_wire(req.sort.as_ref(), req.paging.as_ref(), FILE_SORTS)?;
    let filter = FileFilter {
        media_types,
        private: req.private,
    };
    let root = req.root_folder.unwrap_or_default();
    let page = state
        .store
        .call(move |conn| files::search_files(conn, root, search.as_deref(), &filter, &page))
        .await?;
    Ok(list_response(&state, &page))
}

pub(super) async fn query_files(
    State(state): State<SharedState>,
    WixJson(req): WixJson<QueryRequest>,
) -> WixResult<Json<QueryFilesResponse>> {
    let (conditions, params, page) = plan_query(&req.query, &FILE_FIELDS, &[], FILE_SORTS)?;
    let page = state
        .store
        .call(move |conn| files::query_page(conn, conditions, params, &page))
        .await?;
    Ok(Json(QueryFilesResponse {
        paging_metadata: page.metadata(),
        files: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

/// The list and search response: one page of descriptors and the next cursor.
fn list_response(state: &SharedState, page: &Page<FileRow>) -> Json<ListFilesResponse> {
    Json(ListFilesResponse {
        next_cursor: page.metadata(),
        files: page.items.iter().map(|r| wire(state, r)).collect(),
    })
}
