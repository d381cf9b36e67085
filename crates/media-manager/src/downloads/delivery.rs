//! The public side of downloads (no API key): signed URLs (`/_download/...`) checked before
//! anything is looked up, archives (`/_archive/...`) streamed as zips, and the static URLs of
//! public files (`/media/{id}`, `/media/{id}/thumbnail`). URL generation is in the parent.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::serve::{self, Served};
use super::signing::{DispositionType, DownloadGrant, Refusal};
use super::{SRC, THUMBNAIL, archive, now_secs};
use crate::SharedState;
use crate::error::{WixError, WixResult};
use crate::extract::QueryList;
use crate::store::files::{self, FileRow};
use crate::store::sessions;
use wix_media_wire::media::extension_of_mime;
use wix_media_wire::types::OperationStatus;

/// Streams an archive, its contents resolved now: files trashed since it was made are left out.
pub async fn archive_download(
    State(state): State<SharedState>,
    Path(name): Path<String>,
) -> WixResult<Response> {
    let id = name.strip_suffix(".zip").unwrap_or(&name).to_string();
    let blobs = state.blobs.clone();
    let entries = state
        .store
        .call(move |conn| {
            let archive = sessions::get_archive(conn, &id)?.ok_or_else(|| {
                WixError::not_found("ARCHIVE_NOT_FOUND", format!("Archive `{id}` not found"))
            })?;
            archive::resolve(conn, &archive, &blobs)
        })
        .await?;
    let headers = [
        (header::CONTENT_TYPE, "application/zip"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"archive.zip\"",
        ),
    ];
    let mut response = (headers, archive::stream(entries)).into_response();
    serve::protect(&mut response);
    Ok(response)
}

/// Serves what a signed URL grants. The signature is checked before anything is looked up.
pub async fn signed_download(
    State(state): State<SharedState>,
    Path((file_id, asset_key)): Path<(String, String)>,
    query: QueryList,
    headers: HeaderMap,
) -> WixResult<Response> {
    let grant =
        match DownloadGrant::verify(&file_id, &asset_key, &query, &state.signing_key, now_secs()) {
            Ok(g) => g,
            Err(Refusal::BadSignature) => {
                return Err(WixError::forbidden(
                    "INVALID_SIGNATURE",
                    "The download URL is invalid or was altered",
                ));
            }
            Err(Refusal::Expired { redirect: Some(to) }) => return Ok(redirect(&to)),
            Err(Refusal::Expired { redirect: None }) => {
                return Err(WixError::forbidden(
                    "URL_EXPIRED",
                    "The download URL has expired",
                ));
            }
        };
    let file = servable_file(&state, &grant.file_id).await?;
    asset(
        &state,
        &file,
        &grant.asset_key,
        grant.disposition,
        grant.name,
    )
    .await?
    .respond(&headers)
    .await
}

/// 302 to a redirect the server itself signed (so it parsed as an http(s) URL then).
fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => {
            WixError::forbidden("URL_EXPIRED", "The download URL has expired").into_response()
        }
    }
}

/// A file whose bytes can be served now: known, live and READY; 404 otherwise.
async fn servable_file(state: &SharedState, id: &str) -> WixResult<FileRow> {
    let lookup = id.to_string();
    let file = state
        .store
        .call(move |conn| files::get_file(conn, &lookup))
        .await?;
    match file {
        Some(f) if f.is_live() && f.status == OperationStatus::Ready => Ok(f),
        _ => Err(WixError::not_found(
            "FILE_NOT_FOUND",
            format!("File `{id}` is not available"),
        )),
    }
}

/// The blob behind `asset_key` of `file`, ready to serve. Without a `name`, the original is
/// named as the file is, and the thumbnail `{stem}-thumbnail.{its own extension}`.
async fn asset(
    state: &SharedState,
    file: &FileRow,
    asset_key: &str,
    disposition: DispositionType,
    name: Option<String>,
) -> WixResult<Served> {
    let missing = || {
        WixError::not_found(
            "ASSET_NOT_FOUND",
            format!("File `{}` has no asset `{asset_key}`", file.id),
        )
    };
    match asset_key {
        SRC => {
            let blob = file.blob.as_deref().ok_or_else(missing)?;
            Ok(Served {
                path: state.blobs.path(blob),
                mime_type: file
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_string()),
                etag: file.md5.clone().unwrap_or_else(|| blob.to_string()),
                disposition,
                name: name.unwrap_or_else(|| file.display_name.clone()),
            })
        }
        THUMBNAIL => {
            let blob = file.thumb_blob.as_deref().ok_or_else(missing)?;
            let path = state.blobs.path(blob);
            let mime_type = serve::sniff(&path).await?;
            let name = name.unwrap_or_else(|| {
                let stem = match file.display_name.rsplit_once('.') {
                    Some((stem, _)) if !stem.is_empty() => stem,
                    _ => file.display_name.as_str(),
                };
                match extension_of_mime(&mime_type) {
                    Some(ext) => format!("{stem}-thumbnail.{ext}"),
                    None => format!("{stem}-thumbnail"),
                }
            });
            Ok(Served {
                path,
                mime_type,
                etag: blob.to_string(),
                disposition,
                name,
            })
        }
        _ => Err(missing()),
    }
}

/// The static URL of a file (`FileDescriptor.url`): public files only, inline.
async fn static_asset(
    state: SharedState,
    file_id: String,
    asset_key: &str,
    headers: HeaderMap,
) -> WixResult<Response> {
    let file = servable_file(&state, &file_id).await?;
    if file.private {
        return Err(WixError::forbidden(
            "PRIVATE_FILE",
            "This file is private; ask for a signed download URL",
        ));
    }
    asset(&state, &file, asset_key, DispositionType::Inline, None)
        .await?
        .respond(&headers)
        .await
}

pub async fn static_file(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> WixResult<Response> {
    static_asset(state, file_id, SRC, headers).await
}

pub async fn static_thumbnail(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> WixResult<Response> {
    static_asset(state, file_id, THUMBNAIL, headers).await
}
