//! Rows of the journal and their state machine:
//!
//! ```text
//! queued ──▶ sending ──▶ accepted ──▶ ready | failed
//!   ▲           │  └──▶ in_doubt ──(settle: found)──▶ accepted
//!   └───────────┴────────────┘ (not done / not found: resend)
//! ```
//! Each transition is one transaction, applied only after the answer that proves it.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};

use super::{Journal, JournalError, now_ms, sql_error};
use wix_media_wire::types::OperationStatus;

/// Error code and message of a row whose file the target could not process.
pub const PROCESSING_FAILED: (&str, &str) = (
    "PROCESSING_FAILED",
    "the Media Manager could not process the file",
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowState {
    Queued,
    Sending,
    InDoubt,
    Accepted,
    Ready,
    Failed,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::InDoubt => "in_doubt",
            Self::Accepted => "accepted",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    /// The state of a row whose file the target reports in `status`.
    pub fn of_file(status: OperationStatus) -> Self {
        match status {
            OperationStatus::Pending => Self::Accepted,
            OperationStatus::Ready => Self::Ready,
            OperationStatus::Failed => Self::Failed,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => Self::Sending,
            "in_doubt" => Self::InDoubt,
            "accepted" => Self::Accepted,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// One row as the journal holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRow {
    pub key: String,
    pub line: u64,
    pub source: String,
    pub is_file: bool,
    pub folder_path: String,
    pub display_name: String,
    pub mime_type: Option<String>,
    pub media_type: Option<String>,
    pub labels: Vec<String>,
    pub private: bool,
    pub external_id: Option<String>,
    pub expected_size: Option<u64>,
    pub expected_md5: Option<String>,
    pub state: RowState,
    pub batch_id: Option<i64>,
    pub file_id: Option<String>,
    pub file_url: Option<String>,
    pub operation_status: Option<String>,
    pub size: Option<u64>,
    pub hash: Option<String>,
    pub attempts: u32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Times the row was imported again after its file FAILED for a reason that can heal.
    pub reimports: u32,
    /// How the row's file came: `imported`, `adopted` (found at the target) or `updated` (the
    /// row changed under its key and was imported again).
    pub origin: String,
    /// A lower bound, on the target's clock (ms since the epoch), of when the row's first send
    /// reached the target; `None` when unknown (see [`Journal::mark_sending`]).
    pub sent_floor_ms: Option<i64>,
}

pub(crate) const COLUMNS: &str = "key, line, source, is_file, folder_path, display_name, mime_type,
    media_type, labels, private, external_id, expected_size, expected_md5, state, batch_id, file_id,
    file_url, operation_status, size, hash, attempts, error_code, error_message, reimports, origin, sent_floor_ms";
/// How many [`COLUMNS`] there are: a query selecting more after them reads those from here.
pub(crate) const COLUMN_COUNT: usize = 26;

impl JournalRow {
    /// The row's manifest fields as text, in [`crate::manifest::FIELDS`] order.
    pub fn manifest_cells(&self) -> Vec<String> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            self.source.clone(),
            self.folder_path.clone(),
            self.display_name.clone(),
            opt(&self.mime_type),
            opt(&self.media_type),
            self.labels.join("|"),
            self.private.to_string(),
            opt(&self.external_id),
            self.expected_size
                .map(|s| s.to_string())
                .unwrap_or_default(),
            opt(&self.expected_md5),
        ]
    }

    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let labels: String = r.get(8)?;
        let state: String = r.get(13)?;
        Ok(Self {
            key: r.get(0)?,
            line: r.get::<_, i64>(1)? as u64,
            source: r.get(2)?,
            is_file: r.get(3)?,
            folder_path: r.get(4)?,
            display_name: r.get(5)?,
            mime_type: r.get(6)?,
            media_type: r.get(7)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            private: r.get(9)?,
            external_id: r.get(10)?,
            expected_size: r.get::<_, Option<i64>>(11)?.map(|v| v as u64),
            expected_md5: r.get(12)?,
            state: RowState::parse(&state),
            batch_id: r.get(14)?,
            file_id: r.get(15)?,
            file_url: r.get(16)?,
            operation_status: r.get(17)?,
            size: r.get::<_, Option<i64>>(18)?.map(|v| v as u64),
            hash: r.get(19)?,
            attempts: r.get(20)?,
            error_code: r.get(21)?,
            error_message: r.get(22)?,
            reimports: r.get(23)?,
            origin: r.get(24)?,
            sent_floor_ms: r.get(25)?,
        })
    }
}

impl Journal {
    /// Rows left `sending` by a run that died are in doubt: settle them before resending.
    pub fn doubt_dead_sends(&self) -> Result<u64, JournalError> {
        let n = self
            .conn
            .execute(
                "UPDATE rows SET state = 'in_doubt' WHERE state = 'sending'",
                [],
            )
            .map_err(self.wrap())?;
        Ok(n as u64)
    }

    /// Up to `limit` queued rows of one kind (URL or local file), in manifest order after `after_line`.
    pub fn queued(
        &self,
        is_file: bool,
        after_line: u64,
        limit: usize,
    ) -> Result<Vec<JournalRow>, JournalError> {
        self.select(
            "WHERE state = 'queued' AND is_file = ?1 AND line > ?2 ORDER BY line LIMIT ?3",
            params![is_file, after_line as i64, limit as i64],
        )
    }

    /// Up to `limit` queued rows of both kinds, in manifest order after `after_line` (local
    /// files too when they are imported from served URLs).
    pub fn queued_any(
        &self,
        after_line: u64,
        limit: usize,
    ) -> Result<Vec<JournalRow>, JournalError> {
        self.select(
            "WHERE state = 'queued' AND line > ?1 ORDER BY line LIMIT ?2",
            params![after_line as i64, limit as i64],
        )
    }

    pub fn in_doubt(&self) -> Result<Vec<JournalRow>, JournalError> {
        self.select("WHERE state = 'in_doubt' ORDER BY line", [])
    }

    /// Rows of `run`'s manifest that ended failed (in this run or an earlier one).
    pub fn failed_rows(&self, run: i64) -> Result<Vec<JournalRow>, JournalError> {
        let rows_run = self.rows_run(run)?;
        self.select(
            "WHERE seen_run = ?1 AND state = 'failed' ORDER BY line",
            params![rows_run],
        )
    }

    /// Gives failed rows a fresh set of attempts (`--retry-failed`): queued again, without
    /// their old file, code, attempts or re-imports.
    pub fn reopen_failed(&mut self, keys: &[String]) -> Result<(), JournalError> {
        self.requeue_failed(keys, "0")
    }

    /// Queues failed rows to be imported again after a failure that can heal, counting the
    /// re-import.
    pub fn reimport_failed(&mut self, keys: &[String]) -> Result<(), JournalError> {
        self.requeue_failed(keys, "reimports + 1")
    }

    fn requeue_failed(&mut self, keys: &[String], reimports: &str) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        let sql = format!(
            "UPDATE rows SET state = 'queued', attempts = 0, file_id = NULL, file_url = NULL,
                 operation_status = NULL, size = NULL, hash = NULL, error_code = NULL,
                 error_message = NULL, batch_id = NULL, accepted_ms = NULL, updated_ms = ?2,
                 reimports = {reimports}
             WHERE key = ?1 AND state = 'failed'"
        );
        for key in keys {
            // The old file is ours but no row's now: a look must never take it for the row.
            tx.prepare_cached(
                "INSERT OR IGNORE INTO retired_files (file_id)
                 SELECT file_id FROM rows WHERE key = ?1 AND state = 'failed' AND file_id IS NOT NULL",
            )
            .and_then(|mut s| s.execute(params![key]))
            .map_err(|e| sql_error(&path, e))?;
            tx.prepare_cached(&sql)
                .and_then(|mut s| s.execute(params![key, now_ms()]))
                .map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// Rows of `run`'s manifest that failed with one of `codes` and were re-imported fewer
    /// than `max_reimports` times.
    pub fn healable_failures(
        &self,
        run: i64,
        codes: &[&str],
        max_reimports: u32,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let rows_run = self.rows_run(run)?;
        let codes = serde_json::to_string(codes).expect("strings serialise");
        self.select(
            "WHERE seen_run = ?1 AND state = 'failed' AND reimports < ?2
                 AND error_code IN (SELECT value FROM json_each(?3)) ORDER BY line",
            params![rows_run, max_reimports, codes],
        )
    }

    /// Rows of `run`'s manifest whose file the target could not process, without a reason of
    /// their source's yet: URL rows, and local files too when `files_by_url` (they were sent
    /// from a served or staged URL).
    pub fn unexplained_failures(
        &self,
        run: i64,
        files_by_url: bool,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let rows_run = self.rows_run(run)?;
        self.select(
            "WHERE seen_run = ?1 AND state = 'failed' AND (is_file = 0 OR ?3) AND error_code = ?2
             ORDER BY line",
            params![rows_run, PROCESSING_FAILED.0, files_by_url],
        )
    }

    /// Replaces failed rows' `PROCESSING_FAILED` by what their sources said: (key, code, message).
    pub fn explain_failures(
        &mut self,
        reasons: &[(String, String, String)],
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        for (key, code, message) in reasons {
            tx.prepare_cached(
                "UPDATE rows SET error_code = ?2, error_message = ?3, updated_ms = ?4
                 WHERE key = ?1 AND state = 'failed' AND error_code = ?5",
            )
            .and_then(|mut s| s.execute(params![key, code, message, now_ms(), PROCESSING_FAILED.0]))
            .map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// Accepted rows whose file is still processing, oldest acceptance first, after `after_key`.
    pub fn processing(&self, limit: usize) -> Result<Vec<JournalRow>, JournalError> {
        self.select(
            "WHERE state = 'accepted' AND prune_step IS NULL ORDER BY accepted_ms, key LIMIT ?1",
            params![limit as i64],
        )
    }

    fn select(
        &self,
        tail: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM rows {tail}"))
            .map_err(self.wrap())?;
        let rows = stmt
            .query_map(params, JournalRow::from_row)
            .map_err(self.wrap())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.wrap())?;
        Ok(rows)
    }

    /// Marks rows `sending` under `batch_id`, committed before the request goes out.
    /// `target_clock_floor` is a lower bound of the target's clock minus ours (ms), when
    /// known: a row sent for the first time (no attempt yet) records `now` on the target's
    /// clock as its `sent_floor_ms` — taken before the request leaves, so no earlier than it
    /// arrives. Later sends keep the first one's: a file any of them made is younger still.
    /// A row whose first send had no known clock never gets one (a later floor would be
    /// younger than that send's file).
    pub fn mark_sending(
        &mut self,
        keys: &[String],
        batch_id: i64,
        target_clock_floor: Option<i64>,
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE rows SET state = 'sending', batch_id = ?2, attempts = attempts + 1,
                         updated_ms = ?3, adopt_check = 0,
                         sent_floor_ms = COALESCE(sent_floor_ms, CASE WHEN attempts = 0 THEN ?4 END)
                     WHERE key = ?1",
                )
                .map_err(|e| sql_error(&path, e))?;
            let now = now_ms();
            let floor = target_clock_floor.map(|offset| now.saturating_add(offset));
            for key in keys {
                stmt.execute(params![key, batch_id, now, floor])
                    .map_err(|e| sql_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// A new batch id (monotonic across runs).
    pub fn next_batch_id(&self) -> Result<i64, JournalError> {
        let id = self
            .meta("last_batch")?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        self.set_meta("last_batch", &id.to_string())?;
        Ok(id)
    }

    /// Rows per state: of run `run`, or of the whole journal with `None` (progress lines).
    pub fn state_counts(&self, run: Option<i64>) -> Result<HashMap<RowState, u64>, JournalError> {
        let run = run.map(|r| self.rows_run(r)).transpose()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT state, COUNT(*) FROM rows WHERE ?1 IS NULL OR seen_run = ?1 GROUP BY state",
            )
            .map_err(self.wrap())?;
        let rows = stmt
            .query_map([run], |r| {
                Ok((
                    RowState::parse(&r.get::<_, String>(0)?),
                    r.get::<_, i64>(1)? as u64,
                ))
            })
            .map_err(self.wrap())?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(self.wrap())?;
        Ok(rows)
    }

    /// The commonest reasons rows failed, most frequent first, at most `limit`.
    pub fn failure_reasons(&self, limit: usize) -> Result<Vec<(String, u64)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(error_code, 'UNKNOWN'), COUNT(*) FROM rows WHERE state = 'failed'
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?1",
            )
            .map_err(self.wrap())?;
        let reasons = stmt
            .query_map([limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(self.wrap())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.wrap())?;
        Ok(reasons)
    }

    /// Every folder path whose id is known.
    pub fn folders(&self) -> Result<HashMap<String, String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, folder_id FROM folders")
            .map_err(self.wrap())?;
        let map = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.wrap())?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(self.wrap())?;
        Ok(map)
    }

    /// True when `file_id` is already claimed by a row (so settling can't give it to another).
    pub fn file_claimed(&self, file_id: &str, except_key: &str) -> Result<bool, JournalError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM rows WHERE file_id = ?1 AND key != ?2
                 UNION ALL SELECT 1 FROM retired_files WHERE file_id = ?1",
                [file_id, except_key],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.wrap())?
            .is_some())
    }

    /// True when adoption saw `file_id` in its folder before this journal's rows were sent
    /// there and no row took it: not a file this journal's sends made.
    pub fn file_foreign(&self, file_id: &str) -> Result<bool, JournalError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM foreign_files WHERE file_id = ?1",
                [file_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.wrap())?
            .is_some())
    }

    /// The rows being sent now (few: at most the batches in flight).
    pub fn sending(&self) -> Result<Vec<JournalRow>, JournalError> {
        self.select("WHERE state = 'sending' ORDER BY line", [])
    }
}
