//! Background processing of new files: PENDING until a worker has the bytes (fetched from the
//! source for imports, already stored for uploads), knows the type, hash and size, and for
//! images the dimensions and a thumbnail → READY; anything wrong → FAILED with a reason.
//! This module runs the queue and the per-file flow; `fetch`, `detect` and `raster` do the
//! network, type detection and image decoding.

mod detect;
mod fetch;
mod raster;

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use self::detect::{HEAD_LEN, Hints};
use self::fetch::Fetcher;
use super::error::WixResult;
use super::faults::FaultKind;
use super::store::files::{self, FileRow, ProcessingOutcome};
use super::store::now_ms;
use super::{AppState, SharedState};
use wix_media_wire::types::{ImportFileRequest, MediaType, OperationStatus};

#[derive(Debug, Clone)]
pub struct ProcessingConfig {
    /// Files processed at once.
    pub concurrency: usize,
    /// Largest source accepted, in bytes.
    pub max_source_bytes: u64,
    /// Limit for fetching one source, from connect to last byte.
    pub fetch_timeout: Duration,
    /// Redirects followed before a source is given up on.
    pub max_redirects: usize,
    /// Whether sources on loopback and private networks may be fetched.
    pub allow_private_sources: bool,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            max_source_bytes: 1024 * 1024 * 1024,
            fetch_timeout: Duration::from_secs(120),
            max_redirects: 5,
            allow_private_sources: true,
        }
    }
}

/// The processing queue: files are taken in order and worked on `concurrency` at a time.
pub struct Processor {
    queue: mpsc::UnboundedSender<String>,
    workers: Arc<Semaphore>,
    concurrency: usize,
    stop: CancellationToken,
}

impl Processor {
    pub(crate) fn new(state: Weak<AppState>, config: &ProcessingConfig) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let concurrency = config.concurrency.max(1);
        let workers = Arc::new(Semaphore::new(concurrency));
        let stop = CancellationToken::new();
        let worker = Worker {
            state,
            fetcher: Arc::new(Fetcher::new(config)),
            workers: workers.clone(),
            stop: stop.clone(),
        };
        tokio::spawn(worker.dispatch(rx));
        Self {
            queue,
            workers,
            concurrency,
            stop,
        }
    }

    pub fn enqueue(&self, file_id: String) {
        let _ = self.queue.send(file_id);
    }

    /// Queues every file left PENDING by an earlier run of the server.
    pub(crate) async fn requeue_pending(&self, state: &SharedState) -> WixResult<()> {
        let ids = state
            .store
            .call(|conn| super::store::files::pending_file_ids(conn))
            .await?;
        for id in ids {
            self.enqueue(id);
        }
        Ok(())
    }

    /// Stops processing. Work in flight is abandoned, not awaited (a fetch may take minutes):
    /// its files stay PENDING and the next start queues them again.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        let _ = self.workers.acquire_many(self.concurrency as u32).await;
    }
}

/// A file's processing went wrong: the code and description recorded on the FAILED file.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: &'static str,
    pub description: String,
}

impl Failure {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// Our own fault (storage, a crashed task), not the source's.
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> Self {
        Self::new("INTERNAL_ERROR", format!("internal error {context}: {err}"))
    }
}

impl From<Failure> for ProcessingOutcome {
    fn from(f: Failure) -> Self {
        ProcessingOutcome::Failed {
            code: f.code.to_string(),
            description: f.description,
        }
    }
}

struct Worker {
    state: Weak<AppState>,
    fetcher: Arc<Fetcher>,
    workers: Arc<Semaphore>,
    stop: CancellationToken,
}

impl Worker {
    async fn dispatch(self, mut rx: mpsc::UnboundedReceiver<String>) {
        loop {
            let next = tokio::select! {
                _ = self.stop.cancelled() => return,
                next = rx.recv() => next,
            };
            let Some(id) = next else { return };
            let permit = tokio::select! {
                _ = self.stop.cancelled() => return,
                permit = self.workers.clone().acquire_owned() => permit,
            };
            let (Ok(permit), Some(state)) = (permit, self.state.upgrade()) else {
                return;
            };
            let (fetcher, stop) = (self.fetcher.clone(), self.stop.clone());
            tokio::spawn(async move {
                let work = async {
                    let done = process(&state, &fetcher, &id).await;
                    // A worker is only needed for the work; the processing-time fault waits
                    // without one, so slow processing doesn't throttle the queue.
                    drop(permit);
                    if let Some((row, outcome)) = done {
                        complete(&state, &row, outcome).await;
                    }
                };
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = work => {}
                }
            });
        }
    }
}

/// Works out a PENDING file's outcome; `None` when there's nothing to do.
async fn process(
    state: &SharedState,
    fetcher: &Fetcher,
    id: &str,
) -> Option<(FileRow, ProcessingOutcome)> {
    let lookup = id.to_string();
    let row = match state.store.call(move |c| files::get_file(c, &lookup)).await {
        Ok(Some(row)) if row.status == OperationStatus::Pending => row,
        Ok(_) => return None,
        Err(e) => {
            tracing::error!(file_id = %id, error = %e.message(), "can't load file for processing");
            return None;
        }
    };
    if state.faults.strikes(FaultKind::ProcessingFailure) {
        state
            .stats
            .count_fault(FaultKind::ProcessingFailure, crate::faults::Scope::Api);
        let f = Failure::new("PROCESSING_FAILED", "processing failed (injected fault)");
        return Some((row, f.into()));
    }
    let outcome = match analyse(state, fetcher, &row).await {
        Ok(ready) => ready,
        Err(f) => f.into(),
    };
    Some((row, outcome))
}

/// Waits out the processing-time fault, then records the outcome.
async fn complete(state: &SharedState, row: &FileRow, outcome: ProcessingOutcome) {
    let wait_ms = row.ready_not_before_ms - now_ms();
    if wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    }
    log_outcome(row, &outcome);
    let (id, recorded) = (row.id.clone(), outcome);
    if let Err(e) = state
        .store
        .call(move |c| files::complete_processing(c, &id, &recorded))
        .await
    {
        tracing::error!(file_id = %row.id, error = %e.message(), "can't record processing outcome");
    }
}

/// One line per file: id and source host only (the URL's query and the headers may be secret).
fn log_outcome(row: &FileRow, outcome: &ProcessingOutcome) {
    let host = row
        .source_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    match outcome {
        ProcessingOutcome::Ready {
            media_type, size, ..
        } => {
            tracing::debug!(file_id = %row.id, %host, media_type = media_type.as_str(), size, "file ready");
        }
        ProcessingOutcome::Failed { code, description } if code == "INTERNAL_ERROR" => {
            tracing::error!(file_id = %row.id, %host, %code, %description, "file failed");
        }
        ProcessingOutcome::Failed { code, description } => {
            tracing::info!(file_id = %row.id, %host, %code, %description, "file failed");
        }
    }
}

/// The stored bytes and what is known of them so far.
struct Stored {
    blob: String,
    size: u64,
    md5: String,
}

async fn analyse(
    state: &SharedState,
    fetcher: &Fetcher,
    row: &FileRow,
) -> Result<ProcessingOutcome, Failure> {
    let req = row
        .import_request
        .as_deref()
        .map(serde_json::from_str::<ImportFileRequest>)
        .transpose()
        .map_err(|e| Failure::internal("reading the stored import request", &e))?;
    let declared = req.as_ref().and_then(|r| r.media_type);
    let url_path = row
        .source_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.path().to_string());
    let hints = Hints {
        declared_mime: row.mime_type.as_deref(),
        display_name: &row.display_name,
        url_path: url_path.as_deref(),
        content_type: None,
    };
    let (stored, found) = match (&row.blob, &row.source_url, &req) {
        (Some(blob), _, _) => stored_upload(state, row, blob, &hints, declared).await?,
        (None, Some(url), Some(req)) => {
            fetch_import(state, fetcher, url, req, hints, declared).await?
        }
        _ => {
            return Err(Failure::internal(
                "reading the file",
                &"neither stored bytes nor an import request",
            ));
        }
    };
    conclude(state, stored, found).await
}

/// An upload: the bytes are stored already; read their head from disk.
async fn stored_upload(
    state: &SharedState,
    row: &FileRow,
    blob: &str,
    hints: &Hints<'_>,
    declared: Option<MediaType>,
) -> Result<(Stored, detect::Detected), Failure> {
    use tokio::io::AsyncReadExt;
    let path = state.blobs.path(blob);
    let read = async {
        let file = tokio::fs::File::open(&path).await?;
        let mut head = Vec::with_capacity(HEAD_LEN);
        file.take(HEAD_LEN as u64).read_to_end(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = read
        .await
        .map_err(|e| Failure::internal("reading the stored file", &e))?;
    let found = detect::detect(&head, hints)?;
    detect::check_declared(declared, &found)?;
    let stored = Stored {
        blob: blob.to_string(),
        size: row.size.unwrap_or_default(),
        md5: row.md5.clone().unwrap_or_default(),
    };
    Ok((stored, found))
}

/// An import: stream the source into a blob, deciding its type from the first bytes so a
/// wrong file is refused before it is stored.
async fn fetch_import(
    state: &SharedState,
    fetcher: &Fetcher,
    url: &str,
    req: &ImportFileRequest,
    mut hints: Hints<'_>,
    declared: Option<MediaType>,
) -> Result<(Stored, detect::Detected), Failure> {
    let limit = state.config.processing.max_source_bytes;
    let mut source = fetcher.open(url, req, limit).await?;
    let mut writer = state
        .blobs
        .writer(limit)
        .await
        .map_err(|e| Failure::internal("storing the fetched file", &e))?;
    let head = source.copy_head(fetcher, &mut writer, HEAD_LEN).await?;
    let content_type = source.content_type();
    hints.content_type = content_type.as_deref();
    let found = detect::detect(&head, &hints)?;
    detect::check_declared(declared, &found)?;
    source.copy_rest(fetcher, &mut writer).await?;
    let info = writer
        .finish()
        .await
        .map_err(|e| Failure::internal("storing the fetched file", &e))?;
    let stored = Stored {
        blob: info.sha256,
        size: info.size,
        md5: info.md5,
    };
    Ok((stored, found))
}

/// Reads a raster image's dimensions and stores its thumbnail; other types are ready as is.
async fn conclude(
    state: &SharedState,
    stored: Stored,
    found: detect::Detected,
) -> Result<ProcessingOutcome, Failure> {
    let (mut width, mut height, mut thumb_blob) = (None, None, None);
    if found.media_type == MediaType::Image {
        match raster::format_of(&found.mime) {
            Some(format) => {
                let path = state.blobs.path(&stored.blob);
                let r = raster::read(path, format, found.mime.clone()).await?;
                let thumb = state
                    .blobs
                    .put_bytes(&r.thumbnail)
                    .await
                    .map_err(|e| Failure::internal("storing the thumbnail", &e))?;
                (width, height, thumb_blob) = (Some(r.width), Some(r.height), Some(thumb.sha256));
            }
            // Formats we can't decode (TIFF, HEIC, …) pass when their bytes proved them.
            None if found.sniffed => {}
            None => {
                return Err(Failure::new(
                    "IMAGE_UNREADABLE",
                    format!(
                        "the file claims to be {} but its content is not an image",
                        found.mime
                    ),
                ));
            }
        }
    }
    Ok(ProcessingOutcome::Ready {
        mime_type: found.mime,
        media_type: found.media_type,
        size: stored.size,
        md5: stored.md5,
        blob: stored.blob,
        width,
        height,
        thumb_blob,
    })
}

/// Commits `f` and queues the files it created for processing, in a task of its own: a
/// client hanging up mid-call drops the handler's future, and were that to happen between
/// the commit and the queueing, the files would stay PENDING until the server restarts.
pub(crate) async fn commit_then_queue<T, F>(
    state: &SharedState,
    f: F,
    created: fn(&T) -> Vec<String>,
) -> WixResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut rusqlite::Transaction<'_>) -> WixResult<T> + Send + 'static,
{
    let st = state.clone();
    tokio::spawn(async move {
        let out = st.store.transaction(f).await?;
        for id in created(&out) {
            st.processor.enqueue(id);
        }
        Ok(out)
    })
    .await
    .map_err(super::error::WixError::internal)?
}
