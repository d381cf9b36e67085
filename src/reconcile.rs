//! The check behind `media-migrate reconcile`, rclone-check style: what the manifest asks
//! for against what the target actually holds. It reads the manifest twice, streamed — once
//! for its folder paths, once to judge each row — and between the two lists those folders and
//! their files (read-only: no write to the target, no journal). Each row is `present`,
//! `missing`, `failed`, `pending` or `differs` (or `invalid` / `duplicate`); files in those
//! folders that no row claims are `extra`.

pub mod content;
pub mod target;
pub mod verdict;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use self::content::{ContentCheck, Judged, SourceOf};
use self::target::TargetIndex;
use self::verdict::{ReconcileCounts, Status};
use crate::api::client::{CallError, MediaClient};
use crate::api::listing::FolderResolver;
use crate::manifest::{self, Entry, ManifestError, ManifestOptions, SkippedRow, Source};
use crate::plan::keys::{KeyError, KeySet};
use crate::report::TargetSummary;
use crate::report::csv_out::{self, CsvOut, OutputError};
use crate::report::html;
use crate::sources::SourceHeaders;
use crate::sources::probe::Prober;
use wix_media_wire::types::{FileDescriptor, OperationStatus};

pub const RECONCILE_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("reading the target")]
    Target(#[source] Box<CallError>),
    #[error("the manifest reader stopped unexpectedly")]
    Reader(#[source] tokio::task::JoinError),
    #[error("building the HTTP client for --verify-content=source")]
    Http(#[source] reqwest::Error),
}

impl From<CallError> for ReconcileError {
    fn from(e: CallError) -> Self {
        ReconcileError::Target(Box::new(e))
    }
}

#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    pub manifest: PathBuf,
    pub manifest_options: ManifestOptions,
    pub report_dir: PathBuf,
    /// The target as the report names it (no secrets).
    pub target: TargetSummary,
    /// `--verify-content`: what each READY file's content is compared with.
    pub verify: Option<VerifyContent>,
    /// How sources are read with `--verify-content=source`.
    pub sources: SourceReading,
}

/// What `--verify-content` compares a READY file's size and hash with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyContent {
    /// The manifest's `expected_size` / `expected_md5` (and a local file's size); a value the
    /// target doesn't report differs.
    Manifest,
    /// The source's bytes, downloaded again (a local file read again).
    Source,
}

impl VerifyContent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Source => "source",
        }
    }
}

/// Reading sources for `--verify-content=source`: politeness and the headers they need.
#[derive(Debug, Clone)]
pub struct SourceReading {
    pub per_host: usize,
    pub concurrency: usize,
    pub timeout: Duration,
    pub headers: SourceHeaders,
}

impl Default for SourceReading {
    fn default() -> Self {
        Self {
            per_host: 2,
            concurrency: 8,
            timeout: Duration::from_secs(60),
            headers: SourceHeaders::default(),
        }
    }
}

/// `reconcile.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileSummary {
    pub schema_version: u32,
    pub manifest: String,
    pub target: TargetSummary,
    pub counts: ReconcileCounts,
    /// Manifest folders found on the target and listed.
    pub folders_listed: u64,
    /// Manifest folders the target doesn't have (their rows are missing).
    pub folders_missing: Vec<String>,
    pub files_listed: u64,
    pub api_calls: BTreeMap<String, u64>,
    pub api_calls_total: u64,
    /// `--verify-content`'s mode, when given.
    pub verify_content: Option<&'static str>,
    /// READY files whose size or hash was compared (with the manifest, or with the source).
    pub content_verified: u64,
    /// With `--verify-content`: READY files that could not be compared (nothing expected in
    /// the manifest, or a source that could not be read).
    pub content_unverified: u64,
}

impl ReconcileSummary {
    /// True when every valid row's file is present as expected (extras, invalid rows and
    /// duplicates don't count against it).
    /// Every row is on the target as the manifest says: none missing, failed, pending,
    /// different, or invalid (an invalid row can't be there).
    pub fn complete(&self) -> bool {
        self.counts.not_present() == 0 && self.counts.invalid == 0 && self.content_unverified == 0
    }
}

#[derive(Debug, Clone)]
pub struct ReconcileReport {
    pub summary: ReconcileSummary,
    pub csv: PathBuf,
    pub json: PathBuf,
}

const HEADER: [&str; 9] = [
    "line",
    "source",
    "folder_path",
    "display_name",
    "status",
    "file_id",
    "size",
    "hash",
    "detail",
];

/// Compares `config.manifest` with the target behind `client`; writes `reconcile.csv` and
/// `reconcile.json` into the report folder.
pub async fn reconcile(
    config: ReconcileConfig,
    client: &MediaClient,
) -> Result<ReconcileReport, ReconcileError> {
    csv_out::create_dir(&config.report_dir)?;
    let folders = {
        let (path, options) = (config.manifest.clone(), config.manifest_options.clone());
        tokio::task::spawn_blocking(move || folder_paths(&path, &options))
            .await
            .map_err(ReconcileError::Reader)??
    };
    let mut resolver = FolderResolver::new(client);
    let mut index = TargetIndex::default();
    let mut folders_missing = Vec::new();
    for path in &folders {
        match resolver.resolve(path).await? {
            Some(id) => index.add_folder(client, path, &id).await?,
            None => folders_missing.push(path.clone()),
        }
    }
    let files_listed = index.len() as u64;
    let rows = write_rows(&config, index).await?;
    let calls = client.counters().snapshot();
    let summary = ReconcileSummary {
        schema_version: RECONCILE_SCHEMA_VERSION,
        manifest: config.manifest.display().to_string(),
        target: config.target.clone(),
        counts: rows.counts,
        folders_listed: (folders.len() - folders_missing.len()) as u64,
        folders_missing,
        files_listed,
        api_calls_total: calls.calls.values().sum(),
        api_calls: calls
            .calls
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        verify_content: config.verify.map(VerifyContent::as_str),
        content_verified: rows.verified,
        content_unverified: rows.unverified,
    };
    let json = config.report_dir.join("reconcile.json");
    csv_out::write_json(&json, &summary)?;
    html::write(&config.report_dir, &page(&summary, rows.aggregates))?;
    Ok(ReconcileReport {
        summary,
        csv: rows.csv,
        json,
    })
}

/// `report.html` of a reconciliation, from the numbers of its `reconcile.json`.
fn page(summary: &ReconcileSummary, aggregates: html::Aggregates) -> html::Page {
    let c = &summary.counts;
    let target = match &summary.target.site_id {
        Some(site) => format!("{} (site {site})", summary.target.base_url),
        None => summary.target.base_url.clone(),
    };
    html::Page {
        kind: "Reconciliation",
        facts: vec![
            ("target", target),
            ("manifest", summary.manifest.clone()),
            ("folders listed", html::num(summary.folders_listed)),
            (
                "folders missing",
                html::num(summary.folders_missing.len() as u64),
            ),
            ("files listed", html::num(summary.files_listed)),
            ("API calls", html::num(summary.api_calls_total)),
            (
                "content checked against",
                summary.verify_content.unwrap_or("(not asked)").to_string(),
            ),
            ("content verified", html::num(summary.content_verified)),
            (
                "content not verified",
                html::num(summary.content_unverified),
            ),
        ],
        totals: vec![
            ("present", c.present),
            ("missing", c.missing),
            ("failed", c.failed),
            ("pending", c.pending),
            ("differs", c.differs),
            ("invalid", c.invalid),
            ("duplicate", c.duplicate),
            ("skipped", c.skipped),
        ],
        notes: vec![("extra", c.extra)],
        timeline: None,
        calls: summary
            .api_calls
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        reasons_title: "Rows not present as expected",
        hint: |code| reconcile_hint(code).into(),
        aggregates,
    }
}

fn reconcile_hint(code: &str) -> &'static str {
    match code {
        "MISSING" => "not on the target: run the manifest again (only missing rows import)",
        "FAILED" => "processing failed on the target: see run's failed.csv, or --retry-failed",
        "PENDING" => "still processing: reconcile again later",
        "DIFFERS" => "the target's file is not what the manifest expects: see the detail",
        "EXTRA" => "on the target but in no manifest row: delete it or add it to the manifest",
        "INVALID" => "fix the row in the manifest",
        "DUPLICATE" => "the same row twice: drop one",
        _ => "",
    }
}

/// Counts one `reconcile.csv` line for `report.html`.
fn tally(aggregates: &mut html::Aggregates, status: Status, cells: &[String]) {
    let cell = |i: usize| cells.get(i).map_or("", String::as_str);
    if status != Status::Extra {
        aggregates.folder(cell(2), status == Status::Present);
    }
    if !matches!(status, Status::Present | Status::Skipped) {
        aggregates.reason(&status.as_str().to_ascii_uppercase(), || html::Example {
            line: cell(0).parse().unwrap_or(0),
            source: if cell(1).is_empty() {
                format!("{}/{}", cell(2), cell(3))
            } else {
                cell(1).to_string()
            },
            detail: cell(8).to_string(),
        });
    }
}

/// The distinct folder paths of the manifest's valid rows (`""` is the root).
fn folder_paths(
    path: &Path,
    options: &ManifestOptions,
) -> Result<BTreeSet<String>, ReconcileError> {
    let mut folders = BTreeSet::new();
    for entry in manifest::open(path, options)? {
        if let Entry::Valid(row) = entry? {
            folders.insert(row.folder_path);
        }
    }
    Ok(folders)
}

/// What the second pass wrote.
struct Rows {
    counts: ReconcileCounts,
    csv: PathBuf,
    aggregates: html::Aggregates,
    verified: u64,
    unverified: u64,
}

/// The second pass: one CSV line per manifest row, then one per unclaimed file. The manifest
/// is judged on a blocking thread; the lines come back in order, each READY file checked
/// against its source first with `--verify-content=source`.
async fn write_rows(config: &ReconcileConfig, index: TargetIndex) -> Result<Rows, ReconcileError> {
    let prober = match config.verify {
        Some(VerifyContent::Source) => {
            let r = &config.sources;
            Some(Arc::new(
                Prober::new(r.per_host, r.timeout, r.headers.clone())
                    .map_err(ReconcileError::Http)?,
            ))
        }
        _ => None,
    };
    let (tx, rx) = mpsc::channel::<Judged>(1024);
    let judging = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || judge_rows(&config, index, &tx))
    };
    let mut csv = CsvOut::create(config.report_dir.join("reconcile.csv"), &HEADER)?;
    let mut rows = Rows {
        counts: ReconcileCounts::default(),
        csv: PathBuf::new(),
        aggregates: html::Aggregates::default(),
        verified: 0,
        unverified: 0,
    };
    let mut lines = std::pin::pin!(content::checked(rx, prober, config.sources.concurrency));
    while let Some(line) = lines.next().await {
        rows.counts.add(line.status);
        if config.verify.is_some() && matches!(line.status, Status::Present | Status::Differs) {
            if line.verified {
                rows.verified += 1;
            } else {
                rows.unverified += 1;
            }
        } else if line.verified {
            rows.verified += 1;
        }
        tally(&mut rows.aggregates, line.status, &line.cells);
        csv.write(&line.cells)?;
    }
    judging.await.map_err(ReconcileError::Reader)??;
    rows.csv = csv.finish()?;
    Ok(rows)
}

/// Judges every manifest row, then every unclaimed file, in order, into `tx`.
fn judge_rows(
    config: &ReconcileConfig,
    mut index: TargetIndex,
    tx: &mpsc::Sender<Judged>,
) -> Result<(), ReconcileError> {
    let mut keys = KeySet::create()?;
    for entry in manifest::open(&config.manifest, &config.manifest_options)? {
        let judged = judge_entry(entry?, &mut keys, &mut index, config.verify)?;
        if tx.blocking_send(judged).is_err() {
            // The writer stopped (its error is the one reported).
            return Ok(());
        }
    }
    for extra in index.unclaimed() {
        let f = &extra.file;
        let state = f
            .operation_status
            .unwrap_or(OperationStatus::Pending)
            .as_str();
        let first = [
            String::new(),
            f.source_url.clone().unwrap_or_default(),
            extra.folder_path.clone(),
            f.display_name.clone().unwrap_or_default(),
        ];
        let detail = format!("not in the manifest ({state})");
        let cells = line_cells(first, Status::Extra, Some(f), detail);
        if tx.blocking_send(plain(Status::Extra, cells)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn plain(status: Status, cells: Vec<String>) -> Judged {
    Judged {
        status,
        cells,
        check: None,
        verified: false,
    }
}

/// One manifest entry's status and `reconcile.csv` line; a valid row claims its file.
fn judge_entry(
    entry: Entry,
    keys: &mut KeySet,
    index: &mut TargetIndex,
    verify: Option<VerifyContent>,
) -> Result<Judged, ReconcileError> {
    let row = match entry {
        Entry::Invalid(bad) => {
            let raw = |f| bad.raw.get(f).unwrap_or_default().to_string();
            let first = [
                bad.line.to_string(),
                raw("source"),
                raw("folder_path"),
                raw("display_name"),
            ];
            let detail = format!("{}: {}", bad.field, bad.reason);
            return Ok(plain(
                Status::Invalid,
                line_cells(first, Status::Invalid, None, detail),
            ));
        }
        Entry::Skipped(skipped) => {
            let raw = |f| skipped.raw.get(f).unwrap_or_default().to_string();
            let first = [
                skipped.line.to_string(),
                String::new(),
                raw("folder_path"),
                raw("display_name"),
            ];
            let detail = SkippedRow::REASON.to_string();
            return Ok(plain(
                Status::Skipped,
                line_cells(first, Status::Skipped, None, detail),
            ));
        }
        Entry::Valid(row) => row,
    };
    let first = [
        row.line.to_string(),
        row.source.text(),
        row.folder_path.clone(),
        row.display_name.clone(),
    ];
    if let Some(line) = keys.first_line(row.key.as_str(), row.line)? {
        let detail = format!("duplicate of line {line}");
        return Ok(plain(
            Status::Duplicate,
            line_cells(first, Status::Duplicate, None, detail),
        ));
    }
    let v = verdict::judge(&row, index, verify == Some(VerifyContent::Manifest));
    let check = match (&v.file, verify) {
        (Some(file), Some(VerifyContent::Source))
            if matches!(v.status, Status::Present | Status::Differs) =>
        {
            Some(ContentCheck {
                source: match &row.source {
                    Source::Url(url) => SourceOf::Url(url.clone()),
                    Source::File(path) => SourceOf::File(path.clone()),
                },
                size: file.size_in_bytes,
                hash: file.hash.clone(),
            })
        }
        _ => None,
    };
    Ok(Judged {
        status: v.status,
        cells: line_cells(first, v.status, v.file.as_ref(), v.detail),
        check,
        verified: v.compared && verify != Some(VerifyContent::Source),
    })
}

/// line, source, folder_path, display_name, then status, file_id, size, hash, detail.
fn line_cells(
    first: [String; 4],
    status: Status,
    file: Option<&FileDescriptor>,
    detail: String,
) -> Vec<String> {
    let mut out = first.to_vec();
    out.push(status.as_str().to_string());
    out.push(file.and_then(|f| f.id.clone()).unwrap_or_default());
    out.push(
        file.and_then(|f| f.size_in_bytes)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    out.push(file.and_then(|f| f.hash.clone()).unwrap_or_default());
    out.push(detail);
    out
}
