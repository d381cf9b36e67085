//! The first read into an empty journal: rows appended without indexes, which are then built
//! once by sorting — several times cheaper than inserting a million random keys one by one
//! into a tree far larger than the cache.

use super::IngestCounts;
use super::insert::{INSERT_ROW, insert_duplicate, insert_invalid, insert_row, insert_skipped};
use crate::journal::rows::{COLUMN_COUNT, COLUMNS, JournalRow};
use crate::journal::{CREATE_ROW_INDEXES, DROP_ROW_INDEXES, Journal, JournalError, sql_error};
use crate::manifest::{Entry, ManifestError};

impl Journal {
    /// True when the journal holds no row yet and its key index can be dropped and rebuilt
    /// (journals of schema 1 keep their keys in the table's primary key instead).
    pub(super) fn bulk_loadable(&self) -> Result<bool, JournalError> {
        self.conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM rows)
                    AND EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'rows_key')
                    AND NOT EXISTS (SELECT 1 FROM sqlite_master
                                    WHERE tbl_name = 'rows' AND name LIKE 'sqlite_autoindex_%')",
                [],
                |r| r.get(0),
            )
            .map_err(self.wrap())
    }

    /// The first read into an empty journal. Rows are appended without indexes, which are then
    /// built once by sorting: several times cheaper than inserting a million random keys one
    /// by one into a tree far larger than the cache. Keys the build finds twice become
    /// `duplicate` issues. All of it is one transaction, so a crash leaves the journal empty
    /// and whole, and the next run reads again; a fatal manifest error keeps what came before.
    pub(super) fn bulk_load(
        &mut self,
        run: i64,
        entries: impl Iterator<Item = Result<Entry, ManifestError>>,
    ) -> Result<IngestCounts, JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute_batch(DROP_ROW_INDEXES).map_err(sql)?;
        let mut counts = IngestCounts::default();
        let mut fatal = None;
        for entry in entries {
            match entry {
                Err(e) => {
                    fatal = Some(e);
                    break;
                }
                Ok(Entry::Invalid(bad)) => {
                    counts.rows += 1;
                    counts.invalid += 1;
                    insert_invalid(&tx, run, &bad).map_err(sql)?;
                }
                Ok(Entry::Skipped(skipped)) => {
                    counts.rows += 1;
                    counts.skipped += 1;
                    insert_skipped(&tx, run, &skipped).map_err(sql)?;
                }
                Ok(Entry::Valid(row)) => {
                    counts.rows += 1;
                    counts.new += 1;
                    insert_row(&tx, INSERT_ROW, run, &row).map_err(sql)?;
                }
            }
        }
        let duplicates = build_row_indexes(&tx, run).map_err(sql)?;
        counts.new -= duplicates;
        counts.duplicate += duplicates;
        tx.commit().map_err(sql)?;
        match fatal {
            Some(e) => Err(JournalError::Manifest(e)),
            None => Ok(counts),
        }
    }
}

/// Builds the row indexes after a bulk load. When keys repeat, the unique key index (built
/// first) fails; then every line after a key's first is moved from `rows` to a `duplicate`
/// issue and the build is tried again. Returns how many lines were moved.
fn build_row_indexes(tx: &rusqlite::Transaction<'_>, run: i64) -> rusqlite::Result<u64> {
    match tx.execute_batch(CREATE_ROW_INDEXES) {
        Ok(()) => return Ok(0),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation => {}
        Err(e) => return Err(e),
    }
    let repeats: Vec<(JournalRow, i64, i64)> = tx
        .prepare(&format!(
            "SELECT {COLUMNS}, rows.rowid, first FROM rows
             JOIN (SELECT key AS repeated, MIN(line) AS first FROM rows
                   GROUP BY key HAVING COUNT(*) > 1) ON key = repeated
             WHERE line > first ORDER BY line"
        ))?
        .query_map([], |r| {
            Ok((
                JournalRow::from_row(r)?,
                r.get(COLUMN_COUNT)?,
                r.get(COLUMN_COUNT + 1)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (row, rowid, first) in &repeats {
        insert_duplicate(tx, run, row.line, &row.key, *first, &row.manifest_cells())?;
        tx.prepare_cached("DELETE FROM rows WHERE rowid = ?1")?
            .execute([rowid])?;
    }
    tx.execute_batch(CREATE_ROW_INDEXES)?;
    Ok(repeats.len() as u64)
}
