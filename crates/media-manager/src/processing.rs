//! Background processing of new files: PENDING until a worker has the bytes (fetched from the
//! source for imports, already stored for uploads), knows the type, hash and size, and for
//! images the dimensions and a thumbnail → READY; anything wrong → FAILED with a reason.
//! This module runs the queue and the per-file flow; `analysis` turns a file's bytes into its
//! outcome, with `fetch`, `detect` and `raster` doing the network, type detection and image
//! decoding.

mod analysis;
mod detect;
mod fetch;
mod raster;

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use self::analysis::analyse;
use self::fetch::Fetcher;
use super::error::WixResult;
use super::faults::FaultKind;
use super::store::files::{self, FileRow, ProcessingOutcome};
use super::store::now_ms;
use super::{AppState, SharedState};
use wix_media_wire::types::OperationStatus;

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
