//! Folder endpoints: create, get, list, search, query, update (rename and move), bulk delete
//! and restore, and the trash listing. The folder download URL lives in [`super::downloads`].

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use super::SharedState;
use super::contract;
use super::error::{WixError, WixResult};
use super::extract::{QueryList, WixJson};
use super::query::{FOLDER_FIELDS, plan_query};
use super::store::folders::{self, FolderRow};
use super::store::trash;
use super::store::{PageRequest, PagingFields, SortKey};
use wix_media_wire::types::*;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/folders", post(create_folder).get(list_folders))
        .route(
            "/v1/folders/{folder_id}",
            get(get_folder).patch(update_folder),
        )
        .route("/v1/folders/search", post(search_folders))
        .route("/v1/folders/query", post(query_folders))
        .route("/v1/bulk/folders/delete", post(bulk_delete))
        .route("/v1/bulk/trash-bin/folders/restore", post(bulk_restore))
        .route("/v1/trash-bin/folders", get(list_deleted_folders))
}

const FOLDER_SORTS: &[SortKey] = &[SortKey::DisplayName, SortKey::Updated];

/// A folder row as this site's REST folder.
fn wire(state: &SharedState, row: &FolderRow) -> Folder {
    row.to_wire(&state.config.site_id)
}

async fn create_folder(
    State(state): State<SharedState>,
    WixJson(req): WixJson<CreateFolderRequest>,
) -> WixResult<Json<FolderResponse>> {
    let parent = req
        .parent_folder_id
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| MEDIA_ROOT.to_string());
    let row = state
        .store
        .transaction(move |tx| folders::create_folder(tx, &req.display_name, &parent))
        .await?;
    Ok(Json(FolderResponse {
        folder: wire(&state, &row),
    }))
}

async fn get_folder(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> WixResult<Json<FolderResponse>> {
    let row = state
        .store
        .call(move |conn| folders::require_folder(conn, &id))
        .await?;
    Ok(Json(FolderResponse {
        folder: wire(&state, &row),
    }))
}

async fn list_in(
    state: SharedState,
    q: QueryList,
    deleted: bool,
) -> WixResult<Json<ListFoldersResponse>> {
    let (parent, page) = q.listing(deleted, FOLDER_SORTS)?;
    let page = state
        .store
        .call(move |conn| {
            folders::require_folder(conn, &parent)?;
            folders::list_folders(conn, &parent, deleted, &page)
        })
        .await?;
    Ok(Json(ListFoldersResponse {
        next_cursor: page.metadata(),
        folders: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

async fn list_folders(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFoldersResponse>> {
    list_in(state, q, false).await
}

async fn list_deleted_folders(
    State(state): State<SharedState>,
    q: QueryList,
) -> WixResult<Json<ListFoldersResponse>> {
    list_in(state, q, true).await
}

async fn search_folders(
    State(state): State<SharedState>,
    WixJson(req): WixJson<SearchFoldersRequest>,
) -> WixResult<Json<ListFoldersResponse>> {
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
    let page = PageRequest::from_wire(
        req.sort.as_ref(),
        req.paging.as_ref(),
        FOLDER_SORTS,
        PagingFields::LISTING,
    )?;
    let root = req.root_folder.unwrap_or_default();
    let page = state
        .store
        .call(move |conn| folders::search_folders(conn, root, search.as_deref(), &page))
        .await?;
    Ok(Json(ListFoldersResponse {
        next_cursor: page.metadata(),
        folders: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

async fn query_folders(
    State(state): State<SharedState>,
    WixJson(req): WixJson<QueryRequest>,
) -> WixResult<Json<QueryFoldersResponse>> {
    let (conditions, params, page) =
        plan_query(&req.query, &FOLDER_FIELDS, &["system = 0"], FOLDER_SORTS)?;
    let page = state
        .store
        .call(move |conn| folders::query_page(conn, conditions, params, &page))
        .await?;
    Ok(Json(QueryFoldersResponse {
        paging_metadata: page.metadata(),
        folders: page.items.iter().map(|r| wire(&state, r)).collect(),
    }))
}

async fn update_folder(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    WixJson(req): WixJson<UpdateFolderRequest>,
) -> WixResult<Json<FolderResponse>> {
    if let Some(body_id) = req.folder.id.as_deref().filter(|b| !b.is_empty())
        && body_id != id
    {
        return Err(WixError::invalid(
            "folder.id",
            "must match the folder id in the path",
        ));
    }
    let patch = req.folder;
    if patch.display_name.is_none() && patch.parent_folder_id.is_none() {
        return Err(nothing_to_update());
    }
    let row = state
        .store
        .transaction(move |tx| {
            folders::update_folder(
                tx,
                &id,
                patch.display_name.as_deref(),
                patch.parent_folder_id.as_deref(),
            )
        })
        .await?;
    Ok(Json(FolderResponse {
        folder: wire(&state, &row),
    }))
}

/// 400 `FIELD_MASK_IS_EMPTY_OR_MISSING`: an update that names nothing writable to change.
fn nothing_to_update() -> WixError {
    WixError::rule(
        "fieldMask",
        rules::FIELD_MASK_IS_EMPTY_OR_MISSING,
        "names nothing to change: give displayName or parentFolderId",
        None,
    )
}

/// 1 to `BULK_FOLDERS_MAX_IDS` (100) folder ids, each a folder id's length at most. The
/// contract sets no minimum; an empty list, which would do nothing, is refused all the same.
fn check_ids(ids: &[String]) -> WixResult<Vec<String>> {
    const FIELD: &str = "folderIds";
    contract::check(|v| {
        v.min_items(FIELD, ids.len(), 1);
        v.max_items(FIELD, ids.len(), limits::BULK_FOLDERS_MAX_IDS);
        for (i, id) in ids.iter().enumerate() {
            v.max_len(
                &format!("{FIELD}[{i}]"),
                Some(id),
                limits::FOLDER_ID_MAX_LEN,
            );
        }
    })?;
    Ok(ids.to_vec())
}

async fn bulk_delete(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkDeleteFoldersRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids(&req.folder_ids)?;
    if req.permanent.unwrap_or(false) {
        let orphans = state
            .store
            .transaction(move |tx| trash::purge_folders(tx, &ids))
            .await?;
        for blob in orphans {
            state.blobs.remove(&blob).await?;
        }
    } else {
        state
            .store
            .transaction(move |tx| trash::trash_folders(tx, &ids))
            .await?;
    }
    Ok(Json(Empty {}))
}

async fn bulk_restore(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkRestoreFoldersRequest>,
) -> WixResult<Json<Empty>> {
    let ids = check_ids(&req.folder_ids)?;
    state
        .store
        .transaction(move |tx| trash::restore_folders(tx, &ids))
        .await?;
    Ok(Json(Empty {}))
}
