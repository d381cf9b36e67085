//! File endpoints: import (single, bulk v2, deprecated bulk v1), get, get many, update, list,
//! search, query, bulk delete and restore, and the trash listing. Upload and download URL
//! endpoints live in [`super::uploads`] and [`super::downloads`].

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};

use super::SharedState;
use super::error::{WixError, WixResult};
use super::extract::{QueryList, WixJson};
use super::faults::FaultKind;
use super::store::files::{self, FileFilter, FileRow, NewFile};
use super::store::{PageRequest, SortKey, folders, now_ms};
use crate::api::media::{
    extension, extension_of_mime, is_valid_mime, media_type_of_mime, mime_of_name,
};
use crate::api::types::*;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/files/import", post(import_file))
        .route("/v1/bulk/files/import-v2", post(bulk_import))
        .route("/v1/bulk/files/import", post(bulk_import_v1))
        .route("/v1/files/get-file-by-id", get(get_file_by_query))
        .route(
            "/v1/files/{file_id}",
            get(get_file_by_path).patch(update_file_deprecated_by_path),
        )
        .route("/v1/files/get-files", post(get_files))
        .route(
            "/v1/files/update-file-descriptor",
            patch(update_file_descriptor),
        )
        .route("/v1/files/{file_id}/update", patch(update_file_descriptor))
        .route("/v1/files/update-file", patch(update_file_deprecated))
        .route("/v1/files", get(list_files))
        .route("/v1/files/search", post(search_files))
        .route("/v1/files/query", post(query_files))
        .route("/v1/bulk/files/delete", post(bulk_delete))
        .route("/v1/bulk/trash-bin/files/restore", post(bulk_restore))
        .route("/v1/trash-bin/files", get(list_deleted_files))
}

/// A file id, or a Wix media URL (`wix:image://v1/<id>/<name>#...`) naming one.
pub fn resolve_file_id(field: &str, raw: &str) -> WixResult<String> {
    let id = match raw.strip_prefix("wix:") {
        Some(rest) => rest
            .split_once("://v1/")
            .and_then(|(_, tail)| tail.split(['/', '#']).next())
            .unwrap_or_default(),
        None => raw,
    };
    if id.is_empty() {
        return Err(WixError::invalid(
            field,
            "must be a file id or a Wix media URL",
        ));
    }
    if id.len() > limits::FILE_ID_MAX_LEN {
        return Err(WixError::invalid(field, "must be at most 1000 characters"));
    }
    Ok(id.to_string())
}

pub fn validate_display_name(field: &str, name: &str) -> WixResult<()> {
    if name.trim().is_empty() {
        return Err(WixError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > limits::DISPLAY_NAME_MAX_LEN {
        return Err(WixError::invalid(field, "must be at most 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(WixError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

pub fn validate_labels(field: &str, labels: &[String]) -> WixResult<()> {
    if labels.len() > limits::LABELS_MAX_ITEMS {
        return Err(WixError::invalid(field, "must have at most 100 labels"));
    }
    if labels
        .iter()
        .any(|l| l.chars().count() > limits::LABEL_MAX_LEN)
    {
        return Err(WixError::invalid(
            field,
            "each label must be at most 200 characters",
        ));
    }
    Ok(())
}

/// A new Wix-style file id: `<site prefix>_<32 hex>`, with `~mv2.<ext>` for images as Wix does.
pub fn new_file_id(site_id: &str, media_type: MediaType, ext: Option<&str>) -> String {
    use sha2::Digest;
    let prefix = &hex::encode(sha2::Sha256::digest(site_id.as_bytes()))[..6];
    let body = uuid::Uuid::new_v4().simple().to_string();
    match (media_type, ext) {
        (MediaType::Image | MediaType::Vector, Some(ext)) => format!("{prefix}_{body}~mv2.{ext}"),
        (MediaType::Audio | MediaType::Document | MediaType::Archive, Some(ext)) => {
            format!("{prefix}_{body}.{ext}")
        }
        _ => format!("{prefix}_{body}"),
    }
}

/// Checks one import request and turns it into a new PENDING file (the parent resolved and
/// any `filePath` chain created) — inside the caller's transaction.
fn prepare_import(
    state: &SharedState,
    conn: &rusqlite::Connection,
    req: &ImportFileRequest,
) -> WixResult<NewFile> {
    let url =
        url::Url::parse(&req.url).map_err(|_| WixError::invalid("url", "must be a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WixError::invalid("url", "must be an http or https URL"));
    }
    if let Some(t) = req.media_type
        && matches!(t, MediaType::Unknown | MediaType::Other)
    {
        return Err(WixError::invalid(
            "mediaType",
            "must be IMAGE, VIDEO, AUDIO, DOCUMENT, VECTOR, ARCHIVE or MODEL3D",
        ));
    }
    if let Some(m) = &req.mime_type
        && !is_valid_mime(m)
    {
        return Err(WixError::invalid(
            "mimeType",
            "must be a MIME type such as image/jpeg",
        ));
    }
    let display_name = match &req.display_name {
        Some(n) => {
            validate_display_name("displayName", n)?;
            n.clone()
        }
        None => default_display_name(&url),
    };
    let labels = req.labels.clone().unwrap_or_default();
    validate_labels("labels", &labels)?;
    let parent_id = req.parent_folder_id.as_deref().unwrap_or(MEDIA_ROOT);
    let parent_id = match req.file_path.as_deref() {
        Some(path) if !path.trim_matches('/').is_empty() => {
            folders::resolve_path(conn, parent_id, path)?
        }
        _ => folders::live_parent(conn, "parentFolderId", parent_id)?.id,
    };
    let guessed_mime = req
        .mime_type
        .clone()
        .or_else(|| mime_of_name(&display_name))
        .or_else(|| mime_of_name(url.path()));
    let guessed_type = guessed_mime
        .as_deref()
        .map(media_type_of_mime)
        .or(req.media_type);
    let ext = guessed_mime
        .as_deref()
        .and_then(extension_of_mime)
        .map(str::to_string)
        .or_else(|| extension(&display_name));
    Ok(NewFile {
        id: new_file_id(
            &state.config.site_id,
            guessed_type.unwrap_or(MediaType::Unknown),
            ext.as_deref(),
        ),
        display_name,
        parent_id,
        private: req.private.unwrap_or(false),
        labels,
        mime_type: req.mime_type.clone(),
        media_type: guessed_type,
        source_url: Some(req.url.clone()),
        import_request: Some(serde_json::to_string(req).expect("request serialises")),
        blob: None,
        ready_not_before_ms: processing_deadline(state),
    })
}

/// The earliest instant processing may finish (the processing-time fault), or 0.
pub fn processing_deadline(state: &SharedState) -> i64 {
    state
        .faults
        .processing_time()
        .map_or(0, |d| now_ms() + d.as_millis() as i64)
}

fn default_display_name(url: &url::Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .unwrap_or_else(|| "file".to_string());
    last.chars().take(limits::DISPLAY_NAME_MAX_LEN).collect()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn wire(state: &SharedState, row: &FileRow) -> FileDescriptor {
    row.to_wire(&state.public_url, &state.config.site_id)
}

/// Import responses carry no `media`, as in Wix.
fn import_wire(state: &SharedState, row: &FileRow) -> FileDescriptor {
    FileDescriptor {
        media: None,
        ..wire(state, row)
    }
}

async fn import_file(
    State(state): State<SharedState>,
    WixJson(req): WixJson<ImportFileRequest>,
) -> WixResult<Json<FileResponse>> {
    if req.url.is_empty() {
        return Err(WixError::invalid("url", "is required"));
    }
    let st = state.clone();
    let row = state
        .store
        .transaction(move |tx| {
            let new = prepare_import(&st, tx, &req)?;
            files::insert_file(tx, new)
        })
        .await?;
    state.processor.enqueue(row.id.clone());
    Ok(Json(FileResponse {
        file: import_wire(&state, &row),
    }))
}

/// Outcome of one bulk item: created, or refused with an error.
type ItemOutcome = Result<FileRow, WixError>;

async fn import_many(
    state: &SharedState,
    requests: Vec<ImportFileRequest>,
) -> WixResult<Vec<ItemOutcome>> {
    if requests.is_empty() {
        return Err(WixError::invalid(
            "importFileRequests",
            "must contain at least one item",
        ));
    }
    if requests.len() > state.config.max_bulk_items {
        return Err(WixError::invalid(
            "importFileRequests",
            format!("must contain at most {} items", state.config.max_bulk_items),
        ));
    }
    let st = state.clone();
    let outcomes = state
        .store
        .transaction(move |tx| {
            let mut out = Vec::with_capacity(requests.len());
            for (i, req) in requests.iter().enumerate() {
                if st.faults.roll(st.config.faults.item_failure_rate) {
                    st.stats.count_fault(FaultKind::ItemFailure);
                    out.push(Err(WixError::unavailable_item()));
                    continue;
                }
                if req.url.is_empty() {
                    out.push(Err(WixError::invalid(
                        &format!("importFileRequests[{i}].url"),
                        "is required",
                    )));
                    continue;
                }
                // A savepoint per item: a refused item leaves no folder or row behind.
                let sp = tx.savepoint()?;
                match prepare_import(&st, &sp, req).and_then(|new| files::insert_file(&sp, new)) {
                    Ok(row) => {
                        sp.commit()?;
                        out.push(Ok(row));
                    }
                    Err(e) if e.status.is_client_error() => out.push(Err(e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
        .await?;
    for row in outcomes.iter().flatten() {
        state.processor.enqueue(row.id.clone());
    }
    Ok(outcomes)
}

async fn bulk_import(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkImportFileRequest>,
) -> WixResult<Json<BulkImportFileResponse>> {
    let return_entity = req.return_entity.unwrap_or(true);
    let outcomes = import_many(&state, req.import_file_requests).await?;
    let mut meta = BulkActionMetadata::default();
    let results = outcomes
        .iter()
        .enumerate()
        .map(|(i, outcome)| match outcome {
            Ok(row) => {
                meta.total_successes += 1;
                BulkImportResult {
                    item_metadata: ItemMetadata {
                        id: Some(row.id.clone()),
                        original_index: i,
                        success: true,
                        error: None,
                    },
                    item: return_entity.then(|| import_wire(&state, row)),
                }
            }
            Err(e) => {
                meta.total_failures += 1;
                BulkImportResult {
                    item_metadata: ItemMetadata {
                        id: None,
                        original_index: i,
                        success: false,
                        error: Some(e.to_application_error()),
                    },
                    item: None,
                }
            }
        })
        .collect();
    Ok(Json(BulkImportFileResponse {
        results,
        bulk_action_metadata: meta,
    }))
}

/// The deprecated v1 has no per-item results: any refused item fails the whole call.
async fn bulk_import_v1(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkImportFileRequest>,
) -> WixResult<Json<FilesResponse>> {
    let requests = req.import_file_requests;
    let st = state.clone();
    let rows = state
        .store
        .transaction(move |tx| {
            if requests.is_empty() || requests.len() > st.config.max_bulk_items {
                return Err(WixError::invalid(
                    "importFileRequests",
                    format!("must contain 1 to {} items", st.config.max_bulk_items),
                ));
            }
            requests
                .iter()
                .map(|r| {
                    if r.url.is_empty() {
                        return Err(WixError::invalid("url", "is required"));
                    }
                    prepare_import(&st, tx, r).and_then(|new| files::insert_file(tx, new))
                })
                .collect::<WixResult<Vec<_>>>()
        })
        .await?;
    for row in &rows {
        state.processor.enqueue(row.id.clone());
    }
    Ok(Json(FilesResponse {
        files: rows.iter().map(|r| import_wire(&state, r)).collect(),
    }))
}

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

async fn get_file_by_query(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<FileResponse>> {
    let id = q
        .get("fileId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WixError::invalid("fileId", "is required"))?;
    fetch_file(&state, id).await
}

async fn get_file_by_path(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
) -> WixResult<Json<FileResponse>> {
    fetch_file(&state, &file_id).await
}

async fn get_files(
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

async fn apply_update(
    state: &SharedState,
    id: String,
    display_name: Option<String>,
    parent_folder_id: Option<String>,
    labels: Option<Vec<String>>,
) -> WixResult<Json<FileResponse>> {
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

async fn update_file_descriptor(
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

async fn update_file_deprecated(
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

async fn update_file_deprecated_by_path(
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

const FILE_SORTS: &[SortKey] = &[SortKey::DisplayName, SortKey::Updated, SortKey::Size];

async fn list_in_folder(
    state: SharedState,
    q: QueryList,
    deleted: bool,
) -> WixResult<Json<ListFilesResponse>> {
    let default_parent = if deleted { TRASH_ROOT } else { MEDIA_ROOT };
    let parent = q
        .get("parentFolderId")
        .filter(|p| !p.is_empty())
        .unwrap_or(default_parent)
        .to_string();
    let (sort, paging) = q.sort_and_paging()?;
    let page = PageRequest::from_wire(sort.as_ref(), Some(&paging), FILE_SORTS)?;
    let filter = FileFilter {
        media_types: media_types_filter("mediaTypes", q.all("mediaTypes").map(str::to_string))?,
        private: q.bool("private")?,
    };
    let page = state
        .store
        .call(move |conn| {
            if !deleted && folders::get_folder(conn, &parent)?.is_none() {
                return Err(WixError::not_found(
                    "FOLDER_NOT_FOUND",
                    format!("Folder `{parent}` not found"),
                ));
            }
            // The trash's top level holds files trashed one by one.
            files::list_files(conn, &parent, deleted, &filter, &page)
        })
        .await?;
    Ok(Json(ListFilesResponse {
        next_cursor: page.metadata(),
        files: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

async fn list_files(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFilesResponse>> {
    list_in_folder(state, q, false).await
}

async fn list_deleted_files(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFilesResponse>> {
    list_in_folder(state, q, true).await
}

async fn search_files(
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
    Ok(Json(ListFilesResponse {
        next_cursor: page.metadata(),
        files: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

async fn query_files(
    State(state): State<SharedState>,
    WixJson(req): WixJson<QueryRequest>,
) -> WixResult<Json<QueryFilesResponse>> {
    let query = req.query;
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    let mut state_filtered = false;
    if let Some(filter) = &query.filter {
        super::query::translate(
            filter,
            &super::query::FILE_FIELDS,
            &mut conditions,
            &mut params,
            &mut state_filtered,
        )?;
    }
    if !state_filtered {
        conditions.push("trashed = 0".to_string());
    }
    let page = PageRequest::from_wire(
        query.sort.as_ref().and_then(|s| s.first()),
        query.cursor_paging.as_ref(),
        FILE_SORTS,
    )?;
    let page = state
        .store
        .call(move |conn| files::query_page(conn, conditions, params, &page))
        .await?;
    Ok(Json(QueryFilesResponse {
        paging_metadata: page.metadata(),
        files: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
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

async fn bulk_delete(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkDeleteFilesRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids("fileIds", &req.file_ids)?;
    if req.permanent.unwrap_or(false) {
        let orphans = state
            .store
            .transaction(move |tx| files::purge_files(tx, &ids))
            .await?;
        for blob in orphans {
            state.blobs.remove(&blob).await?;
        }
    } else {
        state
            .store
            .transaction(move |tx| files::trash_files(tx, &ids))
            .await?;
    }
    Ok(Json(Empty {}))
}

async fn bulk_restore(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkRestoreFilesRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids("fileIds", &req.file_ids)?;
    state
        .store
        .transaction(move |tx| files::restore_files(tx, &ids))
        .await?;
    Ok(Json(Empty {}))
}
