//! Background processing of new files: PENDING until a worker has the bytes (fetched from the
//! source for imports, already stored for uploads), knows the type, hash and size, and for
//! images the dimensions and a thumbnail → READY; anything wrong → FAILED with a reason.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use super::error::WixResult;
use super::{AppState, SharedState};

#[derive(Debug, Clone)]
pub struct ProcessingConfig {
    /// Files processed at once.
    pub concurrency: usize,
    /// Largest source accepted, in bytes.
    pub max_source_bytes: u64,
    /// Limit for fetching one source, from connect to last byte.
    pub fetch_timeout: Duration,
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

pub struct Processor {
    queue: mpsc::UnboundedSender<String>,
    workers: Arc<Semaphore>,
    concurrency: usize,
}

impl Processor {
    pub fn new(state: Weak<AppState>, config: &ProcessingConfig) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let concurrency = config.concurrency.max(1);
        let workers = Arc::new(Semaphore::new(concurrency));
        tokio::spawn(dispatch(state, rx, workers.clone()));
        Self {
            queue,
            workers,
            concurrency,
        }
    }

    pub fn enqueue(&self, file_id: String) {
        let _ = self.queue.send(file_id);
    }

    /// Queues every file left PENDING by an earlier run of the server.
    pub async fn requeue_pending(&self, state: &SharedState) -> WixResult<()> {
        let ids = state
            .store
            .call(|conn| super::store::files::pending_file_ids(conn))
            .await?;
        for id in ids {
            self.enqueue(id);
        }
        Ok(())
    }

    /// Waits for the files being processed to finish.
    pub async fn shutdown(&self) {
        let _ = self.workers.acquire_many(self.concurrency as u32).await;
    }
}

async fn dispatch(
    state: Weak<AppState>,
    mut rx: mpsc::UnboundedReceiver<String>,
    workers: Arc<Semaphore>,
) {
    while let Some(id) = rx.recv().await {
        let Ok(permit) = workers.clone().acquire_owned().await else {
            return;
        };
        let Some(state) = state.upgrade() else { return };
        tokio::spawn(async move {
            process(&state, &id).await;
            drop(permit);
        });
    }
}

async fn process(_state: &SharedState, _id: &str) {}
