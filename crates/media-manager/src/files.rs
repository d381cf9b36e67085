//! File endpoints: the routes, and the checks and id rules shared with uploads and downloads.
//! Import lives in [`import`], reads and listings in [`listing`], update, delete and restore in
//! [`changes`]. Upload and download URL endpoints live in [`super::uploads`] and
//! [`super::downloads`].

mod changes;
mod import;
mod listing;

use axum::Router;
use axum::routing::{get, patch, post};

use super::SharedState;
use super::contract;
use super::error::{WixError, WixResult};
use super::store::{FileRow, SortKey, now_ms};
use wix_media_wire::types::*;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/files/import", post(import::import_file))
        .route("/v1/bulk/files/import-v2", post(import::bulk_import))
        .route("/v1/bulk/files/import", post(import::bulk_import_v1))
        .route("/v1/files/get-file-by-id", get(listing::get_file_by_query))
        .route(
            "/v1/files/{file_id}",
            get(listing::get_file_by_path).patch(changes::update_file_deprecated_by_path),
        )
        .route("/v1/files/get-files", post(listing::get_files))
        .route(
            "/v1/files/update-file-descriptor",
            patch(changes::update_file_descriptor),
        )
        .route(
            "/v1/files/{file_id}/update",
            patch(changes::update_file_descriptor),
        )
        .route(
            "/v1/files/update-file",
            patch(changes::update_file_deprecated),
        )
        .route("/v1/files", get(listing::list_files))
        .route("/v1/files/search", post(listing::search_files))
        .route("/v1/files/query", post(listing::query_files))
        .route("/v1/bulk/files/delete", post(changes::bulk_delete))
        .route(
            "/v1/bulk/trash-bin/files/restore",
            post(changes::bulk_restore),
        )
        .route("/v1/trash-bin/files", get(listing::list_deleted_files))
}

/// Sort keys the file listings accept; anything else falls back to the update date.
const FILE_SORTS: &[SortKey] = &[SortKey::DisplayName, SortKey::Updated, SortKey::Size];

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
    contract::check(|v| v.max_len(field, Some(raw), limits::FILE_ID_MAX_LEN))?;
    Ok(id.to_string())
}

/// A name a file keeps: not blank, no control characters, at most `DISPLAY_NAME_MAX_LEN`
/// (255) characters. Requests that take longer names cut them first ([`contract::kept_name`]).
pub fn validate_display_name(field: &str, name: &str) -> WixResult<()> {
    if name.trim().is_empty() {
        return Err(WixError::invalid(field, "must not be empty"));
    }
    contract::check(|v| v.max_len(field, Some(name), limits::DISPLAY_NAME_MAX_LEN))?;
    if name.chars().any(char::is_control) {
        return Err(WixError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The labels a file holds: at most `LABELS_MAX_ITEMS` (100) of at most 200 characters.
pub fn validate_labels(field: &str, labels: &[String]) -> WixResult<()> {
    contract::check(|v| v.labels(field, Some(labels), limits::LABELS_MAX_ITEMS))
}

/// The labels a new file keeps of a request's: the first `LABELS_MAX_ITEMS`, the most a file
/// holds (`FileDescriptor.labels` `@maxSize 100`), though import and resumable requests may
/// carry 500.
pub fn kept_labels(labels: Option<&[String]>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .iter()
        .take(limits::LABELS_MAX_ITEMS)
        .cloned()
        .collect()
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

/// The earliest instant processing may finish (the processing-time fault), or 0.
pub(crate) fn processing_deadline(state: &SharedState) -> i64 {
    state
        .faults
        .processing_time()
        .map_or(0, |d| now_ms() + d.as_millis() as i64)
}

fn wire(state: &SharedState, row: &FileRow) -> FileDescriptor {
    row.to_wire(&state.public_url, &state.config.site_id)
}
