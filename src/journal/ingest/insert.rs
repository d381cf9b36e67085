//! The inserts of a read: new rows, invalid, skipped and duplicate lines.

use rusqlite::params;

use crate::journal::lines::IssueKind;
use crate::journal::now_ms;
use crate::manifest::{FIELDS, InvalidRow, ManifestRow, SkippedRow, Source};

/// The insert of a new row, with `$tail` (a conflict clause or nothing) appended.
macro_rules! insert_row_sql {
    ($tail:literal) => {
        concat!(
            "INSERT INTO rows (key, line, source, is_file, folder_path, display_name, mime_type,
                 media_type, labels, private, external_id, expected_size, expected_md5, state,
                 seen_run, updated_ms, adopt_check)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'queued', ?14, ?15, 1)",
            $tail
        )
    };
}

/// Appends a row; only for a bulk load, whose key index is built afterwards.
pub(super) const INSERT_ROW: &str = insert_row_sql!("");
/// Inserts a row unless its key is known.
pub(super) const INSERT_NEW_ROW: &str = insert_row_sql!(" ON CONFLICT (key) DO NOTHING");

/// Inserts `row` with `sql` ([`INSERT_ROW`] or [`INSERT_NEW_ROW`]); returns the rows inserted.
pub(super) fn insert_row(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    run: i64,
    row: &ManifestRow,
) -> rusqlite::Result<usize> {
    let (source, is_file) = source_columns(&row.source);
    tx.prepare_cached(sql)?.execute(params![
        row.key.0,
        row.line as i64,
        source,
        is_file,
        row.folder_path,
        row.display_name,
        row.mime_type,
        row.media_type.map(|t| t.as_str()),
        serde_json::to_string(&row.labels).expect("labels serialise"),
        row.private,
        row.external_id,
        row.expected_size.map(|s| s as i64),
        row.expected_md5,
        run,
        now_ms(),
    ])
}

/// A source as the journal's `source` and `is_file` columns hold it.
pub(super) fn source_columns(source: &Source) -> (String, bool) {
    match source {
        Source::Url(u) => (u.to_string(), false),
        Source::File(p) => (p.to_string_lossy().into_owned(), true),
    }
}

pub(super) fn insert_invalid(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    bad: &InvalidRow,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO issues (run, line, kind, field, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![run, bad.line as i64, IssueKind::Invalid.as_str(), bad.field, bad.reason, raw_json(&bad.raw.0)])
}

/// Records a line skipped for want of a source.
pub(super) fn insert_skipped(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    skipped: &SkippedRow,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO issues (run, line, kind, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        run,
        skipped.line as i64,
        IssueKind::Skipped.as_str(),
        SkippedRow::REASON,
        raw_json(&skipped.raw.0)
    ])
}

/// Records line `line` as a duplicate of line `first`; `cells` are its fields in [`FIELDS`] order.
pub(super) fn insert_duplicate(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    line: u64,
    key: &str,
    first: i64,
    cells: &[String],
) -> rusqlite::Result<usize> {
    let raw: Vec<(&str, &String)> = FIELDS.iter().copied().zip(cells).collect();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO issues (run, line, kind, key, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![run, line as i64, IssueKind::Duplicate.as_str(), key, format!("duplicate of line {first}"), serde_json::to_string(&raw).expect("strings serialise")])
}

fn raw_json(raw: &[(String, String)]) -> String {
    serde_json::to_string(raw).expect("strings serialise")
}
