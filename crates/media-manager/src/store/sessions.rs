//! Upload sessions (the tokens behind upload URLs, single-use and expiring, with tus state) and
//! archive records (the permanent URLs of zip downloads).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::now_ms;
use crate::error::{WixError, WixResult};
use wix_media_wire::types::GenerateFileUploadUrlRequest;

#[derive(Debug, Clone)]
pub struct UploadSession {
    pub token: String,
    /// `put` (one request) or `tus` (resumable).
    pub kind: String,
    pub request: GenerateFileUploadUrlRequest,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub used: bool,
    pub tus_upload_id: Option<String>,
    pub upload_length: Option<u64>,
    pub upload_offset: u64,
    pub upload_metadata: Option<String>,
}

const COLUMNS: &str = "token, kind, request, created_ms, expires_ms, used, tus_upload_id,
    upload_length, upload_offset, upload_metadata";

impl UploadSession {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let request: String = r.get(2)?;
        Ok(Self {
            token: r.get(0)?,
            kind: r.get(1)?,
            request: serde_json::from_str(&request).unwrap_or_default(),
            created_ms: r.get(3)?,
            expires_ms: r.get(4)?,
            used: r.get(5)?,
            tus_upload_id: r.get(6)?,
            upload_length: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
            upload_offset: r.get::<_, i64>(8)? as u64,
            upload_metadata: r.get(9)?,
        })
    }

    pub fn is_expired(&self) -> bool {
        now_ms() >= self.expires_ms
    }
}

/// Creates a session and returns its token (a random, unguessable string).
pub fn create_session(
    conn: &Connection,
    kind: &str,
    request: &GenerateFileUploadUrlRequest,
    ttl_ms: i64,
) -> WixResult<String> {
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let now = now_ms();
    conn.execute(
        "INSERT INTO upload_sessions (token, kind, request, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token,
            kind,
            serde_json::to_string(request).expect("request serialises"),
            now,
            now + ttl_ms
        ],
    )?;
    Ok(token)
}

pub fn get_session(conn: &Connection, token: &str) -> WixResult<Option<UploadSession>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM upload_sessions WHERE token = ?1"),
            [token],
            UploadSession::from_row,
        )
        .optional()?)
}

pub fn get_session_by_upload(
    conn: &Connection,
    upload_id: &str,
) -> WixResult<Option<UploadSession>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM upload_sessions WHERE tus_upload_id = ?1"),
            [upload_id],
            UploadSession::from_row,
        )
        .optional()?)
}

/// Spends a token: true only for the one caller that finds it unused and unexpired.
pub fn consume_session(conn: &Connection, token: &str) -> WixResult<bool> {
    let changed = conn.execute(
        "UPDATE upload_sessions SET used = 1 WHERE token = ?1 AND used = 0 AND expires_ms > ?2",
        params![token, now_ms()],
    )?;
    Ok(changed == 1)
}

/// Gives back a token whose use failed before anything was created (e.g. a body over the cap).
pub fn release_session(conn: &Connection, token: &str) -> WixResult<()> {
    conn.execute(
        "UPDATE upload_sessions SET used = 0 WHERE token = ?1",
        [token],
    )?;
    Ok(())
}

/// Binds a tus upload to its session (tus creation). One upload per token.
pub fn start_tus_upload(
    conn: &Connection,
    token: &str,
    upload_id: &str,
    length: u64,
    metadata: &str,
) -> WixResult<()> {
    let changed = conn.execute(
        "UPDATE upload_sessions SET tus_upload_id = ?2, upload_length = ?3, upload_offset = 0,
             upload_metadata = ?4
         WHERE token = ?1 AND kind = 'tus' AND used = 0 AND tus_upload_id IS NULL AND expires_ms > ?5",
        params![token, upload_id, length as i64, metadata, now_ms()],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(WixError::forbidden(
            "INVALID_UPLOAD_TOKEN",
            "The upload token is unknown, expired, already used or already has an upload",
        ))
    }
}

pub fn set_tus_offset(conn: &Connection, upload_id: &str, offset: u64) -> WixResult<()> {
    conn.execute(
        "UPDATE upload_sessions SET upload_offset = ?2 WHERE tus_upload_id = ?1",
        params![upload_id, offset as i64],
    )?;
    Ok(())
}

/// tus termination: the upload is gone and its token can't be used again.
pub fn terminate_tus_upload(conn: &Connection, upload_id: &str) -> WixResult<()> {
    conn.execute(
        "UPDATE upload_sessions SET used = 1, upload_offset = 0 WHERE tus_upload_id = ?1",
        [upload_id],
    )?;
    Ok(())
}

/// How long an expired session's row is kept (so its token answers "expired", not "unknown").
const EXPIRED_ROWS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Ends expired sessions: returns the tus upload ids whose part files are to be deleted (their
/// offset is reset, so nothing claims bytes that are gone) and deletes rows long expired.
pub fn reap_expired(conn: &Connection) -> WixResult<Vec<String>> {
    let now = now_ms();
    let mut stmt = conn.prepare(
        "SELECT tus_upload_id FROM upload_sessions
         WHERE tus_upload_id IS NOT NULL AND (expires_ms <= ?1 OR used = 1)",
    )?;
    let ids = stmt
        .query_map([now], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    conn.execute(
        "UPDATE upload_sessions SET upload_offset = 0
         WHERE tus_upload_id IS NOT NULL AND expires_ms <= ?1 AND used = 0",
        [now],
    )?;
    conn.execute(
        "DELETE FROM upload_sessions WHERE expires_ms <= ?1",
        [now - EXPIRED_ROWS_KEPT_MS],
    )?;
    Ok(ids)
}

/// Whether `upload_id` belongs to a session that may still receive bytes.
pub fn is_live_upload(conn: &Connection, upload_id: &str) -> WixResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM upload_sessions WHERE tus_upload_id = ?1 AND used = 0 AND expires_ms > ?2",
            params![upload_id, now_ms()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[derive(Debug, Clone)]
pub struct ArchiveRow {
    pub id: String,
    pub file_ids: Option<Vec<String>>,
    pub folder_id: Option<String>,
    pub created_ms: i64,
}

pub fn create_archive(
    conn: &Connection,
    file_ids: Option<&[String]>,
    folder_id: Option<&str>,
) -> WixResult<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    conn.execute(
        "INSERT INTO archives (id, file_ids, folder_id, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![
            id,
            file_ids.map(|ids| serde_json::to_string(ids).expect("ids serialise")),
            folder_id,
            now_ms()
        ],
    )?;
    Ok(id)
}

pub fn get_archive(conn: &Connection, id: &str) -> WixResult<Option<ArchiveRow>> {
    Ok(conn
        .query_row(
            "SELECT id, file_ids, folder_id, created_ms FROM archives WHERE id = ?1",
            [id],
            |r| {
                let ids: Option<String> = r.get(1)?;
                Ok(ArchiveRow {
                    id: r.get(0)?,
                    file_ids: ids.and_then(|s| serde_json::from_str(&s).ok()),
                    folder_id: r.get(2)?,
                    created_ms: r.get(3)?,
                })
            },
        )
        .optional()?)
}
