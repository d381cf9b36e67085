//! The explain stage: a URL row whose file came back FAILED is told apart from the others by
//! asking its source — a `HEAD` (or a one-byte `GET`) with the headers its host needs, a few at
//! a time per host, costing no API call — and its `PROCESSING_FAILED` is replaced by what the
//! source says (`SOURCE_NOT_FOUND`, `SOURCE_NOT_MEDIA`, …), or kept when the source looks
//! healthy.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{PipelineError, RunContext};
use crate::sources::diagnosis;
use crate::sources::probe::Prober;

/// Probes in flight to one host, and in all.
const PER_HOST: usize = 2;
const IN_FLIGHT: usize = 8;
/// Time limit of one probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Explains the failed URL rows of `run`; returns how many were probed.
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
    let probed = rows.len() as u64;
    let reasons: Vec<(String, String, String)> = futures_util::stream::iter(rows)
        .map(|row| {
            let prober = &prober;
            async move {
                let url = url::Url::parse(&row.source).ok()?;
                let seen = diagnosis::of_probe(&prober.probe(&url, true).await);
                Some((row.key, seen.code.to_string(), seen.message))
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|r| async move { r })
        .collect()
        .await;
    ctx.journal
        .with(move |j| j.explain_failures(&reasons))
        .await?;
    Ok(probed)
}
