//! The explain stage: a row whose file came back FAILED is told apart from the others by
//! asking its source — a `HEAD` (or a one-byte `GET`) with the headers its host needs, a few at
//! a time per host, costing no API call — and its `PROCESSING_FAILED` is replaced by what the
//! source says (`SOURCE_NOT_FOUND`, `SOURCE_NOT_MEDIA`, …), or kept when the source looks
//! healthy. A local file sent from a served or staged URL is asked first of the file system
//! (gone, unreadable), then, when served, at a URL signed afresh like the one the target was
//! given: a tunnel or public address that stopped answering is `SOURCE_UNREACHABLE`, and heals
//! like any source. (The type a served file answers with is the tool's own guess from its
//! name, so it never makes the file "not media".)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{PipelineError, RunContext};
use crate::api::transfer::open_local;
use crate::journal::JournalRow;
use crate::journal::answers::PROCESSING_FAILED;
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

/// Explains the failed rows of `run`; returns how many were explained.
pub(crate) async fn explain_failures(
    ctx: &Arc<RunContext>,
    run: i64,
) -> Result<u64, PipelineError> {
    let files_by_url = ctx.config.files_by_url();
    let mut local = Vec::new();
    let mut served_keys = std::collections::HashSet::new();
    let rows = ctx
        .journal
        .with(move |j| j.unexplained_failures(run, files_by_url))
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let prober = Prober::new(PER_HOST, PROBE_TIMEOUT, ctx.config.source_headers.clone())
        .map_err(|e| PipelineError::Task(format!("building the source prober: {e}")))?;
    let (files, mut rows): (Vec<JournalRow>, Vec<JournalRow>) =
        rows.into_iter().partition(|r| r.is_file);
    let served = ctx.config.serve_sources.as_ref();
    for row in files {
        match local_trouble(&row).await {
            // The file is fine: a served one is probed at its public address.
            None => {
                if let Some(served) = served {
                    let url = served.url_for(&row.key, Path::new(&row.source));
                    served_keys.insert(row.key.clone());
                    rows.push(JournalRow { source: url, ..row });
                }
            }
            Some(reason) => local.push(reason),
        }
    }
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
    let reasons: Vec<(String, String, String)> = local
        .into_iter()
        .chain(reasons.into_iter().map(|(key, code, message)| {
            if !served_keys.contains(&key) {
                (key, code, message)
            } else if code == "SOURCE_NOT_MEDIA" {
                let message = format!("{}; its --serve-sources URL answers", PROCESSING_FAILED.1);
                (key, PROCESSING_FAILED.0.to_string(), message)
            } else {
                (key, code, format!("at its --serve-sources URL: {message}"))
            }
        }))
        .collect();
    let explained = reasons.len() as u64;
    ctx.journal
        .with(move |j| j.explain_failures(&reasons))
        .await?;
    Ok(explained)
}

/// What the file system says of a failed local file's row, when it is no longer there to be
/// served or staged as it was read (gone, or not a readable regular file): a reason for good.
async fn local_trouble(row: &JournalRow) -> Option<(String, String, String)> {
    let e = open_local("serve", Path::new(&row.source)).await.err()?;
    Some((row.key.clone(), e.code(), e.to_string()))
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
