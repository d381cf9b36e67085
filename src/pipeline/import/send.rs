//! Sending one batch: the Bulk Import call, and after a 5xx the look at the target before
//! anything is resent. A batch waiting for its look gives up its import slot meanwhile
//! ([`Looking`]): the look's wait spends no budget, so it must not hold other batches back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use super::{Batch, Sent};
use crate::control::budget::Priority;
use crate::pipeline::hosts::host_of;
use crate::pipeline::{PipelineError, RunContext, settle};
use wix_media_wire::types::{BulkImportFileResponse, ImportFileRequest};

/// The batches in flight that are waiting to look at the target after a 5xx.
#[derive(Debug, Default)]
pub(super) struct Looking {
    count: AtomicUsize,
    started: Notify,
}

impl Looking {
    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Completes once a batch has started waiting to look since the last time it completed
    /// (one waiter: the import loop).
    pub(super) async fn started(&self) {
        self.started.notified().await;
    }

    /// A batch waits to look until the guard is dropped.
    fn enter(&self) -> LookGuard<'_> {
        self.count.fetch_add(1, Ordering::SeqCst);
        // A permit is kept when the loop isn't waiting yet, so no start is missed.
        self.started.notify_one();
        LookGuard(self)
    }
}

struct LookGuard<'a>(&'a Looking);

impl Drop for LookGuard<'_> {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sends a batch. A 5xx may come after the work was done (a gateway that lost the answer), so
/// before each resend the target is looked at (after [`settle::look_delay`]): the rows it holds
/// are recorded accepted, rows another send in flight may stand for are left in doubt, and only
/// the others go again. The resends cost the rows no attempt: a storm of 5xx answers is waited
/// out with backoff, up to the client's resends, before the rows are left in doubt.
pub(super) async fn send(
    ctx: &Arc<RunContext>,
    mut batch: Batch,
    mut items: Vec<ImportFileRequest>,
    looking: &Looking,
) -> Result<Sent, PipelineError> {
    let client = &ctx.client;
    let mut rng = fastrand::Rng::new();
    let mut resend = 0;
    loop {
        let result = client.bulk_import(&items).await;
        match &result {
            Err(e)
                if e.is_server_error() && resend < client.resends() && !ctx.stop.is_stopped() =>
            {
                tracing::debug!(batch = batch.no, error = %e, "looking at the target before resending");
                let waiting = looking.enter();
                tokio::time::sleep(settle::look_delay(client, resend, &mut rng)).await;
                if resend == 0 {
                    settle::count_looked(ctx, batch.rows.len());
                }
                let resolved = match Priority::Unblock
                    .scope(settle::claim_found(ctx, &batch.rows))
                    .await
                {
                    Ok(resolved) => resolved,
                    // Can't look now: the rows stay in doubt for the settle stage.
                    Err(PipelineError::Target(_)) => return Ok((batch, result)),
                    Err(e) => return Err(e),
                };
                drop(waiting);
                (batch.rows, items) = batch
                    .rows
                    .into_iter()
                    .zip(items)
                    .filter(|(row, _)| {
                        let found = resolved.contains_key(&row.key);
                        if found && let Some(host) = host_of(&row.source) {
                            // Recorded by the look; its file is polled like any other found.
                            ctx.hosts.sent(&host, None, None);
                        }
                        !found
                    })
                    .unzip();
                if batch.rows.is_empty() {
                    return Ok((batch, Ok(BulkImportFileResponse::default())));
                }
                client.count_retry();
                resend += 1;
            }
            _ => return Ok((batch, result)),
        }
    }
}
