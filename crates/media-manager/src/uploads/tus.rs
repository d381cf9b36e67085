//! A tus 1.0.0 server (core protocol plus the `creation` and `termination` extensions) for
//! resumable uploads. The endpoint is `/_upload/resumable`; each upload lives at
//! `/_upload/tus/{id}`, its bytes in `{data_dir}/uploads/{id}.part` and its offset in the upload
//! session, so a half-done upload survives a restart. Turning a complete upload into a file (the
//! finalize `PUT`) belongs to the parent module.

use std::collections::HashSet;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::options;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::SharedState;
use crate::conn::Stall;
use crate::store::UploadSession;
use crate::store::sessions;

mod protocol;

pub(super) use self::protocol::Metadata;
use self::protocol::{
    TusError, TusResult, header_str, header_u64, require_offset_stream, require_version,
    with_headers,
};

const VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/_upload/resumable", options(discover).post(create))
        .route(
            "/_upload/tus/{id}",
            options(discover)
                .head(status)
                .patch(append)
                // Chunks are streamed to the part file, not buffered under axum's cap.
                .layer(DefaultBodyLimit::disable())
                .delete(terminate),
        )
        .layer(axum::middleware::map_response(stamp_version))
}

/// Every tus response says which protocol version it speaks.
async fn stamp_version(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(VERSION));
    response
}

/// Uploads with a request in progress. A claim is exclusive, so two PATCHes (or a PATCH and a
/// termination or finalize) never touch one part file at once; the loser is told to retry.
#[derive(Clone, Default)]
pub struct Busy(Arc<Mutex<HashSet<String>>>);

pub struct Claim {
    busy: Busy,
    id: String,
}

impl Busy {
    pub fn try_claim(&self, id: &str) -> Option<Claim> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(id.to_string()).then(|| Claim {
            busy: self.clone(),
            id: id.to_string(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut set = self.busy.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.id);
    }
}

/// Where an upload's bytes are kept until finalize.
pub fn part_path(state: &SharedState, upload_id: &str) -> PathBuf {
    state
        .config
        .data_dir
        .join("uploads")
        .join(format!("{upload_id}.part"))
}

/// Part files written to less recently than this, with no live upload, are abandoned (a
/// fresher one may be an upload being created right now).
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// Deletes the bytes of expired, finished and terminated uploads, and part files no live
/// upload owns (a crash between creating one and binding its session, a restart after the
/// database was replaced). Returns how many part files were deleted.
pub async fn reap(state: &SharedState) -> std::io::Result<usize> {
    let dead = state
        .store
        .call(|conn| sessions::reap_expired(conn))
        .await
        .map_err(|e| std::io::Error::other(e.message()))?;
    let mut removed = 0;
    for id in dead {
        removed += usize::from(remove_if_present(&part_path(state, &id)).await?);
    }
    let dir = state.config.data_dir.join("uploads");
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".part")) else {
            continue;
        };
        let stale = entry
            .metadata()
            .await?
            .modified()?
            .elapsed()
            .is_ok_and(|age| age >= ABANDONED_AFTER);
        let owned = id.to_string();
        if stale
            && !state
                .store
                .call(move |conn| sessions::is_live_upload(conn, &owned))
                .await
                .map_err(|e| std::io::Error::other(e.message()))?
        {
            removed += usize::from(remove_if_present(&entry.path()).await?);
        }
    }
    Ok(removed)
}

async fn remove_if_present(path: &std::path::Path) -> std::io::Result<bool> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// `OPTIONS`: what this server supports.
async fn discover(State(state): State<SharedState>) -> Response {
    with_headers(
        StatusCode::NO_CONTENT,
        &[
            ("tus-version", VERSION.to_string()),
            ("tus-extension", EXTENSIONS.to_string()),
            ("tus-max-size", state.config.max_upload_bytes.to_string()),
        ],
    )
}

/// `POST` (creation): binds a new upload to the session named by the `token` metadata.
async fn create(State(state): State<SharedState>, headers: HeaderMap) -> TusResult<Response> {
    require_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(TusError::new(
            StatusCode::BAD_REQUEST,
            "Upload-Defer-Length is not supported; send Upload-Length",
        ));
    }
    let length = header_u64(&headers, "upload-length")?;
    if length > state.config.max_upload_bytes {
        return Err(TusError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Upload-Length is over {} bytes",
                state.config.max_upload_bytes
            ),
        ));
    }
    let metadata = Metadata::parse(header_str(&headers, "upload-metadata").unwrap_or_default())
        .ok_or_else(|| TusError::new(StatusCode::BAD_REQUEST, "Upload-Metadata is malformed"))?;
    let token = metadata
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TusError::new(StatusCode::FORBIDDEN, "The token metadata is required"))?
        .to_string();
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let part = part_path(&state, &upload_id);
    let folder = part
        .parent()
        .expect("part files live in a folder")
        .to_path_buf();
    tokio::task::spawn_blocking(move || crate::private::create_dir(&folder))
        .await
        .map_err(std::io::Error::other)??;
    crate::private::create_file(&part).await?.sync_all().await?;
    // The token authorises the upload; it is not kept with the metadata HEAD echoes.
    let stored = metadata.encode_without("token");
    let id = upload_id.clone();
    let bound = state
        .store
        .call(move |conn| sessions::start_tus_upload(conn, &token, &id, length, &stored))
        .await;
    if let Err(e) = bound {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(e.into());
    }
    // The upload id is the upload's only credential (like a token): it is never logged.
    tracing::info!(length, "tus upload created");
    Ok(with_headers(
        StatusCode::CREATED,
        &[(
            "location",
            format!("{}/_upload/tus/{upload_id}", state.public_url),
        )],
    ))
}

/// The session of a live upload: known, not terminated or finalized, not expired.
async fn live_upload(state: &SharedState, id: &str) -> TusResult<UploadSession> {
    let owned = id.to_string();
    let session = state
        .store
        .call(move |conn| sessions::get_session_by_upload(conn, &owned))
        .await?;
    match session {
        Some(s) if s.used => Err(TusError::new(StatusCode::NOT_FOUND, "No such upload")),
        Some(s) if s.is_expired() => Err(TusError::new(StatusCode::GONE, "The upload expired")),
        Some(s) => Ok(s),
        None => Err(TusError::new(StatusCode::NOT_FOUND, "No such upload")),
    }
}

/// `HEAD`: how far the upload has come.
async fn status(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> TusResult<Response> {
    require_version(&headers)?;
    let session = live_upload(&state, &id).await?;
    let mut fields = vec![
        ("upload-offset", session.upload_offset.to_string()),
        ("cache-control", "no-store".to_string()),
    ];
    if let Some(length) = session.upload_length {
        fields.push(("upload-length", length.to_string()));
    }
    if let Some(metadata) = session.upload_metadata.filter(|m| !m.is_empty()) {
        fields.push(("upload-metadata", metadata));
    }
    Ok(with_headers(StatusCode::OK, &fields))
}

/// How an append ended.
enum Ending {
    /// The body ended normally.
    Complete,
    /// The body broke off (the client went away); what arrived is kept.
    Broken,
    /// Nothing arrived for the idle timeout; what arrived is kept.
    Stalled,
    /// The body went past `Upload-Length`; none of it may be kept.
    Overflow,
}

/// `PATCH`: appends the body at `Upload-Offset`.
async fn append(
    State(state): State<SharedState>,
    Extension(busy): Extension<Busy>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> TusResult<Response> {
    require_version(&headers)?;
    require_offset_stream(&headers)?;
    let offset = header_u64(&headers, "upload-offset")?;
    live_upload(&state, &id).await?;
    let _claim = busy.try_claim(&id).ok_or_else(|| {
        TusError::new(StatusCode::LOCKED, "Another request is writing this upload")
    })?;
    // Read again under the claim: a PATCH that just finished may have moved the offset.
    let session = live_upload(&state, &id).await?;
    if offset != session.upload_offset {
        return Err(TusError::new(
            StatusCode::CONFLICT,
            format!("Upload-Offset is {}, not {offset}", session.upload_offset),
        ));
    }
    let length = session.upload_length.unwrap_or(0);
    let declared =
        header_str(&headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| offset.saturating_add(n) > length) {
        return Err(TusError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body goes past Upload-Length",
        ));
    }
    let part = part_path(&state, &id);
    let (reached, ending) =
        write_part(&part, offset, length, body, state.config.idle_timeout).await?;
    if let Ending::Overflow = ending {
        // Nothing of a body that goes past Upload-Length counts: the part file goes back to
        // where it was and the offset stays, as tusd does.
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&part)
            .await?;
        file.set_len(offset).await?;
        file.sync_data().await?;
        return Err(TusError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body goes past Upload-Length; none of it was kept",
        ));
    }
    let owned = id.clone();
    state
        .store
        .call(move |conn| sessions::set_tus_offset(conn, &owned, reached))
        .await?;
    match ending {
        Ending::Complete => Ok(with_headers(
            StatusCode::NO_CONTENT,
            &[("upload-offset", reached.to_string())],
        )),
        Ending::Broken => {
            tracing::info!(offset = reached, "tus body broke off; kept what arrived");
            Err(TusError::new(
                StatusCode::BAD_REQUEST,
                "The body ended early",
            ))
        }
        Ending::Stalled => {
            tracing::info!(offset = reached, "tus body stalled; kept what arrived");
            Err(TusError::new(
                StatusCode::REQUEST_TIMEOUT,
                "The body stalled for longer than the idle timeout",
            ))
        }
        Ending::Overflow => unreachable!("handled above"),
    }
}

/// Writes `body` into the part file from `offset`, never past `length`, and makes it durable.
/// Returns the offset reached and how the body ended.
async fn write_part(
    part: &std::path::Path,
    offset: u64,
    length: u64,
    body: Body,
    idle: Duration,
) -> TusResult<(u64, Ending)> {
    let mut file = tokio::fs::OpenOptions::new().write(true).open(part).await?;
    // Bytes past the recorded offset (a crash between a write and its record) are not trusted.
    file.set_len(offset).await?;
    file.seek(SeekFrom::Start(offset)).await?;
    let mut reached = offset;
    let mut stream = body.into_data_stream();
    let ending = loop {
        match crate::conn::next_chunk(&mut stream, idle).await {
            None => break Ending::Complete,
            Some(Err(Stall::Broken)) => break Ending::Broken,
            Some(Err(Stall::Idle)) => break Ending::Stalled,
            Some(Ok(chunk)) => {
                let room = usize::try_from(length - reached).unwrap_or(usize::MAX);
                let take = room.min(chunk.len());
                file.write_all(&chunk[..take]).await?;
                reached += take as u64;
                if take < chunk.len() {
                    break Ending::Overflow;
                }
            }
        }
    };
    file.flush().await?;
    file.sync_data().await?;
    Ok((reached, ending))
}

/// `DELETE` (termination): the upload and its bytes are gone; its token is spent.
async fn terminate(
    State(state): State<SharedState>,
    Extension(busy): Extension<Busy>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> TusResult<Response> {
    require_version(&headers)?;
    live_upload(&state, &id).await?;
    let _claim = busy.try_claim(&id).ok_or_else(|| {
        TusError::new(StatusCode::LOCKED, "Another request is writing this upload")
    })?;
    let owned = id.clone();
    state
        .store
        .call(move |conn| sessions::terminate_tus_upload(conn, &owned))
        .await?;
    match tokio::fs::remove_file(part_path(&state, &id)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    tracing::info!("tus upload terminated");
    Ok(StatusCode::NO_CONTENT.into_response())
}
