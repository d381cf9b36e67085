//! The explain stage: a URL row whose file came back FAILED is told apart from the others by
//! asking its source — a `HEAD` (or a one-byte `GET`) with the headers its host needs, a few at
//! a time per host, costing no API call — and its `PROCESSING_FAILED` is replaced by what the
//! source says (`SOURCE_NOT_FOUND`, `SOURCE_NOT_MEDIA`, …), or kept when the source looks
//! healthy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{PipelineError, RunContext};
use crate::journal::JournalRow;
use crate::sources::diagnosis;
use crate::sources::probe::Prober;

/// Probes in flight to one host, and hosts probed at once.
const PER_HOST: usize = 2;
const HOSTS_AT_ONCE: usize = 4;
/// Time limit of one probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// A host that failed this many probes in a row without answering is not asked again: its
/// other rows get the same reason (a dead host would otherwise cost a timeout per row).
const DEAD_HOST_AFTER: usize = 4;

/// Explains the failed URL rows of `run`; returns how many were explained.
pub(crate) async fn explain_failures(
    ctx: &Arc<RunContext>,
    run: i64,
) -> Result<u64, PipelineError> {
    let rows = ctx
        .journal
        .with(move |j| j.unexplained_failures(run))
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let prober = Prober::new(PER_HOST, PROBE_TIMEOUT, ctx.config.source_headers.clone())
        .map_err(|e| PipelineError::Task(format!("building the source prober: {e}")))?;
    let mut by_host: BTreeMap<String, Vec<JournalRow>> = BTreeMap::new();
    for row in rows {
        let host = url::Url::parse(&row.source)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        by_host.entry(host).or_default().push(row);
    }
    let probes = futures_util::stream::iter(by_host.into_values())
        .map(|rows| explain_host(&prober, rows))
        .buffer_unordered(HOSTS_AT_ONCE)
        .flat_map(futures_util::stream::iter)
        .collect::<Vec<(String, String, String)>>();
    // A stop leaves the rows as they are: the next run asks again.
    let mut stop = ctx.stop.clone();
    let reasons = tokio::select! {
        reasons = probes => reasons,
        _ = stop.stopped() => return Ok(0),
    };
    let explained = reasons.len() as u64;
    ctx.journal
        .with(move |j| j.explain_failures(&reasons))
        .await?;
    Ok(explained)
}

/// The reasons of one host's failed rows, probing `PER_HOST` at a time until the host looks
/// dead.
async fn explain_host(prober: &Prober, rows: Vec<JournalRow>) -> Vec<(String, String, String)> {
    let mut out = Vec::with_capacity(rows.len());
    let mut silent = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        if silent >= DEAD_HOST_AFTER {
            let message = format!("the host did not answer probes of {silent} other rows");
            out.extend(rows.map(|r| (r.key, "SOURCE_UNREACHABLE".to_string(), message.clone())));
            break;
        }
        let chunk: Vec<JournalRow> = rows.by_ref().take(PER_HOST).collect();
        let seen = futures_util::future::join_all(chunk.iter().map(|row| async {
            let url = url::Url::parse(&row.source).ok()?;
            Some(diagnosis::of_probe(&prober.probe(&url, true).await))
        }))
        .await;
        for (row, seen) in chunk.into_iter().zip(seen) {
            let Some(seen) = seen else { continue };
            silent = if seen.code == "SOURCE_UNREACHABLE" {
                silent + 1
            } else {
                0
            };
            out.push((row.key, seen.code.to_string(), seen.message));
        }
    }
    out
}
