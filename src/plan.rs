//! The dry-run audit behind `media-migrate plan`: reads a manifest once, streamed, and says
//! which rows are valid, invalid or duplicates (with lines and reasons), which folders imports
//! will create, how many API calls the migration will take and how long at the rate limit —
//! optionally probing each URL source. It touches no Media Manager and no journal; duplicates
//! are found through a scratch SQLite set ([`keys`]), so memory doesn't grow with the manifest.

pub mod estimate;
pub mod keys;
pub mod rows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use self::estimate::CallEstimate;
use self::rows::{FolderTree, PlanCounts, PlannedRow};
use crate::manifest::{Format, ManifestError, ManifestOptions, Source};
use crate::report::csv_out::{self, CsvOut, OutputError};
use crate::report::html;
use crate::sources::SourceHeaders;
use crate::sources::probe::{ProbeResult, ProbeStatus, Prober};

pub const PLAN_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("building the HTTP client for --probe")]
    Http(#[source] reqwest::Error),
    #[error("the manifest reader stopped unexpectedly")]
    Reader(#[source] tokio::task::JoinError),
}

#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub manifest: PathBuf,
    pub manifest_options: ManifestOptions,
    pub report_dir: PathBuf,
    /// Files per Bulk Import call `run` will use.
    pub batch_size: u64,
    /// Requests per minute `run` will spend.
    pub rate_per_minute: u32,
    pub probe: Option<ProbeConfig>,
    /// Headers private sources need, sent with the probes.
    pub source_headers: SourceHeaders,
    /// `--prune`: what a run would take from this journal.
    pub prune: Option<PruneCheck>,
}

/// `plan --prune`: the journal a run would prune and its safety limit.
#[derive(Debug, Clone)]
pub struct PruneCheck {
    pub journal: PathBuf,
    /// `--max-prune`, a percentage of the journal's files.
    pub max_percent: f64,
}

/// In `plan.json` with `--prune`: what `run --prune` would move to the trash (`prune.csv`
/// lists the files).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneSummary {
    pub journal: String,
    pub files: u64,
    pub journal_files: u64,
    pub max_percent: f64,
    /// More than `max_percent` of the journal's files: `run --prune` would refuse.
    pub would_refuse: bool,
    /// Invalid manifest lines: `run --prune` would prune nothing (their rows' files would be
    /// taken for rows the manifest left out).
    pub would_skip_for_invalid: bool,
}

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Requests in flight to one host.
    pub per_host: usize,
    /// Requests in flight in all.
    pub concurrency: usize,
    pub timeout: Duration,
}

/// `plan.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    pub schema_version: u32,
    pub manifest: String,
    pub format: &'static str,
    pub counts: PlanCounts,
    /// Every folder path imports will create (ancestors included), sorted.
    pub folders: Vec<String>,
    /// Valid URL rows by source host: the hosts the Media Manager will fetch from.
    pub source_hosts: BTreeMap<String, u64>,
    /// Not in `api_calls`: what looking for files the site already holds (adoption, on by
    /// default) costs a run whose journal doesn't know these rows, on a site that holds none of
    /// them — a lookup per folder of the tree (ancestors included) and the root's listing. Each
    /// 100 files a folder already holds cost one call more; `run --no-adopt` costs none.
    pub adoption_lookups: u64,
    pub api_calls: CallEstimate,
    pub rate_per_minute: u32,
    pub batch_size: u64,
    pub estimated_secs: u64,
    pub estimated_time: String,
    /// Present with `--probe`.
    pub probe: Option<ProbeCounts>,
    /// Present with `--prune`.
    pub prune: Option<PruneSummary>,
    /// Present when the manifest has local files: their calls and time each way.
    pub local_files: Option<estimate::LocalFilesEstimate>,
}

impl PlanSummary {
    /// True when every row is valid and every probed source answered with a known type.
    /// Every row would be done: none invalid, no probed source failing. (A duplicate is done
    /// with the row it repeats; a skipped row was asked to be skipped.)
    pub fn clean(&self) -> bool {
        self.counts.invalid == 0 && self.probe.as_ref().is_none_or(|p| p.failed() == 0)
    }
}

/// Probe results by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeCounts {
    pub probed: u64,
    pub ok: u64,
    pub untyped: u64,
    pub http_error: u64,
    pub unreachable: u64,
    /// Sources whose size was reported, and their total.
    pub sized: u64,
    pub bytes: u64,
}

impl ProbeCounts {
    pub fn failed(&self) -> u64 {
        self.untyped + self.http_error + self.unreachable
    }

    fn add(&mut self, result: &ProbeResult) {
        self.probed += 1;
        match result.status {
            ProbeStatus::Ok => self.ok += 1,
            ProbeStatus::Untyped => self.untyped += 1,
            ProbeStatus::Http(_) => self.http_error += 1,
            ProbeStatus::Unreachable => self.unreachable += 1,
        }
        if let Some(size) = result.size {
            self.sized += 1;
            self.bytes += size;
        }
    }
}

/// What the plan wrote.
#[derive(Debug, Clone)]
pub struct PlanReport {
    pub summary: PlanSummary,
    pub csv: PathBuf,
    pub json: PathBuf,
}

const HEADER: [&str; 8] = [
    "line",
    "key",
    "source",
    "folder_path",
    "display_name",
    "status",
    "field",
    "reason",
];
const PROBE_HEADER: [&str; 3] = ["probe_status", "probe_type", "probe_size"];

/// Plans `config.manifest`: writes `plan.csv` and `plan.json` into the report folder.
pub async fn plan(config: PlanConfig) -> Result<PlanReport, PlanError> {
    csv_out::create_dir(&config.report_dir)?;
    let prober = match &config.probe {
        Some(p) => Some(Arc::new(
            Prober::new(p.per_host, p.timeout, config.source_headers.clone())
                .map_err(PlanError::Http)?,
        )),
        None => None,
    };
    let mut header = HEADER.to_vec();
    if prober.is_some() {
        header.extend(PROBE_HEADER);
    }
    let mut csv = CsvOut::create(config.report_dir.join("plan.csv"), &header)?;
    // Rows come off a blocking reader thread in manifest order; a bounded channel keeps it
    // from running ahead of the probes.
    let (tx, rx) = mpsc::channel::<PlannedRow>(1024);
    let reader = {
        let (path, options) = (config.manifest.clone(), config.manifest_options.clone());
        tokio::task::spawn_blocking(move || rows::read_manifest(&path, &options, &tx))
    };
    let in_flight = config.probe.as_ref().map_or(1, |p| p.concurrency.max(1));
    let mut judged = std::pin::pin!(probed(rx, prober.clone(), in_flight));
    let mut counts = PlanCounts::default();
    let mut folders = FolderTree::default();
    let mut hosts: BTreeMap<String, u64> = BTreeMap::new();
    let mut probes = prober.as_ref().map(|_| ProbeCounts::default());
    let mut aggregates = html::Aggregates::default();
    while let Some((row, probe)) = judged.next().await {
        counts.add(&row);
        tally(&mut aggregates, &row, probe.as_ref());
        if row.valid_source.is_some() {
            folders.add(&row.folder_path);
        }
        if let Some(Source::Url(url)) = &row.valid_source {
            *hosts
                .entry(url.host_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        if let (Some(tally), Some(RowProbe::Remote(result))) = (&mut probes, &probe) {
            tally.add(result);
        }
        csv.write(&cells(row, probe))?;
    }
    let keys = reader.await.map_err(PlanError::Reader)??;
    let csv = csv.finish()?;
    let mut summary = summarize(&config, counts, folders, hosts, probes);
    if let Some(check) = config.prune.clone() {
        let dir = config.report_dir.clone();
        let invalid = summary.counts.invalid;
        summary.prune = Some(
            tokio::task::spawn_blocking(move || preview_prune(keys, &check, &dir, invalid))
                .await
                .map_err(PlanError::Reader)??,
        );
    }
    let json = config.report_dir.join("plan.json");
    csv_out::write_json(&json, &summary)?;
    html::write(&config.report_dir, &page(&summary, aggregates))?;
    Ok(PlanReport { summary, csv, json })
}

/// Counts a row for `report.html`: its folder, and why it won't import (invalid, duplicate, a
/// probe that failed).
fn tally(aggregates: &mut html::Aggregates, row: &PlannedRow, probe: Option<&RowProbe>) {
    let failed_probe = match probe {
        Some(RowProbe::Remote(result)) if result.status.failed() => Some(result),
        _ => None,
    };
    aggregates.folder(
        &row.folder_path,
        row.status == rows::RowStatus::Valid && failed_probe.is_none(),
    );
    let example = |detail: &str| html::Example {
        line: row.line,
        source: row.source.clone(),
        detail: detail.to_string(),
    };
    match row.status {
        rows::RowStatus::Invalid => {
            let code = if row.field.is_empty() {
                "INVALID_ROW".to_string()
            } else {
                format!("INVALID_{}", row.field.to_ascii_uppercase())
            };
            aggregates.reason(&code, || example(&row.reason));
        }
        rows::RowStatus::Duplicate => aggregates.reason("DUPLICATE", || example(&row.reason)),
        rows::RowStatus::Valid | rows::RowStatus::Skipped => {}
    }
    if let Some(result) = failed_probe {
        let code = format!("PROBE_{}", result.status.label().to_ascii_uppercase());
        aggregates.reason(&code, || example(&result.detail));
    }
}

/// `report.html` of a plan, from the numbers of its `plan.json`.
fn page(summary: &PlanSummary, aggregates: html::Aggregates) -> html::Page {
    let c = &summary.counts;
    let a = &summary.api_calls;
    let mut facts = vec![
        ("manifest", summary.manifest.clone()),
        ("format", summary.format.to_string()),
        ("URL rows", html::num(c.url_rows)),
        ("local file rows", html::num(c.file_rows)),
        ("folders to create", html::num(summary.folders.len() as u64)),
        ("source hosts", html::num(summary.source_hosts.len() as u64)),
        ("API calls estimated", html::num(a.total)),
        (
            "rate",
            format!("{} calls a minute", summary.rate_per_minute),
        ),
        ("time estimated", summary.estimated_time.clone()),
    ];
    if let Some(p) = &summary.probe {
        facts.push(("sources probed", html::num(p.probed)));
        facts.push(("probes failed", html::num(p.failed())));
    }
    html::Page {
        kind: "Plan",
        facts,
        totals: vec![
            ("valid", c.valid),
            ("invalid", c.invalid),
            ("duplicate", c.duplicate),
            ("skipped", c.skipped),
        ],
        notes: vec![("type undetectable", c.type_undetectable)],
        timeline: None,
        calls: vec![
            ("bulkImportFile (estimated)".to_string(), a.bulk_import),
            (
                "generateFileUploadUrl (estimated)".to_string(),
                a.upload_url,
            ),
            (
                "getFileDescriptors (estimated)".to_string(),
                a.readiness_polls,
            ),
            ("folders (estimated)".to_string(), a.folders),
        ],
        reasons_title: "Rows that will not import",
        hint: |code| crate::sources::diagnosis::hint(code).into(),
        aggregates,
    }
}

/// The rows from `rx`, each with its probe when probing, in manifest order: `buffered` runs
/// up to `in_flight` probes side by side but yields in the order it was given.
fn probed(
    rx: mpsc::Receiver<PlannedRow>,
    prober: Option<Arc<Prober>>,
    in_flight: usize,
) -> impl futures_util::Stream<Item = (PlannedRow, Option<RowProbe>)> {
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|row| (row, rx)) },
    )
    .map(move |row| {
        let prober = prober.clone();
        async move {
            let probe = match &prober {
                Some(p) => Some(probe_row(p, &row).await),
                None => None,
            };
            (row, probe)
        }
    })
    .buffered(in_flight)
}

/// Writes `prune.csv` (the files `run --prune` would trash) and says how many, against the
/// journal's files and the limit.
fn preview_prune(
    mut keys: keys::KeySet,
    check: &PruneCheck,
    dir: &std::path::Path,
    invalid_lines: u64,
) -> Result<PruneSummary, PlanError> {
    let preview = keys.prune_preview(&check.journal)?;
    let mut out = CsvOut::create(
        dir.join("prune.csv"),
        &["key", "file_id", "source", "folder_path", "display_name"],
    )?;
    for f in &preview.files {
        out.write(&[
            f.key.clone(),
            f.file_id.clone(),
            f.source.clone(),
            f.folder_path.clone(),
            f.display_name.clone(),
        ])?;
    }
    out.finish()?;
    let files = preview.files.len() as u64;
    Ok(PruneSummary {
        journal: check.journal.display().to_string(),
        files,
        journal_files: preview.journal_files,
        max_percent: check.max_percent,
        would_refuse: files as f64 > preview.journal_files as f64 * check.max_percent / 100.0,
        would_skip_for_invalid: invalid_lines > 0,
    })
}

fn summarize(
    config: &PlanConfig,
    counts: PlanCounts,
    folders: FolderTree,
    source_hosts: BTreeMap<String, u64>,
    probe: Option<ProbeCounts>,
) -> PlanSummary {
    let (listings, creates) = folders.step_calls();
    let api_calls = estimate::estimate_calls(counts.url_rows, counts.file_rows, config.batch_size)
        .with_folder_calls(listings + creates);
    let local_files = (counts.file_rows > 0).then(|| {
        estimate::local_files(counts.file_rows, config.batch_size, config.rate_per_minute)
    });
    let folders = folders.into_paths();
    let adoption_lookups = folders.len() as u64 + 1;
    let estimated_secs = estimate::duration_secs(api_calls.total, config.rate_per_minute);
    PlanSummary {
        schema_version: PLAN_SCHEMA_VERSION,
        manifest: config.manifest.display().to_string(),
        format: format_name(&config.manifest, &config.manifest_options),
        counts,
        folders,
        adoption_lookups,
        source_hosts,
        api_calls,
        rate_per_minute: config.rate_per_minute,
        batch_size: config.batch_size,
        estimated_secs,
        estimated_time: crate::report::format::human_duration(estimated_secs),
        probe,
        prune: None,
        local_files,
    }
}

fn format_name(path: &Path, options: &ManifestOptions) -> &'static str {
    options
        .format
        .or_else(|| Format::of_path(path))
        .map_or("unknown", Format::name)
}

/// What `--probe` found for one row.
enum RowProbe {
    /// A URL source, asked over HTTP.
    Remote(ProbeResult),
    /// A local file: its size on disk.
    Local(Option<u64>),
    /// Invalid or duplicate: not probed.
    Skipped,
}

async fn probe_row(prober: &Prober, row: &PlannedRow) -> RowProbe {
    match &row.valid_source {
        Some(Source::Url(url)) => RowProbe::Remote(prober.probe(url, row.typed).await),
        Some(Source::File(path)) => RowProbe::Local(std::fs::metadata(path).ok().map(|m| m.len())),
        None => RowProbe::Skipped,
    }
}

/// The `plan.csv` cells of a row (with the probe columns when probing).
fn cells(row: PlannedRow, probe: Option<RowProbe>) -> Vec<String> {
    let mut reason = row.reason;
    let probe_cells = probe.map(|p| match p {
        RowProbe::Remote(result) => {
            // Once the source has answered, its verdict on the type replaces the warning
            // drawn from the manifest alone.
            if matches!(result.status, ProbeStatus::Ok | ProbeStatus::Untyped)
                && reason == rows::UNTYPED_WARNING
            {
                reason.clear();
            }
            if !result.detail.is_empty() {
                if !reason.is_empty() {
                    reason.push_str("; ");
                }
                reason.push_str(&result.detail);
            }
            [
                result.status.label(),
                result.content_type.unwrap_or_default(),
                opt(result.size),
            ]
        }
        RowProbe::Local(size) => ["local".to_string(), String::new(), opt(size)],
        RowProbe::Skipped => Default::default(),
    });
    let mut out = vec![
        row.line.to_string(),
        row.key,
        row.source,
        row.folder_path,
        row.display_name,
        row.status.as_str().to_string(),
        row.field,
        reason,
    ];
    out.extend(probe_cells.into_iter().flatten());
    out
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}
