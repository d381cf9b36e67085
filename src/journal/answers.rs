//! What the target answered about rows, and how the journal records it: the facts of a file,
//! the [`Outcome`] of one row's attempt (from an answer, or from a failed call's
//! disposition), and [`Journal::record_answer`], the one path every stage records through.

use std::collections::HashMap;

use rusqlite::params;

pub use super::rows::PROCESSING_FAILED;
use super::rows::RowState;
use super::{Journal, JournalError, now_ms, sql_error};
use crate::api::client::CallError;
use crate::control::retry::Disposition;
use wix_media_wire::types::{FileDescriptor, OperationStatus};

/// The facts of a file as the target reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileFacts {
    pub file_id: String,
    pub url: Option<String>,
    pub operation_status: OperationStatus,
    pub size: Option<u64>,
    pub hash: Option<String>,
}

impl FileFacts {
    /// The facts of a descriptor the target returned for the file `id`.
    pub fn from_descriptor(file: &FileDescriptor, id: &str) -> Self {
        Self {
            file_id: id.to_string(),
            url: file.url.clone(),
            operation_status: file.operation_status.unwrap_or(OperationStatus::Pending),
            size: file.size_in_bytes,
            hash: file.hash.clone(),
        }
    }
}

/// The outcome of one row's attempt, applied by [`Journal::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The target holds the file (accepted, or already processed).
    Accepted { key: String, file: FileFacts },
    /// Certainly not done: back to the queue, unless attempts are used up.
    Retry {
        key: String,
        code: String,
        message: String,
    },
    /// Refused for good.
    Failed {
        key: String,
        code: String,
        message: String,
    },
    /// Maybe done: to be settled by looking at the target.
    InDoubt { key: String },
    /// The target refused the caller, not the row (its key or site, or a site that is full):
    /// certainly not done, and back to the queue without costing an attempt.
    Refused { key: String },
    /// The target no longer holds an accepted file: it can't become READY.
    FileMissing { file_id: String },
}

impl Outcome {
    /// What a failed call means for one of the rows it carried: resend it, settle it by
    /// looking at the target, or fail it.
    pub fn from_call_error(key: &str, e: &CallError) -> Self {
        let key = key.to_string();
        if e.stops_the_run() {
            return Self::Refused { key };
        }
        match e.disposition() {
            Disposition::NotDone => Self::Retry {
                key,
                code: e.code(),
                message: e.to_string(),
            },
            Disposition::InDoubt => Self::InDoubt { key },
            Disposition::Permanent => Self::Failed {
                key,
                code: e.code(),
                message: e.to_string(),
            },
        }
    }
}

impl Journal {
    /// Applies outcomes in one transaction. A retry past `max_attempts` becomes a failure.
    pub fn apply(&mut self, outcomes: &[Outcome], max_attempts: u32) -> Result<(), JournalError> {
        self.record_answer(&[], outcomes, max_attempts)
    }

    /// Records what the target answered about some rows, in one transaction: the folders it
    /// showed to exist (path → id) and each row's outcome. Every stage records its answers so.
    pub fn record_answer(
        &mut self,
        folders: &[(String, String)],
        outcomes: &[Outcome],
        max_attempts: u32,
    ) -> Result<(), JournalError> {
        self.record(folders, true, outcomes, max_attempts)
    }

    /// Records what looking at the target found: as [`Journal::record_answer`], but a folder
    /// id is only added where the journal knows none (an answer knows better than a look).
    pub fn record_found(
        &mut self,
        folders: &[(String, String)],
        outcomes: &[Outcome],
        max_attempts: u32,
    ) -> Result<(), JournalError> {
        self.record(folders, false, outcomes, max_attempts)
    }

    fn record(
        &mut self,
        folders: &[(String, String)],
        overwrite: bool,
        outcomes: &[Outcome],
        max_attempts: u32,
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        let now = now_ms();
        let upsert = if overwrite {
            "INSERT INTO folders (path, folder_id) VALUES (?1, ?2)
             ON CONFLICT(path) DO UPDATE SET folder_id = ?2"
        } else {
            "INSERT INTO folders (path, folder_id) VALUES (?1, ?2) ON CONFLICT(path) DO NOTHING"
        };
        for (folder, id) in folders {
            tx.prepare_cached(upsert)
                .and_then(|mut s| s.execute(params![folder, id]))
                .map_err(|e| sql_error(&path, e))?;
        }
        for outcome in outcomes {
            apply_one(&tx, outcome, max_attempts, now).map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// Updates processing results by file id (from a readiness poll).
    pub fn record_files(
        &mut self,
        files: &[FileFacts],
        errors: &HashMap<String, (String, String)>,
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
        let now = now_ms();
        for f in files {
            let state = RowState::of_file(f.operation_status).as_str();
            let (code, message) = errors.get(&f.file_id).cloned().unzip();
            tx.execute(
                "UPDATE rows SET state = ?2, operation_status = ?3, size = COALESCE(?4, size), hash = COALESCE(?5, hash),
                     file_url = COALESCE(?6, file_url), error_code = COALESCE(?7, error_code),
                     error_message = COALESCE(?8, error_message), updated_ms = ?9
                 WHERE file_id = ?1 AND state = 'accepted'",
                params![f.file_id, state, f.operation_status.as_str(), f.size.map(|s| s as i64), f.hash, f.url, code, message, now],
            )
            .map_err(|e| sql_error(&path, e))?;
        }
        tx.commit().map_err(|e| sql_error(&path, e))
    }
}

/// Applies one outcome. Only a row being sent or in doubt changes: an answer arriving after
/// its row was resolved another way (found by looking at the target, say) changes nothing.
fn apply_one(
    tx: &rusqlite::Transaction<'_>,
    outcome: &Outcome,
    max_attempts: u32,
    now: i64,
) -> rusqlite::Result<()> {
    match outcome {
        Outcome::Accepted { key, file } => {
            let state = RowState::of_file(file.operation_status);
            // A file already FAILED when accepted (found by settle) never reaches the
            // readiness poll, which is what records the reason otherwise.
            let (code, message) = if state == RowState::Failed {
                (Some(PROCESSING_FAILED.0), Some(PROCESSING_FAILED.1))
            } else {
                (None, None)
            };
            tx.execute(
                "UPDATE rows SET state = ?2, file_id = ?3, file_url = ?4, operation_status = ?5, size = ?6, hash = ?7,
                     error_code = ?9, error_message = ?10, accepted_ms = ?8, updated_ms = ?8
                 WHERE key = ?1 AND state IN ('sending', 'in_doubt')",
                params![key, state.as_str(), file.file_id, file.url, file.operation_status.as_str(), file.size.map(|s| s as i64), file.hash, now, code, message],
            )?;
        }
        Outcome::Retry { key, code, message } => {
            tx.execute(
                "UPDATE rows SET state = CASE WHEN attempts >= ?2 THEN 'failed' ELSE 'queued' END,
                     error_code = ?3, error_message = ?4, updated_ms = ?5
                 WHERE key = ?1 AND state IN ('sending', 'in_doubt')",
                params![key, max_attempts, code, message, now],
            )?;
        }
        Outcome::Failed { key, code, message } => {
            tx.execute(
                "UPDATE rows SET state = 'failed', error_code = ?2, error_message = ?3, updated_ms = ?4
                 WHERE key = ?1 AND state IN ('sending', 'in_doubt')",
                params![key, code, message, now],
            )?;
        }
        Outcome::Refused { key } => {
            tx.execute(
                "UPDATE rows SET state = 'queued', attempts = MAX(attempts - 1, 0), updated_ms = ?2
                 WHERE key = ?1 AND state IN ('sending', 'in_doubt')",
                params![key, now],
            )?;
        }
        Outcome::InDoubt { key } => {
            tx.execute(
                "UPDATE rows SET state = 'in_doubt', updated_ms = ?2
                 WHERE key = ?1 AND state IN ('sending', 'in_doubt')",
                params![key, now],
            )?;
        }
        Outcome::FileMissing { file_id } => {
            tx.execute(
                "UPDATE rows SET state = 'failed', error_code = 'FILE_NOT_FOUND',
                     error_message = 'the target no longer holds the file', updated_ms = ?2
                 WHERE file_id = ?1 AND state = 'accepted'",
                params![file_id, now],
            )?;
        }
    }
    Ok(())
}
