//! Sending local files to upload URLs: one streamed `PUT` for small files, and a tus 1.0.0
//! client (creation, `PATCH` in chunks, resume from the server's offset after a failure, then
//! the finalize `PUT`) for large ones. Upload URLs carry their own authorisation; nothing
//! here spends the API budget, and URLs and tokens never appear in errors.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::error::{ApiError, CallError, transport_error};
use super::types::{FileResponse, GenerateFileResumableUploadUrlResponse};

/// Bytes per tus `PATCH`.
pub const TUS_CHUNK: u64 = 8 * 1024 * 1024;
/// Failures in a row of one chunk (its `PATCH` or the `HEAD` after it) before giving up.
const CHUNK_ATTEMPTS: u32 = 8;

fn io_refused(endpoint: &'static str, e: std::io::Error) -> CallError {
    CallError::LocalFile {
        endpoint,
        message: format!("reading the local file: {e}"),
    }
}

async fn file_answer(
    endpoint: &'static str,
    response: reqwest::Response,
) -> Result<FileResponse, CallError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(endpoint, &e))?;
    if status == StatusCode::OK {
        return serde_json::from_slice(&bytes).map_err(|e| CallError::Decode {
            endpoint,
            message: e.to_string(),
        });
    }
    Err(status_error(endpoint, status, &bytes))
}

fn status_error(endpoint: &'static str, status: StatusCode, body: &[u8]) -> CallError {
    let body: super::types::ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    CallError::Api(ApiError {
        endpoint,
        status: status.as_u16(),
        code: body.details.application_error.map(|a| a.code),
        description: if body.message.is_empty() {
            status.to_string()
        } else {
            body.message
        },
        retry_after: None,
    })
}

/// `PUT {upload_url}?filename=…` with the file's bytes streamed from disk.
pub async fn put_file(
    http: &reqwest::Client,
    upload_url: &str,
    file_name: &str,
    mime_type: &str,
    path: &Path,
) -> Result<FileResponse, CallError> {
    const EP: &str = "uploadPut";
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_refused(EP, e))?;
    let len = file.metadata().await.map_err(|e| io_refused(EP, e))?.len();
    let mut url = url::Url::parse(upload_url).map_err(|_| CallError::Decode {
        endpoint: EP,
        message: "the upload URL is not a URL".to_string(),
    })?;
    url.query_pairs_mut().append_pair("filename", file_name);
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
    let response = http
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, mime_type)
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(EP, &e))?;
    file_answer(EP, response).await
}

fn tus_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A resumable upload: tus creation, chunked `PATCH`es resumed from `HEAD` after failures,
/// then the finalize `PUT {uploadUrl}/{uploadToken}`. Only the finalize makes a file: a
/// transient failure before it is [`CallError::Unfinished`] (start over with a new session),
/// while the finalize's failure goes back to the caller as it is, in doubt after a lost answer
/// or a 5xx.
pub async fn tus_upload(
    http: &reqwest::Client,
    session: &GenerateFileResumableUploadUrlResponse,
    file_name: &str,
    mime_type: &str,
    path: &Path,
) -> Result<FileResponse, CallError> {
    const EP: &str = "tusCreate";
    let len = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_refused(EP, e))?
        .len();
    let created = create_upload(http, session, file_name, mime_type, len).await?;
    let location = created
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| absolute(&session.upload_url, l))
        .ok_or_else(|| CallError::Decode {
            endpoint: EP,
            message: "tus creation answered without a Location".to_string(),
        })?;
    send_chunks(http, &location, path, len)
        .await
        .map_err(unfinished)?;
    let mut finalize = url::Url::parse(&format!(
        "{}/{}",
        session.upload_url.trim_end_matches('/'),
        session.upload_token
    ))
    .map_err(|_| CallError::Decode {
        endpoint: "tusFinalize",
        message: "the upload URL is not a URL".to_string(),
    })?;
    finalize
        .query_pairs_mut()
        .append_pair("filename", file_name);
    let response = http
        .put(finalize)
        .json(&serde_json::json!({}))
        .send()
        .await
        .map_err(|e| transport_error("tusFinalize", &e))?;
    file_answer("tusFinalize", response).await
}

/// tus creation, sent once: the token names one upload, so a creation whose answer was lost
/// can't be sent again with it. A transient failure is [`CallError::Unfinished`]: no file was
/// made, and a new session starts over.
async fn create_upload(
    http: &reqwest::Client,
    session: &GenerateFileResumableUploadUrlResponse,
    file_name: &str,
    mime_type: &str,
    len: u64,
) -> Result<reqwest::Response, CallError> {
    const EP: &str = "tusCreate";
    let sent = http
        .post(&session.upload_url)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len)
        .header(
            "Upload-Metadata",
            tus_metadata(&[
                ("filename", file_name),
                ("contentType", mime_type),
                ("token", &session.upload_token),
            ]),
        )
        .send()
        .await;
    match sent {
        Ok(r) if r.status() == StatusCode::CREATED => Ok(r),
        Ok(r) => {
            let status = r.status();
            let body = r.bytes().await.unwrap_or_default();
            Err(unfinished(status_error(EP, status, &body)))
        }
        Err(e) => Err(unfinished(transport_error(EP, &e))),
    }
}

/// A failure before the finalize: when it is transient, the upload is [`CallError::Unfinished`]
/// (no file was made, start over); otherwise it stands as it is.
fn unfinished(e: CallError) -> CallError {
    let transient = match &e {
        CallError::Api(a) => a.status >= 500 || a.status == 429,
        CallError::Refused { .. } | CallError::NoAnswer { .. } | CallError::Decode { .. } => true,
        CallError::LocalFile { .. } | CallError::Unfinished(_) => false,
    };
    if transient {
        CallError::Unfinished(Box::new(e))
    } else {
        e
    }
}

/// The wait after the `failures`-th failure in a row of one step of a tus upload.
async fn pause(failures: u32) {
    tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_string())
}

/// PATCHes from the server's offset to the end, asking the server again after any failure.
async fn send_chunks(
    http: &reqwest::Client,
    location: &str,
    path: &Path,
    len: u64,
) -> Result<(), CallError> {
    const EP: &str = "tusPatch";
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_refused(EP, e))?;
    let mut offset = 0u64;
    let mut failures = 0;
    while offset < len {
        let size = TUS_CHUNK.min(len - offset);
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| io_refused(EP, e))?;
        let mut chunk = vec![0u8; size as usize];
        file.read_exact(&mut chunk)
            .await
            .map_err(|e| io_refused(EP, e))?;
        let sent = http
            .patch(location)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/offset+octet-stream",
            )
            .body(chunk)
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == StatusCode::NO_CONTENT => {
                offset = header_u64(&r, "Upload-Offset").unwrap_or(offset + size);
                failures = 0;
            }
            other => {
                failures += 1;
                if failures >= CHUNK_ATTEMPTS {
                    return Err(match other {
                        Ok(r) => status_error(EP, r.status(), &r.bytes().await.unwrap_or_default()),
                        Err(e) => transport_error(EP, &e),
                    });
                }
                pause(failures).await;
                // Where the server stands: a lost answer may have stored the chunk. A failed
                // look is one more failure in a row, and the next chunk is sent from here.
                match server_offset(http, location).await {
                    Ok(at) => offset = at,
                    Err(e) if failures + 1 >= CHUNK_ATTEMPTS => return Err(e),
                    Err(_) => failures += 1,
                }
            }
        }
    }
    Ok(())
}

async fn server_offset(http: &reqwest::Client, location: &str) -> Result<u64, CallError> {
    let r = http
        .head(location)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .map_err(|e| transport_error("tusHead", &e))?;
    if r.status() != StatusCode::OK {
        return Err(status_error("tusHead", r.status(), &[]));
    }
    header_u64(&r, "Upload-Offset").ok_or_else(|| CallError::Decode {
        endpoint: "tusHead",
        message: "no Upload-Offset".to_string(),
    })
}

fn header_u64(r: &reqwest::Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}
