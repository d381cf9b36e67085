//! File import from a URL: the single import, bulk import v2 (per-item results) and the
//! deprecated bulk v1 (all or nothing). Each new file starts PENDING and is handed to the
//! processor; fetching the bytes is not done here.

use axum::Json;
use axum::extract::State;

use super::{kept_labels, new_file_id, processing_deadline, validate_display_name, wire};
use crate::SharedState;
use crate::contract::{self, kept_name};
use crate::error::{WixError, WixResult};
use crate::extract::WixJson;
use crate::faults::FaultKind;
use crate::processing::commit_then_queue;
use crate::store::files::{self, FileRow, NewFile};
use crate::store::folders;
use wix_media_wire::media::{
    extension, extension_of_mime, is_valid_mime, media_type_of_mime, mime_of_name,
};
use wix_media_wire::types::*;

/// The contract's limits of a whole Bulk Import: 1 to `max_items` items, each within the
/// limits of an Import File request; every violation, named by item, in one 400.
fn check_bulk(requests: &[ImportFileRequest], max_items: usize) -> WixResult<()> {
    const FIELD: &str = "importFileRequests";
    contract::check(|v| {
        v.min_items(FIELD, requests.len(), limits::BULK_IMPORT_MIN_ITEMS);
        v.max_items(FIELD, requests.len(), max_items);
        for (i, req) in requests.iter().enumerate() {
            v.item(FIELD, i, |v| v.import(req));
        }
    })
}

/// Checks one import request and turns it into a new PENDING file (the parent resolved and
/// any `filePath` chain created) — inside the caller's transaction.
fn prepare_import(
    state: &SharedState,
    conn: &rusqlite::Connection,
    req: &ImportFileRequest,
) -> WixResult<NewFile> {
    let url = check_import(req)?;
    let display_name = match &req.display_name {
        Some(n) => {
            let kept = kept_name(n);
            validate_display_name("displayName", &kept)?;
            kept
        }
        None => default_display_name(&url),
    };
    let labels = kept_labels(req.labels.as_deref());
    let parent_id = req.parent_folder_id.as_deref().unwrap_or(MEDIA_ROOT);
    let parent_id = match req.file_path.as_deref() {
        Some(path) if !path.trim_matches('/').is_empty() => {
            folders::resolve_path(conn, parent_id, path)?
        }
        _ => folders::live_parent(conn, "parentFolderId", parent_id)?.id,
    };
    let (media_type, ext) = guess_kind(req, &display_name, &url);
    Ok(NewFile {
        id: new_file_id(
            &state.config.site_id,
            media_type.unwrap_or(MediaType::Unknown),
            ext.as_deref(),
        ),
        display_name,
        parent_id,
        private: req.private.unwrap_or(false),
        labels,
        mime_type: req.mime_type.clone(),
        media_type,
        source_url: Some(req.url.clone()),
        import_request: Some(serde_json::to_string(req).expect("request serialises")),
        blob: None,
        ready_not_before_ms: processing_deadline(state),
    })
}

/// The request's URL (http or https), declared media type and MIME type, checked.
fn check_import(req: &ImportFileRequest) -> WixResult<url::Url> {
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
    Ok(url)
}

/// The media type and file extension a new file's id is made from, before processing knows:
/// from the declared MIME type, else the name's or the URL's extension, else the declared
/// media type.
fn guess_kind(
    req: &ImportFileRequest,
    display_name: &str,
    url: &url::Url,
) -> (Option<MediaType>, Option<String>) {
    let guessed_mime = req
        .mime_type
        .clone()
        .or_else(|| mime_of_name(display_name))
        .or_else(|| mime_of_name(url.path()));
    let media_type = guessed_mime
        .as_deref()
        .map(media_type_of_mime)
        .or(req.media_type);
    let ext = guessed_mime
        .as_deref()
        .and_then(extension_of_mime)
        .map(str::to_string)
        .or_else(|| extension(display_name));
    (media_type, ext)
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

/// Import responses carry no `media`, as in Wix.
fn import_wire(state: &SharedState, row: &FileRow) -> FileDescriptor {
    FileDescriptor {
        media: None,
        ..wire(state, row)
    }
}

pub(super) async fn import_file(
    State(state): State<SharedState>,
    WixJson(req): WixJson<ImportFileRequest>,
) -> WixResult<Json<FileResponse>> {
    if req.url.is_empty() {
        return Err(WixError::invalid("url", "is required"));
    }
    contract::check(|v| v.import(&req))?;
    let st = state.clone();
    let row = commit_then_queue(
        &state,
        move |tx| {
            let new = prepare_import(&st, tx, &req)?;
            // The bytes of a URL import are unknown until it is fetched: a file's place is
            // what it needs now. Refused, the folders `filePath` made roll back with the rest.
            st.quota().admit(tx, "url", None)?;
            files::insert_file(tx, new)
        },
        |row: &FileRow| vec![row.id.clone()],
    )
    .await?;
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
    check_bulk(&requests, state.config.max_bulk_items)?;
    let st = state.clone();
    commit_then_queue(
        state,
        move |tx| {
            let quota = st.quota();
            // A full site refuses the whole call; one with room takes the items that fit,
            // in order, and fails the rest one by one.
            let mut used = quota.admit(tx, "importFileRequests", None)?;
            let mut out = Vec::with_capacity(requests.len());
            for (i, req) in requests.iter().enumerate() {
                if st.faults.strikes(FaultKind::ItemFailure) {
                    st.stats
                        .count_fault(FaultKind::ItemFailure, crate::faults::Scope::Api);
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
                let prefix = format!("importFileRequests[{i}]");
                let created = prepare_import(&st, &sp, req)
                    .map_err(|e| e.within(&prefix))
                    .and_then(|new| {
                        if !quota.fits(used, None) {
                            return Err(quota.exceeded(&prefix, used));
                        }
                        files::insert_file(&sp, new).map_err(|e| e.within(&prefix))
                    });
                match created {
                    Ok(row) => {
                        sp.commit()?;
                        used.files += 1;
                        out.push(Ok(row));
                    }
                    Err(e) if e.status.is_client_error() => out.push(Err(e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        },
        |outcomes: &Vec<ItemOutcome>| outcomes.iter().flatten().map(|r| r.id.clone()).collect(),
    )
    .await
}

pub(super) async fn bulk_import(
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
pub(super) async fn bulk_import_v1(
    State(state): State<SharedState>,
    WixJson(req): WixJson<BulkImportFileRequest>,
) -> WixResult<Json<FilesResponse>> {
    let requests = req.import_file_requests;
    check_bulk(&requests, state.config.max_bulk_items)?;
    let st = state.clone();
    let rows = commit_then_queue(
        &state,
        move |tx| {
            let quota = st.quota();
            let used = quota.admit(tx, "importFileRequests", None)?;
            if quota
                .files
                .is_some_and(|max| used.files + requests.len() as u64 > max)
            {
                return Err(quota.exceeded("importFileRequests", used));
            }
            requests
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let prefix = format!("importFileRequests[{i}]");
                    if r.url.is_empty() {
                        return Err(WixError::invalid("url", "is required").within(&prefix));
                    }
                    prepare_import(&st, tx, r)
                        .and_then(|new| files::insert_file(tx, new))
                        .map_err(|e| e.within(&prefix))
                })
                .collect::<WixResult<Vec<_>>>()
        },
        |rows: &Vec<FileRow>| rows.iter().map(|r| r.id.clone()).collect(),
    )
    .await?;
    Ok(Json(FilesResponse {
        files: rows.iter().map(|r| import_wire(&state, r)).collect(),
    }))
}
