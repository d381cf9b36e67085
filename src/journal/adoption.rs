//! What adoption and pruning keep in the journal. Adoption: rows new to the journal
//! (`adopt_check = 1`) are looked for at the target before they are imported; a folder found
//! absent is remembered as new (`new_folders`), so rows added to it later cost no look. Pruning
//! (`--prune`): rows of this journal's imports whose keys a snapshot manifest no longer holds
//! are marked `trashing` (committed before the trash call), then `pruned`. Superseded files
//! (rows changed under their key) wait in `superseded` until `--replace` trashes them.

use rusqlite::{OptionalExtension, params};

use super::answers::FileFacts;
use super::rows::{COLUMNS, JournalRow, RowState};
use super::{Journal, JournalError, now_ms, sql_error};

/// A file to move to the trash for a row: its key and the file id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoomedFile {
    pub key: String,
    pub file_id: String,
}

/// What `--prune` would take, against the journal's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneCount {
    /// Files this journal imported for keys the manifest no longer holds.
    pub files: u64,
    /// Rows without a file (never imported) that the manifest no longer holds.
    pub unsent: u64,
    /// Files the journal holds, not pruned.
    pub journal_files: u64,
}

impl PruneCount {
    /// Would pruning exceed `max_percent` of the journal's files?
    pub fn exceeds(&self, max_percent: f64) -> bool {
        self.files as f64 > self.journal_files as f64 * max_percent / 100.0
    }
}

/// Rows a manifest no longer holds and this journal imported (adopted files are not ours to
/// prune; a row being sent is left to settle).
const PRUNABLE: &str = "seen_run != ?1 AND prune_step IS NULL AND origin != 'adopted'
     AND state NOT IN ('sending', 'in_doubt')";

impl Journal {
    /// The folders holding rows still to be looked for at the target; rows that left the
    /// queue another way (sent with `--no-adopt`, say) are no longer looked for.
    pub fn adoption_folders(&self) -> Result<Vec<String>, JournalError> {
        self.conn
            .execute(
                "UPDATE rows SET adopt_check = 0 WHERE adopt_check = 1 AND state != 'queued'",
                [],
            )
            .map_err(self.wrap())?;
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT folder_path FROM rows WHERE adopt_check = 1 ORDER BY 1")
            .map_err(self.wrap())?;
        let folders = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.wrap())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.wrap())?;
        Ok(folders)
    }

    /// Was the folder at `path` found absent by an earlier look (so every file in it came
    /// from this journal's imports)?
    pub fn folder_is_new(&self, path: &str) -> Result<bool, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM new_folders WHERE path = ?1", [path], |_| {
                Ok(())
            })
            .optional()
            .map_err(self.wrap())?
            .is_some())
    }

    /// [`Self::adoption_folders`], each with whether it is known new
    /// ([`Self::folder_is_new`]) and its id when the journal knows it: what the adopt stage
    /// needs to start, in one call.
    pub fn adoption_plan(&self) -> Result<Vec<(String, bool, Option<String>)>, JournalError> {
        self.adoption_folders()?
            .into_iter()
            .map(|path| {
                let is_new = self.folder_is_new(&path)?;
                let id = self.folder_id(&path)?;
                Ok((path, is_new, id))
            })
            .collect()
    }

    /// Each of `folders` (path, `absent`) is new — just found absent, or known new — so its
    /// rows need no look; in one transaction. Returns those rows.
    pub fn skip_adoption_in_all(
        &mut self,
        folders: &[(String, bool)],
    ) -> Result<u64, JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        let mut rows = 0;
        for (folder, absent) in folders {
            if *absent {
                tx.prepare_cached("INSERT OR IGNORE INTO new_folders (path) VALUES (?1)")
                    .and_then(|mut s| s.execute([folder]))
                    .map_err(sql)?;
            }
            rows += tx
                .prepare_cached(
                    "UPDATE rows SET adopt_check = 0 WHERE adopt_check = 1 AND folder_path = ?1",
                )
                .and_then(|mut s| s.execute([folder]))
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(rows as u64)
    }

    /// Up to `limit` rows of the folder at `path` still to be looked for, in line order.
    pub fn unchecked_rows(
        &self,
        path: &str,
        limit: usize,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM rows WHERE adopt_check = 1 AND folder_path = ?1
                 ORDER BY line LIMIT ?2"
            ))
            .map_err(self.wrap())?;
        let rows = stmt
            .query_map(params![path, limit as i64], JournalRow::from_row)
            .map_err(self.wrap())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.wrap())?;
        Ok(rows)
    }

    /// Records one look at a folder, in one transaction: its id (where the journal knows
    /// none), the rows adopted with the files found for them, every `checked` row as looked
    /// for, and the `foreign` files (standing for a row, taken by none) as not this journal's.
    pub fn record_adoption(
        &mut self,
        folder: Option<(&str, &str)>,
        adopted: &[(String, FileFacts)],
        checked: &[String],
        foreign: &[String],
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        if let Some((folder_path, id)) = folder.filter(|(p, _)| !p.is_empty()) {
            tx.execute(
                "INSERT INTO folders (path, folder_id) VALUES (?1, ?2) ON CONFLICT(path) DO NOTHING",
                params![folder_path, id],
            )
            .map_err(sql)?;
        }
        let now = now_ms();
        for (key, file) in adopted {
            let state = RowState::of_file(file.operation_status);
            tx.prepare_cached(
                "UPDATE rows SET state = ?2, file_id = ?3, file_url = ?4, operation_status = ?5,
                     size = ?6, hash = ?7, origin = 'adopted', adopt_check = 0, accepted_ms = ?8,
                     updated_ms = ?8
                 WHERE key = ?1 AND state = 'queued' AND adopt_check = 1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key,
                    state.as_str(),
                    file.file_id,
                    file.url,
                    file.operation_status.as_str(),
                    file.size.map(|s| s as i64),
                    file.hash,
                    now
                ])
            })
            .map_err(sql)?;
        }
        for key in checked {
            tx.prepare_cached("UPDATE rows SET adopt_check = 0 WHERE key = ?1")
                .and_then(|mut s| s.execute([key]))
                .map_err(sql)?;
        }
        for id in foreign {
            tx.prepare_cached("INSERT OR IGNORE INTO foreign_files (file_id) VALUES (?1)")
                .and_then(|mut s| s.execute([id]))
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// What `--prune` would take for the manifest read as run `rows_run`.
    pub fn prune_count(&self, rows_run: i64) -> Result<PruneCount, JournalError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT
                       (SELECT COUNT(*) FROM rows WHERE {PRUNABLE} AND file_id IS NOT NULL),
                       (SELECT COUNT(*) FROM rows WHERE {PRUNABLE} AND file_id IS NULL),
                       (SELECT COUNT(*) FROM rows WHERE file_id IS NOT NULL AND prune_step IS NULL)"
                ),
                [rows_run],
                |r| {
                    Ok(PruneCount {
                        files: r.get::<_, i64>(0)? as u64,
                        unsent: r.get::<_, i64>(1)? as u64,
                        journal_files: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .map_err(self.wrap())
    }

    /// Marks for pruning, in one transaction committed before any trash call, every row the
    /// manifest of `rows_run` no longer holds: rows with a file `trashing`, rows without one
    /// `pruned` at once (and failed, so they are never sent). Returns the rows marked.
    pub fn mark_pruning(&mut self, rows_run: i64, run: i64) -> Result<u64, JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        let now = now_ms();
        let unsent = tx
            .execute(
                &format!(
                    "UPDATE rows SET prune_step = 'pruned', pruned_run = ?2, state = 'failed',
                         error_code = 'PRUNED', error_message = 'not in the manifest (--prune)',
                         adopt_check = 0, updated_ms = ?3
                     WHERE {PRUNABLE} AND file_id IS NULL"
                ),
                params![rows_run, run, now],
            )
            .map_err(sql)?;
        let files = tx
            .execute(
                &format!(
                    "UPDATE rows SET prune_step = 'trashing', pruned_run = ?2, updated_ms = ?3,
                         state = CASE WHEN state = 'accepted' THEN 'failed' ELSE state END
                     WHERE {PRUNABLE} AND file_id IS NOT NULL"
                ),
                params![rows_run, run, now],
            )
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok((unsent + files) as u64)
    }

    /// Files marked for the trash by pruning and not yet trashed (a run may have died between).
    pub fn pruning(&self) -> Result<Vec<DoomedFile>, JournalError> {
        self.doomed(
            "SELECT key, file_id FROM rows WHERE prune_step = 'trashing' AND file_id IS NOT NULL
             ORDER BY line",
        )
    }

    /// The trash took these rows' files.
    pub fn finish_pruning(&mut self, keys: &[String]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        for key in keys {
            tx.prepare_cached(
                "UPDATE rows SET prune_step = 'pruned' WHERE key = ?1 AND prune_step = 'trashing'",
            )
            .and_then(|mut s| s.execute([key]))
            .map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// Rows pruned by run `run` or a later one (`pruned.csv`), in line order.
    pub fn pruned_rows(&self, since_run: i64) -> Result<Vec<JournalRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM rows WHERE prune_step IS NOT NULL AND pruned_run >= ?1
                 ORDER BY line"
            ))
            .map_err(self.wrap())?;
        let rows = stmt
            .query_map([since_run], JournalRow::from_row)
            .map_err(self.wrap())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.wrap())?;
        Ok(rows)
    }

    /// Superseded files whose rows' new files are READY and that are not trashed yet.
    pub fn superseded_to_trash(&self) -> Result<Vec<DoomedFile>, JournalError> {
        self.doomed(
            "SELECT s.key, s.file_id FROM superseded s JOIN rows r ON r.key = s.key
             WHERE s.trashed = 0 AND r.state = 'ready' ORDER BY s.run, s.file_id",
        )
    }

    /// The trash took these superseded files.
    pub fn superseded_trashed(&mut self, file_ids: &[String]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        for id in file_ids {
            tx.prepare_cached("UPDATE superseded SET trashed = 1 WHERE file_id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    fn doomed(&self, sql: &str) -> Result<Vec<DoomedFile>, JournalError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.wrap())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DoomedFile {
                    key: r.get(0)?,
                    file_id: r.get(1)?,
                })
            })
            .map_err(self.wrap())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.wrap())?;
        Ok(rows)
    }
}
