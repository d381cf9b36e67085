//! The reports of a run, written from the journal: `reconciliation.csv` (exactly one line per
//! manifest line), `failed.csv` (failed and invalid rows in manifest format, ready to re-run),
//! `url-map.csv` (source → file id → file URL) and `summary.json`. Rows are streamed, and
//! every CSV cell is escaped against formula injection. Reports of several shards merge by
//! concatenation (minus headers).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::journal::lines::{Issue, LineItem};
use crate::journal::{Journal, JournalError, JournalRow, RowState};
use crate::manifest::FIELDS;

pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

pub mod csv_out;

use self::csv_out::{CsvOut, OutputError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Lines per status, as the reconciliation counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub ready: u64,
    pub pending: u64,
    pub failed: u64,
    pub invalid: u64,
    pub duplicate: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.ready + self.pending + self.failed + self.invalid + self.duplicate
    }
}

/// Neutralises a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR).
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

const RECONCILIATION_HEADER: [&str; 14] = [
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
];

/// Writes the three CSV reports for run `run` into `dir`; returns the counts by status.
pub fn write_csv_reports(
    journal: &Journal,
    run: i64,
    dir: &Path,
) -> Result<StatusCounts, ReportError> {
    csv_out::create_dir(dir)?;
    let mut reconciliation =
        CsvOut::create(dir.join("reconciliation.csv"), &RECONCILIATION_HEADER)?;
    let mut failed = CsvOut::create(dir.join("failed.csv"), &FIELDS)?;
    let mut url_map = CsvOut::create(
        dir.join("url-map.csv"),
        &["source", "file_id", "file_url", "status"],
    )?;
    let mut counts = StatusCounts::default();
    journal.for_each_line(run, |item| -> Result<(), ReportError> {
        match &item {
            LineItem::Row(row) => {
                let status = row_status(row);
                match status {
                    "ready" => counts.ready += 1,
                    "failed" => counts.failed += 1,
                    _ => counts.pending += 1,
                }
                reconciliation.write(&row_cells(row, status))?;
                if status == "failed" {
                    failed.write(&row.manifest_cells())?;
                }
                if let Some(id) = &row.file_id {
                    url_map.write(&[
                        row.source.as_str(),
                        id,
                        row.file_url.as_deref().unwrap_or(""),
                        status,
                    ])?;
                }
            }
            LineItem::Issue(issue) => {
                if issue.kind == "duplicate" {
                    counts.duplicate += 1;
                } else {
                    counts.invalid += 1;
                    failed.write(&FIELDS.map(|f| issue.get(f)))?;
                }
                reconciliation.write(&issue_cells(issue))?;
            }
        }
        Ok(())
    })?;
    reconciliation.finish()?;
    failed.finish()?;
    url_map.finish()?;
    Ok(counts)
}

fn row_status(row: &JournalRow) -> &'static str {
    match row.state {
        RowState::Ready => "ready",
        RowState::Failed => "failed",
        _ => "pending",
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn row_cells(row: &JournalRow, status: &str) -> Vec<String> {
    vec![
        row.line.to_string(),
        row.key.clone(),
        row.source.clone(),
        row.folder_path.clone(),
        row.display_name.clone(),
        status.to_string(),
        opt(&row.file_id),
        opt(&row.file_url),
        opt(&row.operation_status),
        opt(&row.size),
        opt(&row.hash),
        row.attempts.to_string(),
        opt(&row.error_code),
        opt(&row.error_message),
    ]
}

fn issue_cells(issue: &Issue) -> Vec<String> {
    let code = match (&issue.kind[..], &issue.field) {
        ("invalid", Some(field)) => format!("INVALID_{}", field.to_ascii_uppercase()),
        ("invalid", None) => "INVALID_ROW".to_string(),
        _ => "DUPLICATE".to_string(),
    };
    vec![
        issue.line.to_string(),
        opt(&issue.key),
        issue.get("source").to_string(),
        issue.get("folder_path").to_string(),
        issue.get("display_name").to_string(),
        issue.kind.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "0".to_string(),
        code,
        issue.reason.clone(),
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
