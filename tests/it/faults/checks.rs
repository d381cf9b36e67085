//! What every case of the matrix must end with, checked against the reports and the server's
//! own listing: each row once, one file per row, the right fate, counts that agree.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::drive::{Fate, Row};
use crate::support::TestServer;

/// Each manifest line appears exactly once in the report, with the row's own source, folder
/// and name.
pub fn every_row_once(rows: &[Row], report: &[HashMap<String, String>]) {
    assert_eq!(report.len(), rows.len(), "report rows");
    let mut seen = HashSet::new();
    for r in report {
        let line: usize = r["line"].parse().expect("line number");
        assert!(seen.insert(line), "line {line} twice in the report");
        let row = rows
            .iter()
            .find(|row| row.line == line)
            .unwrap_or_else(|| panic!("report line {line} is not in the manifest"));
        assert_eq!(
            (&r["source"], &r["folder_path"], &r["display_name"]),
            (&row.resolved, &row.folder, &row.name),
            "line {line}"
        );
    }
}

/// Exactly one server file per row (by `sourceUrl` and folder; local files by name, folder and
/// size), no file beyond them, no `sourceUrl` twice; each row's report status and file id are
/// its file's, READY unless its source is broken or processing was failed on purpose, and every
/// failed row carries a reason. Returns how many rows failed.
pub fn one_file_per_row(
    s: &TestServer,
    rows: &[Row],
    report: &[HashMap<String, String>],
    files: &[(String, Value)],
    injected_processing_failures: bool,
) -> u64 {
    let mut sources = HashSet::new();
    for (_, f) in files {
        if let Some(url) = f["sourceUrl"].as_str() {
            assert!(sources.insert(url), "two files for {url}");
        }
    }
    let mut failed = 0;
    for row in rows {
        let reported = report
            .iter()
            .find(|r| r["line"] == row.line.to_string())
            .expect("every line is reported");
        let matching: Vec<&Value> = files
            .iter()
            .filter(|(path, f)| *path == row.folder && stands_for(f, row))
            .map(|(_, f)| f)
            .collect();
        let [file] = matching[..] else {
            panic!(
                "line {}: {} files for {} in {}; reported as {reported:?}",
                row.line,
                matching.len(),
                row.source,
                row.folder
            );
        };
        let id = file["id"].as_str().expect("file id");
        let status = file["operationStatus"].as_str().expect("status");
        assert_eq!(
            reported["file_id"], id,
            "line {}: the report's file",
            row.line
        );
        assert_eq!(
            reported["status"],
            status.to_ascii_lowercase(),
            "line {}: report status vs the server's {status}: {reported:?}",
            row.line
        );
        if status == "READY" {
            assert_eq!(row.fate, Fate::Healthy, "line {} is READY", row.line);
            continue;
        }
        assert_eq!(status, "FAILED", "line {}", row.line);
        failed += 1;
        assert!(
            !reported["error_code"].is_empty() && !reported["error_message"].is_empty(),
            "line {}: failed without a reason: {reported:?}",
            row.line
        );
        // Why the server failed it (the API doesn't say; its store does).
        let cause = s.file_row(id).error_code.unwrap_or_default();
        let expected = match row.fate {
            Fate::Hangs => "SOURCE_TIMEOUT",
            Fate::Html => "SOURCE_NOT_MEDIA",
            Fate::Healthy => "PROCESSING_FAILED",
        };
        assert!(
            cause == expected || (injected_processing_failures && cause == "PROCESSING_FAILED"),
            "line {} ({:?}) failed on the server with {cause}",
            row.line,
            row.fate
        );
    }
    assert_eq!(files.len(), rows.len(), "files on the server");
    failed
}

/// Does the server's file stand for this row? URL rows by `sourceUrl`, local files by name
/// and size.
fn stands_for(f: &Value, row: &Row) -> bool {
    match row.local_size {
        None => f["sourceUrl"] == row.source.as_str(),
        Some(size) => {
            f["sourceUrl"].is_null()
                && f["displayName"] == row.name.as_str()
                && f["sizeInBytes"] == size.to_string().as_str()
        }
    }
}

/// The summary's counts are the server's, and the exit code says whether any row failed.
pub fn counts_agree(
    rows: &[Row],
    summary: &Value,
    files: &[(String, Value)],
    failed: u64,
    code: i32,
    out: &str,
) {
    let on_server = |status: &str| {
        files
            .iter()
            .filter(|(_, f)| f["operationStatus"] == status)
            .count() as u64
    };
    let counts = &summary["counts"];
    assert_eq!(summary["manifest"]["rows"], rows.len(), "{summary}");
    assert_eq!(counts["ready"], on_server("READY"), "{summary}");
    assert_eq!(counts["failed"], on_server("FAILED"), "{summary}");
    assert_eq!(counts["failed"], failed, "{summary}");
    assert_eq!(counts["pending"], 0, "{summary}");
    let broken = rows.iter().filter(|r| r.fate != Fate::Healthy).count() as u64;
    assert!(failed >= broken, "{failed} failed, {broken} broken sources");
    assert_eq!(code, if failed > 0 { 3 } else { 0 }, "exit code: {out}");
}
