//! Downloads: signed, expiring file URLs (F6) and video stream URLs (F18), permanent zip
//! archives of several files (F7) or a folder tree (D6), and the public routes that serve
//! them: `/_download/...`, `/_archive/...` and the static `/media/{id}` URLs of public files.
//! Signing, ranges, names and zip streaming live in the submodules; metadata in the store.

pub mod archive;
mod delivery;
pub mod names;
pub mod range;
pub mod serve;
pub mod signing;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use self::signing::{DispositionType, DownloadGrant};
use super::SharedState;
use super::contract;
use super::error::{WixError, WixResult};
use super::extract::WixJson;
use super::files::{resolve_file_id, validate_display_name};
use super::store::files::{self, FileRow};
use super::store::{folders, sessions};
use wix_media_wire::types::{
    ContentDisposition, DownloadUrl, GenerateDownloadUrlResponse, GenerateFileDownloadUrlRequest,
    GenerateFileDownloadUrlResponse, GenerateFilesDownloadUrlRequest,
    GenerateVideoStreamingUrlRequest, GenerateVideoStreamingUrlResponse, MediaType,
    OperationStatus, TRASH_ROOT, limits, rules,
};

/// The asset keys this server can serve: the original, and the thumbnail processing made.
const SRC: &str = "src";
const THUMBNAIL: &str = "thumbnail";

pub(crate) fn api_routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/v1/files/generate-file-download-url",
            post(generate_file_download_url),
        )
        .route(
            "/v1/files/{file_id}/generate-download-url",
            post(generate_file_download_url_by_path),
        )
        .route(
            "/v1/files/generate-download-url",
            post(generate_files_download_url),
        )
        .route(
            "/v1/folders/{folder_id}/generate-download-url",
            post(generate_folder_download_url),
        )
        .route(
            "/v1/files/generate-video-stream-url",
            post(generate_video_stream_url),
        )
        .route(
            "/v1/files/video/{file_id}/generate-stream-url",
            post(generate_video_stream_url_by_path),
        )
}

pub(crate) fn public_routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/_download/{file_id}/{asset_key}",
            get(delivery::signed_download),
        )
        .route("/_archive/{archive}", get(delivery::archive_download))
        .route("/media/{file_id}", get(delivery::static_file))
        .route(
            "/media/{file_id}/thumbnail",
            get(delivery::static_thumbnail),
        )
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A live, READY file named by `raw` (an id or a Wix media URL).
async fn ready_file(state: &SharedState, field: &'static str, raw: &str) -> WixResult<FileRow> {
    if raw.is_empty() {
        return Err(WixError::invalid(field, "is required"));
    }
    let id = resolve_file_id(field, raw)?;
    let file = state
        .store
        .call(move |conn| files::require_file(conn, &id))
        .await?;
    if !file.is_live() {
        return Err(WixError::not_found(
            "FILE_NOT_FOUND",
            format!("File `{}` is in the trash", file.id),
        ));
    }
    if file.status != OperationStatus::Ready {
        return Err(WixError::bad_request(
            "FILE_NOT_READY",
            format!("File `{}` is not READY yet", file.id),
        ));
    }
    Ok(file)
}

/// The asset keys asked for (default `src`), each one the file offers, without repeats.
fn requested_keys(file: &FileRow, asked: Option<&[String]>) -> WixResult<Vec<String>> {
    let mut offered = vec![SRC];
    if file.thumb_blob.is_some() {
        offered.push(THUMBNAIL);
    }
    let mut keys: Vec<String> = Vec::new();
    for key in asked.into_iter().flatten() {
        if !offered.contains(&key.as_str()) {
            return Err(WixError::rule(
                "assetKeys",
                rules::INVALID_ASSET_KEY,
                format!(
                    "`{key}` is not an asset of this file (it has: {})",
                    offered.join(", ")
                ),
                Some(serde_json::json!({ "assetKeys": offered })),
            ));
        }
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    if keys.is_empty() {
        keys.push(SRC.to_string());
    }
    Ok(keys)
}

/// `expirationRedirectUrl`, normalised, so the `Location` it becomes is plain ASCII.
fn redirect_url(raw: Option<&str>) -> WixResult<Option<String>> {
    raw.map(|r| match url::Url::parse(r) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(String::from(u)),
        _ => Err(WixError::invalid(
            "expirationRedirectUrl",
            "must be an http or https URL",
        )),
    })
    .transpose()
}

/// Validates the options of F6 into grants, one per asset key, for a file already checked
/// (the contract's limits on them were checked before the file was looked up).
fn grants_for(
    file: &FileRow,
    req: &GenerateFileDownloadUrlRequest,
) -> WixResult<Vec<DownloadGrant>> {
    if let Some(name) = &req.download_file_name {
        validate_display_name("downloadFileName", name)?;
    }
    let minutes = req
        .expiration_in_minutes
        .unwrap_or(limits::DOWNLOAD_EXPIRATION_DEFAULT_MIN);
    if minutes > limits::DOWNLOAD_EXPIRATION_MAX_MIN {
        return Err(WixError::invalid(
            "expirationInMinutes",
            "must be at most 525600 (a year)",
        ));
    }
    let redirect = redirect_url(req.expiration_redirect_url.as_deref())?;
    let keys = requested_keys(file, req.asset_keys.as_deref())?;
    let disposition = match req.content_disposition.unwrap_or_default() {
        ContentDisposition::Attachment => DispositionType::Attachment,
        ContentDisposition::Inline => DispositionType::Inline,
    };
    let expires_at = now_secs() + i64::from(minutes) * 60;
    Ok(keys
        .into_iter()
        .map(|asset_key| DownloadGrant {
            file_id: file.id.clone(),
            asset_key,
            expires_at,
            disposition,
            name: req.download_file_name.clone(),
            redirect: redirect.clone(),
        })
        .collect())
}

async fn generate_file_download_url(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GenerateFileDownloadUrlRequest>,
) -> WixResult<Json<GenerateFileDownloadUrlResponse>> {
    contract::check(|v| v.download_url(&req))?;
    let file = ready_file(&state, "fileId", &req.file_id).await?;
    let download_urls = grants_for(&file, &req)?
        .into_iter()
        .map(|g| DownloadUrl {
            url: g.to_url(&state.public_url, &state.signing_key),
            asset_key: g.asset_key,
        })
        .collect();
    Ok(Json(GenerateFileDownloadUrlResponse { download_urls }))
}

async fn generate_file_download_url_by_path(
    state: State<SharedState>,
    Path(file_id): Path<String>,
    WixJson(mut req): WixJson<GenerateFileDownloadUrlRequest>,
) -> WixResult<Json<GenerateFileDownloadUrlResponse>> {
    req.file_id = file_id;
    generate_file_download_url(state, WixJson(req)).await
}

/// F18: the local server doesn't transcode, so every format streams the original, inline.
async fn generate_video_stream_url(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GenerateVideoStreamingUrlRequest>,
) -> WixResult<Json<GenerateVideoStreamingUrlResponse>> {
    let file = ready_file(&state, "fileId", &req.file_id).await?;
    if file.media_type != MediaType::Video {
        return Err(WixError::bad_request(
            "NOT_A_VIDEO",
            format!("File `{}` is not a video", file.id),
        ));
    }
    let grant = DownloadGrant {
        file_id: file.id.clone(),
        asset_key: SRC.to_string(),
        expires_at: now_secs() + i64::from(limits::DOWNLOAD_EXPIRATION_DEFAULT_MIN) * 60,
        disposition: DispositionType::Inline,
        name: None,
        redirect: None,
    };
    Ok(Json(GenerateVideoStreamingUrlResponse {
        download_url: DownloadUrl {
            url: grant.to_url(&state.public_url, &state.signing_key),
            asset_key: grant.asset_key,
        },
    }))
}

async fn generate_video_stream_url_by_path(
    state: State<SharedState>,
    Path(file_id): Path<String>,
    WixJson(mut req): WixJson<GenerateVideoStreamingUrlRequest>,
) -> WixResult<Json<GenerateVideoStreamingUrlResponse>> {
    req.file_id = file_id;
    generate_video_stream_url(state, WixJson(req)).await
}

/// F7: a permanent archive URL, so private files are refused rather than exposed.
async fn generate_files_download_url(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GenerateFilesDownloadUrlRequest>,
) -> WixResult<Json<GenerateDownloadUrlResponse>> {
    let n = req.file_ids.len();
    contract::check(|v| {
        v.min_items("fileIds", n, limits::ARCHIVE_MIN_FILES);
        v.max_items("fileIds", n, limits::ARCHIVE_MAX_FILES);
    })?;
    let mut ids: Vec<String> = Vec::with_capacity(req.file_ids.len());
    for raw in &req.file_ids {
        let file = ready_file(&state, "fileIds", raw).await?;
        if file.private {
            return Err(WixError::bad_request(
                "PRIVATE_FILE",
                format!(
                    "File `{}` is private: a permanent archive URL can't expose it; \
                     use generate-file-download-url for a signed URL",
                    file.id
                ),
            ));
        }
        if !ids.contains(&file.id) {
            ids.push(file.id);
        }
    }
    let id = state
        .store
        .call(move |conn| sessions::create_archive(conn, Some(&ids), None))
        .await?;
    Ok(Json(archive_url(&state, &id)))
}

/// D6: the folder's public, READY files at every level, resolved when downloaded.
async fn generate_folder_download_url(
    State(state): State<SharedState>,
    Path(folder_id): Path<String>,
) -> WixResult<Json<GenerateDownloadUrlResponse>> {
    let id = state
        .store
        .call(move |conn| {
            match folders::get_folder(conn, &folder_id)? {
                Some(f) if f.is_live() && f.id != TRASH_ROOT => {}
                _ => {
                    return Err(WixError::not_found(
                        "FOLDER_NOT_FOUND",
                        format!("Folder `{folder_id}` not found"),
                    ));
                }
            }
            sessions::create_archive(conn, None, Some(&folder_id))
        })
        .await?;
    Ok(Json(archive_url(&state, &id)))
}

fn archive_url(state: &SharedState, id: &str) -> GenerateDownloadUrlResponse {
    GenerateDownloadUrlResponse {
        download_url: format!("{}/_archive/{id}.zip", state.public_url),
    }
}
