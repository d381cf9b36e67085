//! Uploads: upload URLs (one `PUT` of the raw bytes) and resumable uploads (tus 1.0.0 in
//! [`tus`], then the finalize `PUT`). This module owns the two generate endpoints, the upload
//! sessions' single-use tokens, and turning stored bytes into a PENDING file; processing (what
//! the bytes are) belongs to [`super::processing`]. Tokens authorise these URLs, so they are
//! never logged.

mod tus;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{post, put};
use axum::{Json, Router};

use super::SharedState;
use super::blobs::{BlobError, BlobInfo};
use super::conn::{Stall, next_chunk};
use super::contract::{self, kept_name};
use super::error::{WixError, WixResult};
use super::extract::{QueryList, WixJson};
use super::files::{kept_labels, new_file_id, processing_deadline, validate_display_name};
use super::processing::commit_then_queue;
use super::store::sessions::{self, UploadSession};
use super::store::{FileRow, NewFile, files, folders};
use wix_media_wire::media::{
    extension, extension_of_mime, is_valid_mime, media_type_of_mime, mime_of_name,
};
use wix_media_wire::types::{
    FileResponse, GenerateFileResumableUploadUrlRequest, GenerateFileResumableUploadUrlResponse,
    GenerateFileUploadUrlRequest, GenerateFileUploadUrlResponse, MEDIA_ROOT, MediaType,
    UploadProtocol, rules,
};

/// The field a quota refusal of an upload names: the space is what is missing.
const QUOTA_FIELD: &str = "sizeInBytes";

/// Session kinds as stored in `upload_sessions.kind`.
const KIND_PUT: &str = "put";
const KIND_TUS: &str = "tus";

pub fn api_routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/files/generate-upload-url", post(generate_upload_url))
        .route(
            "/v1/files/generate-resumable-upload-url",
            post(generate_resumable_upload_url),
        )
}

/// The URLs handed out by the generate endpoints; the token in them is the only credential.
pub fn upload_routes(_state: &SharedState) -> Router<SharedState> {
    let busy = tus::Busy::default();
    Router::new()
        .route(
            "/_upload/put/{token}",
            // Bodies are streamed to disk under `max_upload_bytes`, not buffered under axum's cap.
            put(put_upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/_upload/resumable/{token}", put(finalize_resumable))
        .merge(tus::routes())
        .layer(Extension(busy))
}

/// Reaps expired and abandoned uploads now (at start-up), then every `upload_reap_interval`.
pub(crate) async fn reap_uploads(state: &SharedState) {
    match tus::reap(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            parts = n,
            "deleted the bytes of expired or abandoned uploads"
        ),
        Err(e) => tracing::warn!(error = %e, "reaping expired uploads failed"),
    }
    if let Err(e) = state.blobs.reap_scratch().await {
        tracing::warn!(error = %e, "reaping abandoned scratch files failed");
    }
}

/// The reaper's schedule; the first run is the caller's (at start-up, before serving).
pub(crate) fn spawn_reaper(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(state);
    let every = state.config.upload_reap_interval;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(state) = weak.upgrade() else { return };
            reap_uploads(&state).await;
        }
    })
}

async fn generate_upload_url(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GenerateFileUploadUrlRequest>,
) -> WixResult<Json<GenerateFileUploadUrlResponse>> {
    contract::check(|v| v.upload_url(&req))?;
    let token = open_session(&state, KIND_PUT, req).await?;
    Ok(Json(GenerateFileUploadUrlResponse {
        upload_url: format!("{}/_upload/put/{token}", state.public_url),
    }))
}

async fn generate_resumable_upload_url(
    State(state): State<SharedState>,
    WixJson(req): WixJson<GenerateFileResumableUploadUrlRequest>,
) -> WixResult<Json<GenerateFileResumableUploadUrlResponse>> {
    contract::check(|v| v.resumable_upload_url(&req))?;
    // Sessions keep what both kinds share; a resumable request carries no `externalInfo`.
    let session = GenerateFileUploadUrlRequest {
        mime_type: req.mime_type,
        file_name: req.file_name,
        size_in_bytes: req.size_in_bytes,
        parent_folder_id: req.parent_folder_id,
        file_path: req.file_path,
        private: req.private,
        labels: req.labels,
        external_info: None,
    };
    let token = open_session(&state, KIND_TUS, session).await?;
    Ok(Json(GenerateFileResumableUploadUrlResponse {
        upload_protocol: Some(UploadProtocol::Tus),
        upload_url: format!("{}/_upload/resumable", state.public_url),
        upload_token: token,
    }))
}

fn validate_generate(state: &SharedState, req: &GenerateFileUploadUrlRequest) -> WixResult<()> {
    if req.mime_type.trim().is_empty() {
        return Err(WixError::invalid("mimeType", "is required"));
    }
    if !is_valid_mime(&req.mime_type) {
        return Err(WixError::invalid(
            "mimeType",
            "must be a MIME type such as image/jpeg",
        ));
    }
    if let Some(name) = &req.file_name {
        validate_display_name("fileName", &kept_name(name))?;
    }
    let limit = state.config.max_upload_bytes;
    match req.size_in_bytes {
        Some(0) => Err(WixError::rule(
            "sizeInBytes",
            rules::ZERO_FILE_SIZE,
            "must not be 0: an empty file can't be uploaded",
            None,
        )),
        Some(size) if size > limit => Err(WixError::rule(
            "sizeInBytes",
            rules::FILE_SIZE_OVER_LIMIT,
            format!("must be at most {limit} bytes"),
            Some(serde_json::json!({ "maxSizeInBytes": limit.to_string() })),
        )),
        _ => Ok(()),
    }
}

/// Validates a generate request, resolves (creating) its folder and stores a session for it.
/// The session keeps the resolved folder id, so the upload lands where the generate call said.
async fn open_session(
    state: &SharedState,
    kind: &'static str,
    mut req: GenerateFileUploadUrlRequest,
) -> WixResult<String> {
    validate_generate(state, &req)?;
    let ttl_ms = i64::try_from(state.config.upload_token_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let quota = state.quota();
    state
        .store
        .transaction(move |tx| {
            quota.admit(tx, QUOTA_FIELD, req.size_in_bytes)?;
            let parent = req.parent_folder_id.as_deref().unwrap_or(MEDIA_ROOT);
            let resolved = match req.file_path.as_deref() {
                Some(path) if !path.trim_matches('/').is_empty() => {
                    folders::resolve_path(tx, parent, path)?
                }
                _ => folders::live_parent(tx, "parentFolderId", parent)?.id,
            };
            req.parent_folder_id = Some(resolved);
            req.file_path = None;
            sessions::create_session(tx, kind, &req, ttl_ms)
        })
        .await
}

/// The session behind a token, if it may still be spent as `kind`.
async fn spendable_session(
    state: &SharedState,
    token: &str,
    kind: &str,
) -> WixResult<UploadSession> {
    let owned = token.to_string();
    let session = state
        .store
        .call(move |conn| sessions::get_session(conn, &owned))
        .await?;
    match session {
        Some(s) if s.kind == kind && !s.used && !s.is_expired() => Ok(s),
        Some(s) if s.kind == kind && !s.used => Err(WixError::forbidden(
            "UPLOAD_TOKEN_EXPIRED",
            "The upload URL has expired",
        )),
        _ => Err(invalid_token()),
    }
}

fn invalid_token() -> WixError {
    WixError::forbidden(
        "INVALID_UPLOAD_TOKEN",
        "The upload token is unknown, expired or already used",
    )
}

async fn consume(state: &SharedState, token: &str) -> WixResult<()> {
    let owned = token.to_string();
    let spent = state
        .store
        .call(move |conn| sessions::consume_session(conn, &owned))
        .await?;
    if spent { Ok(()) } else { Err(invalid_token()) }
}

/// Gives a token back after a failure that created nothing, so the caller can try again.
async fn release(state: &SharedState, token: &str) {
    let owned = token.to_string();
    if let Err(e) = state
        .store
        .call(move |conn| sessions::release_session(conn, &owned))
        .await
    {
        tracing::warn!(error = %e.message(), "could not release an upload token");
    }
}

/// The display name: the `filename` query parameter, else the generate call's `fileName`,
/// else (tus) the `filename` of the upload's metadata.
fn display_name(
    query: Option<&str>,
    session: &UploadSession,
    metadata: Option<&str>,
) -> WixResult<String> {
    let name = query
        .filter(|n| !n.is_empty())
        .or(session.request.file_name.as_deref())
        .or(metadata.filter(|n| !n.is_empty()))
        .ok_or_else(|| WixError::invalid("filename", "is required"))?;
    let name = kept_name(name);
    validate_display_name("filename", &name)?;
    Ok(name)
}

/// The MIME type of uploaded bytes. A declared type wins; `application/octet-stream` asks for
/// detection from the file name; with nothing declared, the generate call's `mimeType` stands.
fn choose_mime(declared: Option<&str>, name: &str, session: &UploadSession) -> Option<String> {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let generated = Some(essence(&session.request.mime_type))
        .filter(|m| is_valid_mime(m) && m != "application/octet-stream");
    match declared.map(essence) {
        Some(m) if m == "application/octet-stream" => mime_of_name(name).or(generated),
        Some(m) if is_valid_mime(&m) => Some(m),
        _ => generated.or_else(|| mime_of_name(name)),
    }
}

/// Creates the PENDING file for stored bytes and queues it for processing.
async fn create_uploaded_file(
    state: &SharedState,
    session: &UploadSession,
    display_name: String,
    mime: Option<String>,
    blob: BlobInfo,
) -> WixResult<FileRow> {
    let req = &session.request;
    let media_type = mime
        .as_deref()
        .map(media_type_of_mime)
        .filter(|t| *t != MediaType::Unknown);
    let ext = mime
        .as_deref()
        .and_then(extension_of_mime)
        .map(str::to_string)
        .or_else(|| extension(&display_name));
    let new = NewFile {
        id: new_file_id(
            &state.config.site_id,
            media_type.unwrap_or(MediaType::Unknown),
            ext.as_deref(),
        ),
        display_name,
        parent_id: req
            .parent_folder_id
            .clone()
            .unwrap_or_else(|| MEDIA_ROOT.to_string()),
        private: req.private.unwrap_or(false),
        labels: kept_labels(req.labels.as_deref()),
        mime_type: mime,
        media_type,
        source_url: None,
        import_request: None,
        blob: Some((blob.sha256, blob.size, blob.md5)),
        ready_not_before_ms: processing_deadline(state),
    };
    let (quota, size) = (state.quota(), blob.size);
    commit_then_queue(
        state,
        move |tx| {
            quota.admit(tx, QUOTA_FIELD, Some(size))?;
            files::insert_file(tx, new)
        },
        |row: &FileRow| vec![row.id.clone()],
    )
    .await
}

fn file_response(state: &SharedState, row: &FileRow) -> Json<FileResponse> {
    Json(FileResponse {
        file: row.to_wire(&state.public_url, &state.config.site_id),
    })
}

fn too_large(limit: u64) -> WixError {
    let mut e = WixError::bad_request(
        "PAYLOAD_TOO_LARGE",
        format!("The upload is larger than the limit of {limit} bytes"),
    );
    e.status = StatusCode::PAYLOAD_TOO_LARGE;
    e
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// `PUT {uploadUrl}?filename=NAME` with the raw bytes: one request, one file.
async fn put_upload(
    State(state): State<SharedState>,
    Path(token): Path<String>,
    query: QueryList,
    headers: HeaderMap,
    body: Body,
) -> WixResult<Json<FileResponse>> {
    let session = spendable_session(&state, &token, KIND_PUT).await?;
    let name = display_name(query.get("filename"), &session, None)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mime = choose_mime(declared, &name, &session);
    let limit = state.config.max_upload_bytes;
    let announced = content_length(&headers);
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // A site that filled up since the URL was made is told before the bytes are sent.
    let quota = state.quota();
    if quota.is_limited() {
        state
            .store
            .call(move |conn| quota.admit(conn, QUOTA_FIELD, announced))
            .await?;
    }
    consume(&state, &token).await?;
    let stored = match receive_body(&state, body).await {
        Ok(info) => create_uploaded_file(&state, &session, name, mime, info).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(row) => {
            tracing::info!(file = %row.id, size = row.size, "upload stored");
            Ok(file_response(&state, &row))
        }
        Err(e) => {
            release(&state, &token).await;
            Err(e)
        }
    }
}

/// Streams a request body into the blob store, refusing more than `max_upload_bytes`.
async fn receive_body(state: &SharedState, body: Body) -> WixResult<BlobInfo> {
    let limit = state.config.max_upload_bytes;
    let mut writer = state.blobs.writer(limit).await?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = next_chunk(&mut stream, state.config.idle_timeout).await {
        let chunk = chunk.map_err(|stall| match stall {
            Stall::Broken => WixError::bad_request(
                "INCOMPLETE_BODY",
                "The upload body ended before it was complete",
            ),
            Stall::Idle => WixError::request_timeout(),
        })?;
        writer.write(&chunk).await.map_err(|e| match e {
            BlobError::TooLarge { limit } => too_large(limit),
            BlobError::Io(e) => WixError::from(e),
        })?;
    }
    Ok(writer.finish().await?)
}

/// `PUT {uploadUrl}/{uploadToken}?filename=NAME`: turns a complete tus upload into a file.
async fn finalize_resumable(
    State(state): State<SharedState>,
    Extension(busy): Extension<tus::Busy>,
    Path(token): Path<String>,
    query: QueryList,
) -> WixResult<Json<FileResponse>> {
    let session = spendable_session(&state, &token, KIND_TUS).await?;
    let incomplete = || {
        WixError::conflict(
            "UPLOAD_INCOMPLETE",
            "The resumable upload has not received all of its bytes",
        )
    };
    let upload_id = session.tus_upload_id.clone().ok_or_else(incomplete)?;
    // Holding the upload keeps a PATCH or a termination from changing it underneath us.
    let _claim = busy.try_claim(&upload_id).ok_or_else(|| {
        WixError::conflict("UPLOAD_BUSY", "The resumable upload is still being written")
    })?;
    let session = spendable_session(&state, &token, KIND_TUS).await?;
    if session.upload_length != Some(session.upload_offset) {
        return Err(incomplete());
    }
    let metadata = tus::Metadata::parse(session.upload_metadata.as_deref().unwrap_or_default())
        .unwrap_or_default();
    let name = display_name(query.get("filename"), &session, metadata.get("filename"))?;
    let mime = choose_mime(metadata.get("contentType"), &name, &session);
    consume(&state, &token).await?;
    let part = tus::part_path(&state, &upload_id);
    let stored = match adopt_part(&state, &part).await {
        Ok(info) => create_uploaded_file(&state, &session, name, mime, info).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(row) => {
            if let Err(e) = tokio::fs::remove_file(&part).await {
                tracing::warn!(file = %row.id, error = %e, "could not remove a finished part file");
            }
            tracing::info!(file = %row.id, size = row.size, "resumable upload finalized");
            Ok(file_response(&state, &row))
        }
        Err(e) => {
            release(&state, &token).await;
            Err(e)
        }
    }
}

/// Moves a copy of the part file into the blob store. The part file itself stays until the
/// file row exists, so a failed finalize can be retried. A hard link makes the copy free.
async fn adopt_part(state: &SharedState, part: &std::path::Path) -> WixResult<BlobInfo> {
    let scratch = state.blobs.scratch_path("tus");
    if tokio::fs::hard_link(part, &scratch).await.is_err() {
        tokio::fs::copy(part, &scratch).await?;
    }
    Ok(state.blobs.adopt(&scratch).await?)
}
