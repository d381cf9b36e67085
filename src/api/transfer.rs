//! Sending local files to upload URLs: one streamed `PUT` for small files, and a tus 1.0.0
//! client (creation, `PATCH` in chunks, resume from the server's offset after a failure, then
//! the finalize `PUT`) for large ones. Upload URLs carry their own authorisation; nothing
//! here spends the API budget, and URLs and tokens never appear in errors.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::client::CallCounters;

use super::error::{ApiError, CallError, LocalCause, transport_error};
use wix_media_wire::types::{FileResponse, GenerateFileResumableUploadUrlResponse};

/// Bytes per tus `PATCH`.
pub const TUS_CHUNK: u64 = 8 * 1024 * 1024;
/// Failures in a row of one chunk (its `PATCH` or the `HEAD` after it) before giving up.
const CHUNK_ATTEMPTS: u32 = 8;

/// Opens a local file to send without ever blocking (a FIFO swapped in for it would hang a
/// blocking open), and checks, on what was opened, that it is a regular file; returns it and its
/// length.
pub(crate) async fn open_local(
    endpoint: &'static str,
    path: &Path,
) -> Result<(File, u64), CallError> {
    let mut options = tokio::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK);
    let file = options
        .open(path)
        .await
        .map_err(|e| CallError::local_io(endpoint, path, &e))?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| CallError::local_io(endpoint, path, &e))?;
    if !meta.is_file() {
        return Err(CallError::LocalFile {
            endpoint,
            cause: LocalCause::Unreadable,
            message: format!(
                "{} is not a regular file (a directory, FIFO or device)",
                path.display()
            ),
        });
    }
    Ok((file, meta.len()))
}

fn changed(endpoint: &'static str, path: &Path, was: u64, now: &str) -> CallError {
    CallError::LocalFile {
        endpoint,
        cause: LocalCause::Changed,
        message: format!(
            "{} changed while it was sent: {was} bytes when the upload began, {now}",
            path.display()
        ),
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
    let body: wix_media_wire::types::ErrorBody = serde_json::from_slice(body).unwrap_or_default();
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
        data: None,
    })
}

/// `PUT {upload_url}?filename=…` with the file's bytes streamed from disk.
pub async fn put_file(
    http: &reqwest::Client,
    counters: &CallCounters,
    upload_url: &str,
    file_name: &str,
    mime_type: &str,
    path: &Path,
) -> Result<FileResponse, CallError> {
    const EP: &str = "uploadPut";
    let (file, len) = open_local(EP, path).await?;
    let mut url = url::Url::parse(upload_url).map_err(|_| CallError::Decode {
        endpoint: EP,
        message: "the upload URL is not a URL".to_string(),
    })?;
    url.query_pairs_mut().append_pair("filename", file_name);
    let read = Arc::new(AtomicU64::new(0));
    let grown = Arc::new(AtomicU64::new(0));
    let stream = guarded_body(file, len, read.clone(), grown.clone())
        .await
        .map_err(|e| CallError::local_io(EP, path, &e))?;
    let response = http
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, mime_type)
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    let read = read.load(Ordering::Relaxed);
    let grown = grown.load(Ordering::Relaxed);
    match response {
        Err(_) if grown > 0 => Err(changed(
            EP,
            path,
            len,
            &format!("{grown} by its last bytes"),
        )),
        Err(_) if read < len && shrank(path, len).await => {
            Err(changed(EP, path, len, &format!("{read} could be read")))
        }
        Err(e) => Err(transport_error(EP, &e)),
        Ok(response) => {
            let file = file_answer(EP, response).await?;
            counters.add_uploaded(len);
            Ok(file)
        }
    }
}

/// The body of a `PUT`: exactly `len` bytes of `file`, counted into `read`. A file that shrank
/// ends the body short; one whose length is no longer `len` when its last bytes are due (still
/// being written) gets an error instead of them, its new length in `grown`. Either way the
/// body is cut before the promised length, so the upload makes no file.
async fn guarded_body(
    file: File,
    len: u64,
    read: Arc<AtomicU64>,
    grown: Arc<AtomicU64>,
) -> std::io::Result<impl futures_util::Stream<Item = std::io::Result<tokio_util::bytes::Bytes>>> {
    let watch = file.try_clone().await?;
    let chunks = tokio_util::io::ReaderStream::new(file.take(len));
    Ok(futures_util::stream::unfold(
        (chunks, 0u64, Some(watch)),
        move |(mut chunks, mut sent, watch)| {
            let (read, grown) = (read.clone(), grown.clone());
            async move {
                let watch = watch?;
                let chunk = match chunks.next().await? {
                    Ok(chunk) => chunk,
                    Err(e) => return Some((Err(e), (chunks, sent, Some(watch)))),
                };
                sent += chunk.len() as u64;
                read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if sent >= len {
                    let now = watch.metadata().await.map(|m| m.len());
                    if let Ok(now) = now
                        && now != len
                    {
                        grown.store(now.max(1), Ordering::Relaxed);
                        let cut = std::io::Error::other("the file changed while it was sent");
                        return Some((Err(cut), (chunks, sent, None)));
                    }
                }
                Some((Ok(chunk), (chunks, sent, Some(watch))))
            }
        },
    ))
}

/// Whether the file at `path` is now shorter than `len` (or gone).
async fn shrank(path: &Path, len: u64) -> bool {
    tokio::fs::metadata(path)
        .await
        .map_or(true, |m| m.len() < len)
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
    counters: &CallCounters,
    session: &GenerateFileResumableUploadUrlResponse,
    file_name: &str,
    mime_type: &str,
    path: &Path,
) -> Result<FileResponse, CallError> {
    const EP: &str = "tusCreate";
    let (file, len) = open_local(EP, path).await?;
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
    let file = send_chunks(http, counters, &location, path, file, len)
        .await
        .map_err(unfinished)?;
    // A file whose size changed while its chunks went is not finalized: no file is made.
    let now = file
        .metadata()
        .await
        .map_err(|e| CallError::local_io("tusFinalize", path, &e))?
        .len();
    if now != len {
        return Err(changed("tusFinalize", path, len, &format!("{now} now")));
    }
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
    counters: &CallCounters,
    location: &str,
    path: &Path,
    mut file: File,
    len: u64,
) -> Result<File, CallError> {
    const EP: &str = "tusPatch";
    let mut offset = 0u64;
    let mut failures = 0;
    while offset < len {
        let size = TUS_CHUNK.min(len - offset);
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| CallError::local_io(EP, path, &e))?;
        let mut chunk = vec![0u8; size as usize];
        file.read_exact(&mut chunk).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                changed(EP, path, len, "ending before it")
            } else {
                CallError::local_io(EP, path, &e)
            }
        })?;
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
                let at = header_u64(&r, "Upload-Offset").unwrap_or(offset + size);
                counters.add_uploaded(at.saturating_sub(offset));
                offset = at;
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
    Ok(file)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(e: CallError) -> (LocalCause, String) {
        match e {
            CallError::LocalFile { cause, .. } => (cause, e.code()),
            other => panic!("not a local file's error: {other}"),
        }
    }

    /// A file gone since the manifest was read is `LOCAL_FILE_VANISHED`, for good.
    #[tokio::test]
    async fn a_vanished_file_is_told_apart() {
        let dir = tempfile::tempdir().expect("dir");
        let e = open_local("uploadPut", &dir.path().join("gone.png"))
            .await
            .expect_err("missing");
        assert_eq!(
            e.disposition(),
            crate::control::retry::Disposition::Permanent
        );
        assert_eq!(
            cause(e),
            (LocalCause::Vanished, "LOCAL_FILE_VANISHED".to_string())
        );
    }

    /// A FIFO swapped in for a file neither hangs the open nor is sent; a directory isn't
    /// either.
    #[cfg(unix)]
    #[tokio::test]
    async fn hole_4_fifo_swapped_in_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("swapped.png");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for path in [fifo, dir.path().to_path_buf()] {
            let e = open_local("uploadPut", &path).await.expect_err("refused");
            assert!(e.to_string().contains("not a regular file"), "{e}");
            assert_eq!(
                cause(e),
                (LocalCause::Unreadable, "LOCAL_FILE_UNREADABLE".to_string())
            );
        }
    }

    /// A file still being written (grown since its length was taken) never has its last bytes
    /// sent: the body ends with an error instead, so the upload is cut and makes no file. An
    /// unchanged file's body is the whole file.
    #[tokio::test]
    async fn a_file_that_grows_is_cut_before_its_last_bytes() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("growing.bin");
        std::fs::write(&path, vec![7u8; 200_000]).expect("write");
        for grows in [false, true] {
            let (file, len) = open_local("uploadPut", &path).await.expect("open");
            let (read, grown) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let body = guarded_body(file, len, read.clone(), grown.clone())
                .await
                .expect("body");
            if grows {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .expect("append");
                std::io::Write::write_all(&mut f, b"more").expect("grow");
            }
            let items: Vec<_> = body.collect().await;
            let sent: usize = items
                .iter()
                .filter_map(|i| i.as_ref().ok())
                .map(|b| b.len())
                .sum();
            if grows {
                assert!(
                    items.last().is_some_and(|i| i.is_err()),
                    "cut with an error"
                );
                assert!(
                    (sent as u64) < len,
                    "its last bytes never sent: {sent} of {len}"
                );
                assert_eq!(grown.load(Ordering::Relaxed), len + 4);
            } else {
                assert!(items.iter().all(|i| i.is_ok()));
                assert_eq!(sent as u64, len, "the whole file");
                assert_eq!(grown.load(Ordering::Relaxed), 0);
            }
        }
    }

    /// A file that shrank by the time its bytes were read is `LOCAL_FILE_CHANGED`, worth
    /// another attempt.
    #[tokio::test]
    async fn a_file_that_shrank_is_changed() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("growing.png");
        std::fs::write(&path, b"0123456789").expect("write");
        let (file, len) = open_local("uploadPut", &path).await.expect("open");
        std::fs::write(&path, b"0123").expect("truncate");
        assert!(shrank(&path, len).await);
        drop(file);
        let e = changed("uploadPut", &path, len, "4 could be read");
        assert_eq!(e.disposition(), crate::control::retry::Disposition::NotDone);
        assert_eq!(
            cause(e),
            (LocalCause::Changed, "LOCAL_FILE_CHANGED".to_string())
        );
    }
}
