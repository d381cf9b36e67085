//! The reports of a run, written from the journal: `reconciliation.csv` (exactly one line per
//! manifest line), `failed.csv` (failed and invalid rows in manifest format, ready to re-run),
//! `url-map.csv` (source → file id → file URL) and `summary.json`. Rows are streamed, and
//! every CSV cell is escaped against formula injection. Reports of several shards merge by
//! concatenation (minus headers).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::api::client::CounterState;

use crate::journal::lines::{Issue, IssueKind, LineItem};
use crate::journal::{Journal, JournalError, JournalRow, RowState};
use crate::manifest::FIELDS;
use crate::sources::diagnosis;

pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

pub mod csv_out;
pub mod format;
pub mod html;

use self::csv_out::{CsvOut, OutputError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// What became of a manifest line, as the reconciliation report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    Ready,
    Pending,
    Failed,
    Invalid,
    Duplicate,
    /// No source, left out on request (`--skip-empty-source`): not an error.
    Skipped,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
            Self::Duplicate => "duplicate",
            Self::Skipped => "skipped",
        }
    }

    /// A journal row's line: done (ready or failed), or still pending.
    pub fn of_row(state: RowState) -> Self {
        match state {
            RowState::Ready => Self::Ready,
            RowState::Failed => Self::Failed,
            _ => Self::Pending,
        }
    }

    /// A line that was not imported.
    pub fn of_issue(kind: IssueKind) -> Self {
        match kind {
            IssueKind::Invalid => Self::Invalid,
            IssueKind::Duplicate => Self::Duplicate,
            IssueKind::Skipped => Self::Skipped,
        }
    }
}

/// Lines per status, as the reconciliation counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub ready: u64,
    pub pending: u64,
    pub failed: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub skipped: u64,
    /// Rows whose files were found at the target and adopted rather than imported (any status).
    pub adopted: u64,
    /// Rows that changed under their key and were imported again as new files.
    pub updated: u64,
    /// Failed and invalid lines by error code (in `summary.json` as `failureReasons`).
    #[serde(skip)]
    pub reasons: BTreeMap<String, u64>,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.ready + self.pending + self.failed + self.invalid + self.duplicate + self.skipped
    }

    /// The lines by status, named as `summary.json` names them, in the reports' order.
    pub fn by_status(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("ready", self.ready),
            ("pending", self.pending),
            ("failed", self.failed),
            ("invalid", self.invalid),
            ("duplicate", self.duplicate),
            ("skipped", self.skipped),
        ]
    }

    fn add(&mut self, status: LineStatus) {
        *match status {
            LineStatus::Ready => &mut self.ready,
            LineStatus::Pending => &mut self.pending,
            LineStatus::Failed => &mut self.failed,
            LineStatus::Invalid => &mut self.invalid,
            LineStatus::Duplicate => &mut self.duplicate,
            LineStatus::Skipped => &mut self.skipped,
        } += 1;
    }
}

/// Neutralises a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR).
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

const RECONCILIATION_HEADER: [&str; 16] = [
    "line",
    "key",
    "source",
    "folder_path",
    "display_name",
    "status",
    "file_id",
    "file_url",
    "operation_status",
    "size",
    "hash",
    "attempts",
    "error_code",
    "error_message",
    "hint",
    "origin",
];

/// `failed.csv`: the manifest's columns, so it can be run again, then why each line failed.
const FAILED_EXTRA: [&str; 4] = ["line", "error_code", "error_message", "hint"];

/// Writes the three CSV reports for run `run` into `dir`; returns the counts by status and the
/// aggregates `report.html` shows.
pub fn write_csv_reports(
    journal: &Journal,
    run: i64,
    dir: &Path,
) -> Result<(StatusCounts, html::Aggregates), ReportError> {
    csv_out::create_dir(dir)?;
    let mut reconciliation =
        CsvOut::create(dir.join("reconciliation.csv"), &RECONCILIATION_HEADER)?;
    let failed_header: Vec<&str> = FIELDS.iter().chain(&FAILED_EXTRA).copied().collect();
    let mut failed = CsvOut::create(dir.join("failed.csv"), &failed_header)?;
    let mut url_map = CsvOut::create(
        dir.join("url-map.csv"),
        &["source", "file_id", "file_url", "status"],
    )?;
    let mut counts = StatusCounts::default();
    let mut aggregates = html::Aggregates::default();
    journal.for_each_line(run, |item| -> Result<(), ReportError> {
        match &item {
            LineItem::Row(row) => {
                let status = LineStatus::of_row(row.state);
                counts.add(status);
                aggregates.folder(&row.folder_path, status == LineStatus::Ready);
                match row.origin.as_str() {
                    "adopted" => counts.adopted += 1,
                    "updated" => counts.updated += 1,
                    _ => {}
                }
                reconciliation.write(&row_cells(row, status))?;
                if status == LineStatus::Failed {
                    let code = row.error_code.clone().unwrap_or_default();
                    let mut cells = row.manifest_cells();
                    cells.extend(why(row.line, &code, opt(&row.error_message)));
                    failed.write(&cells)?;
                    aggregates.reason(&code, || html::Example {
                        line: row.line,
                        source: row.source.clone(),
                        detail: row.error_message.clone().unwrap_or_default(),
                    });
                    *counts.reasons.entry(code).or_default() += 1;
                }
                if let Some(id) = &row.file_id {
                    url_map.write(&[
                        row.source.as_str(),
                        id,
                        row.file_url.as_deref().unwrap_or(""),
                        status.as_str(),
                    ])?;
                }
            }
            LineItem::Issue(issue) => {
                counts.add(LineStatus::of_issue(issue.kind));
                aggregates.folder(issue.get("folder_path"), false);
                if issue.kind == IssueKind::Invalid {
                    let code = issue_code(issue);
                    let mut cells: Vec<String> =
                        FIELDS.iter().map(|f| issue.get(f).to_string()).collect();
                    cells.extend(why(issue.line, &code, issue.reason.clone()));
                    failed.write(&cells)?;
                    aggregates.reason(&code, || html::Example {
                        line: issue.line,
                        source: issue.get("source").to_string(),
                        detail: issue.reason.clone(),
                    });
                    *counts.reasons.entry(code).or_default() += 1;
                }
                reconciliation.write(&issue_cells(issue))?;
            }
        }
        Ok(())
    })?;
    reconciliation.finish()?;
    failed.finish()?;
    url_map.finish()?;
    Ok((counts, aggregates))
}

/// The cells of [`FAILED_EXTRA`].
fn why(line: u64, code: &str, message: String) -> [String; 4] {
    [
        line.to_string(),
        code.to_string(),
        message,
        diagnosis::hint(code).to_string(),
    ]
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn row_cells(row: &JournalRow, status: LineStatus) -> Vec<String> {
    vec![
        row.line.to_string(),
        row.key.clone(),
        row.source.clone(),
        row.folder_path.clone(),
        row.display_name.clone(),
        status.as_str().to_string(),
        opt(&row.file_id),
        opt(&row.file_url),
        opt(&row.operation_status),
        opt(&row.size),
        opt(&row.hash),
        row.attempts.to_string(),
        opt(&row.error_code),
        opt(&row.error_message),
        diagnosis::hint(row.error_code.as_deref().unwrap_or_default()).to_string(),
        row.origin.clone(),
    ]
}

/// The error code of a line that was not imported.
fn issue_code(issue: &Issue) -> String {
    match (issue.kind, &issue.field) {
        (IssueKind::Invalid, Some(field)) => format!("INVALID_{}", field.to_ascii_uppercase()),
        (IssueKind::Invalid, None) => "INVALID_ROW".to_string(),
        (IssueKind::Duplicate, _) => "DUPLICATE".to_string(),
        (IssueKind::Skipped, _) => String::new(),
    }
}

fn issue_cells(issue: &Issue) -> Vec<String> {
    let code = issue_code(issue);
    let hint = diagnosis::hint(&code).to_string();
    vec![
        issue.line.to_string(),
        opt(&issue.key),
        issue.get("source").to_string(),
        issue.get("folder_path").to_string(),
        issue.get("display_name").to_string(),
        LineStatus::of_issue(issue.kind).as_str().to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "0".to_string(),
        code,
        issue.reason.clone(),
        hint,
        String::new(),
    ]
}

/// A row written back in manifest format (the columns of [`FIELDS`]).
/// `summary.json`: the machine-readable account of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub schema_version: u32,
    pub manifest: ManifestSummary,
    pub target: TargetSummary,
    pub journal: String,
    pub run: i64,
    pub counts: StatusCounts,
    /// Failed and invalid lines by error code.
    pub failure_reasons: BTreeMap<String, u64>,
    pub ingest: crate::journal::IngestCounts,
    pub api_calls: BTreeMap<String, u64>,
    pub api_calls_total: u64,
    pub throttled: u64,
    pub retries: u64,
    pub settled_in_doubt: u64,
    pub started_at: String,
    pub finished_at: String,
    pub duration_secs: f64,
    pub files_per_minute: f64,
    pub interrupted: bool,
    pub wait_timed_out: bool,
    /// Folders listed to look for rows new to the journal.
    pub adoption_listings: u64,
    /// Files moved to the trash for `--prune` (listed in `pruned.csv`).
    pub pruned: u64,
    /// `--prune` pruned nothing because the manifest has invalid lines (their rows' files would
    /// have been taken for rows left out).
    pub prune_skipped_for_invalid: bool,
    /// Superseded files moved to the trash for `--replace`.
    pub replaced: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSummary {
    pub path: String,
    pub sha256: String,
    pub rows: u64,
}

/// The target without secrets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSummary {
    pub base_url: String,
    pub site_id: Option<String>,
    pub embedded: bool,
}

/// What a run did besides its lines: the facts `summary.json` gives beside the counts.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub manifest: ManifestSummary,
    pub target: TargetSummary,
    pub journal: String,
    pub run: i64,
    pub ingest: crate::journal::IngestCounts,
    pub calls: CounterState,
    pub settled_in_doubt: u64,
    pub started_at: jiff::Timestamp,
    pub duration: Duration,
    pub interrupted: bool,
    pub wait_timed_out: bool,
    pub adoption_listings: u64,
    pub pruned: u64,
    pub prune_skipped_for_invalid: bool,
    pub replaced: u64,
    /// The client's ceiling, calls per minute (the timeline's budget line).
    pub budget_per_minute: u32,
}

/// Writes every report of a run into `dir` — the CSVs from the journal, then `summary.json`
/// and `report.html` — and returns the summary.
pub fn write_run(journal: &Journal, dir: &Path, facts: RunFacts) -> Result<Summary, ReportError> {
    let (counts, aggregates) = write_csv_reports(journal, facts.run, dir)?;
    let timeline = run_timeline(journal, &facts)?;
    write_pruned(journal, facts.run, dir)?;
    let secs = facts.duration.as_secs_f64();
    let summary = Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        manifest: facts.manifest,
        target: facts.target,
        journal: facts.journal,
        run: facts.run,
        files_per_minute: counts.ready as f64 / secs.max(1e-3) * 60.0,
        failure_reasons: counts.reasons.clone(),
        counts,
        ingest: facts.ingest,
        api_calls_total: facts.calls.calls.values().sum(),
        api_calls: facts
            .calls
            .calls
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        throttled: facts.calls.throttled,
        retries: facts.calls.retries,
        settled_in_doubt: facts.settled_in_doubt,
        started_at: facts.started_at.to_string(),
        finished_at: jiff::Timestamp::now().to_string(),
        duration_secs: secs,
        interrupted: facts.interrupted,
        wait_timed_out: facts.wait_timed_out,
        adoption_listings: facts.adoption_listings,
        pruned: facts.pruned,
        prune_skipped_for_invalid: facts.prune_skipped_for_invalid,
        replaced: facts.replaced,
    };
    write_summary(dir, &summary)?;
    html::write(dir, &run_page(&summary, timeline, aggregates))?;
    Ok(summary)
}

/// The run minute by minute: files from the journal, calls from the client's counters (both
/// counted from `facts.started_at`).
fn run_timeline(journal: &Journal, facts: &RunFacts) -> Result<html::Timeline, ReportError> {
    let files = journal.files_per_minute(facts.run, facts.started_at.as_millisecond())?;
    let calls = &facts.calls.per_minute;
    let minutes = (0..files.len().max(calls.len()).max(1))
        .map(|m| {
            let f = files.get(m).copied().unwrap_or_default();
            let c = calls.get(m).copied().unwrap_or_default();
            html::Minute {
                accepted: f.accepted,
                ready: f.ready,
                calls: c.calls,
                throttled: c.throttled,
            }
        })
        .collect();
    Ok(html::Timeline {
        minutes,
        budget_per_minute: facts.budget_per_minute,
    })
}

/// `report.html` of a run, from the numbers of its `summary.json`.
fn run_page(
    summary: &Summary,
    timeline: html::Timeline,
    aggregates: html::Aggregates,
) -> html::Page {
    let c = &summary.counts;
    let target = match &summary.target.site_id {
        Some(site) => format!("{} (site {site})", summary.target.base_url),
        None => summary.target.base_url.clone(),
    };
    let ended = if summary.interrupted {
        "interrupted (run the same command to resume)"
    } else if summary.wait_timed_out {
        "stopped waiting for processing (files still pending)"
    } else {
        "finished"
    };
    html::Page {
        kind: "Run",
        facts: vec![
            ("target", target),
            ("manifest", summary.manifest.path.clone()),
            ("manifest sha256", summary.manifest.sha256.clone()),
            ("journal", summary.journal.clone()),
            ("run", summary.run.to_string()),
            ("started", summary.started_at.clone()),
            ("finished", summary.finished_at.clone()),
            (
                "duration",
                format::human_duration(summary.duration_secs.round() as u64),
            ),
            ("ended", ended.to_string()),
            (
                "files per minute",
                format!("{:.1}", summary.files_per_minute),
            ),
            ("API calls", html::num(summary.api_calls_total)),
            ("429 answers", html::num(summary.throttled)),
            ("retries", html::num(summary.retries)),
        ],
        totals: c.by_status(),
        notes: vec![
            ("adopted", c.adopted),
            ("updated", c.updated),
            ("settled in doubt", summary.settled_in_doubt),
            ("pruned", summary.pruned),
            ("replaced", summary.replaced),
        ],
        timeline: Some(timeline),
        calls: summary
            .api_calls
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        reasons_title: "Failure reasons",
        hint: |code| diagnosis::hint(code).into(),
        aggregates,
    }
}

/// `pruned.csv`: the rows `--prune` took in this run (or in the run it resumed), with the file
/// moved to the trash.
pub fn write_pruned(journal: &Journal, run: i64, dir: &Path) -> Result<(), ReportError> {
    let since = journal.rows_run(run)?;
    let mut out = CsvOut::create(
        dir.join("pruned.csv"),
        &["key", "source", "folder_path", "display_name", "file_id"],
    )?;
    // A row without a file id was never imported: nothing of it went to the trash.
    for row in journal.pruned_rows(since)? {
        out.write(&[
            row.key.as_str(),
            row.source.as_str(),
            row.folder_path.as_str(),
            row.display_name.as_str(),
            row.file_id.as_deref().unwrap_or(""),
        ])?;
    }
    out.finish()?;
    Ok(())
}

pub fn write_summary(dir: &Path, summary: &Summary) -> Result<PathBuf, ReportError> {
    let path = dir.join("summary.json");
    csv_out::write_json(&path, summary)?;
    Ok(path)
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells that would run as formulas are neutralised; others pass untouched.
    #[test]
    fn escapes_formula_cells() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("-2"), "'-2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("photo.jpg"), "photo.jpg");
        assert_eq!(safe_cell(""), "");
    }
}
