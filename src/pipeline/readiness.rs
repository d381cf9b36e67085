//! The readiness stage: accepted is not done. Polls accepted files with Get File Descriptors,
//! 100 ids a call, oldest first, until each is READY or FAILED. While imports still run it
//! polls only full batches, so polls never crowd out imports; the interval backs off while
//! nothing changes and snaps back when something does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::import::facts;
use super::{PipelineError, Stage};
use crate::api::types::limits::GET_FILES_MAX_IDS;
use crate::journal::Outcome;
use crate::journal::rows::PROCESSING_FAILED;

const FIRST_INTERVAL: Duration = Duration::from_millis(500);
const MAX_INTERVAL: Duration = Duration::from_secs(15);

/// Polls until every accepted row is final, the wait times out (→ `true`), or the run stops.
pub(crate) async fn poll_until_done(
    stage: Arc<Stage>,
    mut imports_done: watch::Receiver<bool>,
) -> Result<bool, PipelineError> {
    let mut interval = FIRST_INTERVAL;
    let mut deadline: Option<Instant> = None;
    loop {
        let finished = *imports_done.borrow();
        if !stage.config.wait || stage.stop.is_stopped() {
            if finished {
                return Ok(false);
            }
            let _ = imports_done.changed().await;
            continue;
        }
        if finished {
            let d = *deadline.get_or_insert_with(|| Instant::now() + stage.config.wait_timeout);
            if Instant::now() >= d {
                return Ok(true);
            }
        }
        let rows = stage
            .journal
            .with(|j| j.processing(GET_FILES_MAX_IDS))
            .await?;
        if rows.is_empty() && finished {
            return Ok(false);
        }
        if rows.len() < GET_FILES_MAX_IDS && !finished {
            // Wait for a full batch, or for the imports to end.
            let _ = tokio::time::timeout(interval, imports_done.changed()).await;
            continue;
        }
        let changed = poll_once(
            &stage,
            rows.iter().filter_map(|r| r.file_id.clone()).collect(),
        )
        .await?;
        interval = if changed > 0 {
            FIRST_INTERVAL
        } else {
            (interval * 2).min(MAX_INTERVAL)
        };
        if changed < rows.len() {
            let mut stop = stage.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.stopped() => {}
            }
        }
    }
}

/// One Get File Descriptors call; returns how many files left PENDING.
async fn poll_once(stage: &Arc<Stage>, ids: Vec<String>) -> Result<usize, PipelineError> {
    let files = stage
        .client
        .get_files(&ids)
        .await
        .map_err(PipelineError::Target)?;
    let mut seen = HashSet::new();
    let mut failures = HashMap::new();
    let mut all = Vec::with_capacity(files.len());
    let mut changed = 0;
    for f in &files {
        let Some(id) = f.id.clone() else { continue };
        let fact = facts(f, &id);
        if fact.operation_status != "PENDING" {
            changed += 1;
        }
        if fact.operation_status == "FAILED" {
            let (code, message) = PROCESSING_FAILED;
            failures.insert(id.clone(), (code.to_string(), message.to_string()));
        }
        seen.insert(id);
        all.push(fact);
    }
    // A file the target no longer has can't become READY.
    let missing: Vec<Outcome> = ids
        .iter()
        .filter(|id| !seen.contains(*id))
        .map(|id| Outcome::FileMissing {
            file_id: id.clone(),
        })
        .collect();
    changed += missing.len();
    let max_attempts = stage.config.max_attempts;
    stage
        .journal
        .with(move |j| {
            j.record_files(&all, &failures)?;
            j.apply(&missing, max_attempts)
        })
        .await?;
    Ok(changed)
}
