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
use crate::store::paging::supported_sort;
use crate::store::{Page, PageRequest, PagingFields, folders};
use wix_media_wire::types::*;

/// Get File Descriptor(s) of ids the site doesn't know (never created, or deleted for good;
/// trashed files are known): 400 `RESOURCE_NOT_FOUND`, the ids as asked in `data.unknownIds`.
fn not_found(field: &str, unknown: Vec<String>) -> WixError {
    let description = match unknown.as_slice() {
        [one] => format!("no file `{one}` on this site"),
        many => format!("{} of the files asked for are not on this site", many.len()),
    };
    WixError::rule(
        field,
        rules::RESOURCE_NOT_FOUND,
        description,
        Some(serde_json::json!({ "unknownIds": unknown })),
    )
}

async fn fetch_file(state: &SharedState, raw_id: &str) -> WixResult<Json<FileResponse>> {
    let id = resolve_file_id("fileId", raw_id)?;
    let row = state
        .store
        .call(move |conn| files::get_file(conn, &id))
        .await?
        .ok_or_else(|| not_found("fileId", vec![raw_id.to_string()]))?;
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
    let n = req.file_ids.len();
    crate::contract::check(|v| {
        v.min_items("fileIds", n, limits::GET_FILES_MIN_IDS);
        v.max_items("fileIds", n, limits::GET_FILES_MAX_IDS);
    })?;
    let ids = req
        .file_ids
        .iter()
        .enumerate()
        .map(|(i, id)| resolve_file_id(&format!("fileIds[{i}]"), id))
        .collect::<WixResult<Vec<_>>>()?;
    let asked = ids.clone();
    let rows = state
        .store
        .call(move |conn| files::get_files(conn, &asked))
        .await?;
    let known: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let unknown: Vec<String> = ids
        .iter()
        .zip(&req.file_ids)
        .filter(|(id, _)| !known.contains(id.as_str()))
        .map(|(_, raw)| raw.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(not_found("fileIds", unknown));
    }
    Ok(Json(FilesResponse {
        files: rows.iter().map(|r| wire(&state, r)).collect(),
    }))
}

/// 400 `UNSUPPORTED_MEDIA_TYPE`: a media type the files can't be listed by (`OTHER`, or a name
/// that is no media type).
fn unsupported_media_type(field: &str, value: &str) -> WixError {
    WixError::rule(
        field,
        rules::UNSUPPORTED_MEDIA_TYPE,
        format!("files can't be listed by media type `{value}`"),
        None,
    )
}

fn media_types_filter(
    field: &str,
    values: impl Iterator<Item = String>,
) -> WixResult<Vec<MediaType>> {
    let mut out = Vec::new();
    for v in values {
        match MediaType::parse(&v) {
            Some(MediaType::Other) | None => return Err(unsupported_media_type(field, &v)),
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
    supported_sort(q.sort_and_paging()?.0.as_ref(), FILE_SORTS)?;
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
        return Err(unsupported_media_type(
            "mediaTypes",
            MediaType::Other.as_str(),
        ));
    }
    supported_sort(req.sort.as_ref(), FILE_SORTS)?;
    let page = PageRequest::from_wire(
        req.sort.as_ref(),
        req.paging.as_ref(),
        FILE_SORTS,
        PagingFields::LISTING,
    )?;
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
