//! File rows: creation (PENDING), the processing outcome (READY / FAILED), lookup, listing,
//! search and update. A row's wire form is made in [`wire`], so every endpoint agrees.

mod wire;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::now_ms;
use super::paging::{self, Page, PageRequest, SortKey, Table, like_pattern, root_condition};
use crate::error::{WixError, WixResult};
use wix_media_wire::types::{MediaType, OperationStatus, RootFolder};

#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub id: String,
    pub display_name: String,
    pub parent_id: String,
    pub trashed: i64,
    pub root: String,
    pub private: bool,
    pub labels: Vec<String>,
    pub mime_type: Option<String>,
    pub media_type: MediaType,
    pub status: OperationStatus,
    pub source_url: Option<String>,
    pub import_request: Option<String>,
    pub size: Option<u64>,
    pub md5: Option<String>,
    pub blob: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_blob: Option<String>,
    pub error_code: Option<String>,
    pub error_description: Option<String>,
    pub ready_not_before_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

const COLUMNS: &str = "id, display_name, parent_id, trashed, root, private, labels, mime_type,
    media_type, status, source_url, import_request, size, md5, blob, width, height, thumb_blob,
    error_code, error_description, ready_not_before_ms, created_ms, updated_ms";

const TABLE: Table<FileRow> = Table {
    name: "files",
    columns: COLUMNS,
    from_row: FileRow::from_row,
    sort_value: FileRow::sort_value,
};

impl FileRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let labels: String = r.get(6)?;
        let media_type: String = r.get(8)?;
        let status: String = r.get(9)?;
        Ok(Self {
            id: r.get(0)?,
            display_name: r.get(1)?,
            parent_id: r.get(2)?,
            trashed: r.get(3)?,
            root: r.get(4)?,
            private: r.get(5)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            mime_type: r.get(7)?,
            media_type: MediaType::parse(&media_type).unwrap_or(MediaType::Unknown),
            status: OperationStatus::parse(&status).unwrap_or(OperationStatus::Pending),
            source_url: r.get(10)?,
            import_request: r.get(11)?,
            size: r.get::<_, Option<i64>>(12)?.map(|s| s as u64),
            md5: r.get(13)?,
            blob: r.get(14)?,
            width: r.get(15)?,
            height: r.get(16)?,
            thumb_blob: r.get(17)?,
            error_code: r.get(18)?,
            error_description: r.get(19)?,
            ready_not_before_ms: r.get(20)?,
            created_ms: r.get(21)?,
            updated_ms: r.get(22)?,
        })
    }

    pub fn is_live(&self) -> bool {
        self.trashed == 0
    }

    pub fn sort_value(&self, key: SortKey) -> (Value, String) {
        let v = match key {
            SortKey::DisplayName => Value::Text(self.display_name.clone()),
            SortKey::Updated => Value::Integer(self.updated_ms),
            SortKey::Size => Value::Integer(self.size.map(|s| s as i64).unwrap_or(-1)),
        };
        (v, self.id.clone())
    }
}

/// What a new file starts with; processing fills in the rest.
#[derive(Debug, Clone, Default)]
pub struct NewFile {
    pub id: String,
    pub display_name: String,
    pub parent_id: String,
    pub private: bool,
    pub labels: Vec<String>,
    pub mime_type: Option<String>,
    pub media_type: Option<MediaType>,
    pub source_url: Option<String>,
    pub import_request: Option<String>,
    /// Set for uploads, whose bytes are already stored.
    pub blob: Option<(String, u64, String)>,
    pub ready_not_before_ms: i64,
}

/// What processing found: the file is READY with these facts, or FAILED with a reason.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessingOutcome {
    Ready {
        mime_type: String,
        media_type: MediaType,
        size: u64,
        md5: String,
        blob: String,
        width: Option<u32>,
        height: Option<u32>,
        thumb_blob: Option<String>,
    },
    Failed {
        code: String,
        description: String,
    },
}

pub fn insert_file(conn: &Connection, new: NewFile) -> WixResult<FileRow> {
    let parent = super::folders::live_parent(conn, "parentFolderId", &new.parent_id)?;
    let now = now_ms();
    let (blob, size, md5) = match new.blob {
        Some((b, s, m)) => (Some(b), Some(s as i64), Some(m)),
        None => (None, None, None),
    };
    conn.execute(
        "INSERT INTO files (id, display_name, parent_id, root, private, labels, mime_type, media_type,
             status, source_url, import_request, size, md5, blob, ready_not_before_ms, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'PENDING', ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
        params![
            new.id,
            new.display_name,
            parent.id,
            parent.root,
            new.private,
            serde_json::to_string(&new.labels).expect("labels serialise"),
            new.mime_type,
            new.media_type.unwrap_or(MediaType::Unknown).as_str(),
            new.source_url,
            new.import_request,
            size,
            md5,
            blob,
            new.ready_not_before_ms,
            now,
        ],
    )?;
    get_file(conn, &new.id)?.ok_or_else(|| WixError::internal("inserted file vanished"))
}

pub fn get_file(conn: &Connection, id: &str) -> WixResult<Option<FileRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM files WHERE id = ?1"),
            [id],
            FileRow::from_row,
        )
        .optional()?)
}

pub fn require_file(conn: &Connection, id: &str) -> WixResult<FileRow> {
    get_file(conn, id)?
        .ok_or_else(|| WixError::not_found("FILE_NOT_FOUND", format!("File `{id}` not found")))
}

/// Files by id, in the order asked; unknown ids are left out.
pub fn get_files(conn: &Connection, ids: &[String]) -> WixResult<Vec<FileRow>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM files WHERE id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(f) = stmt.query_row([id], FileRow::from_row).optional()? {
            out.push(f);
        }
    }
    Ok(out)
}

/// Filters shared by list and search.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    pub media_types: Vec<MediaType>,
    pub private: Option<bool>,
}

impl FileFilter {
    fn apply(&self, conditions: &mut Vec<String>, params: &mut Vec<Value>) {
        if !self.media_types.is_empty() {
            let marks = vec!["?"; self.media_types.len()].join(", ");
            conditions.push(format!("media_type IN ({marks})"));
            params.extend(
                self.media_types
                    .iter()
                    .map(|t| Value::Text(t.as_str().to_string())),
            );
        }
        if let Some(p) = self.private {
            conditions.push("private = ?".to_string());
            params.push(Value::Integer(p as i64));
        }
    }
}

/// Direct children of a folder; `deleted` lists trashed files instead of live ones.
pub fn list_files(
    conn: &Connection,
    parent_id: &str,
    deleted: bool,
    filter: &FileFilter,
    page: &PageRequest,
) -> WixResult<Page<FileRow>> {
    let mut conditions = vec!["parent_id = ?".to_string()];
    let mut params = vec![Value::Text(parent_id.to_string())];
    conditions.push(
        if deleted {
            "trashed != 0"
        } else {
            "trashed = 0"
        }
        .to_string(),
    );
    filter.apply(&mut conditions, &mut params);
    query_page(conn, conditions, params, page)
}

/// Files at every level under a search root, matching `search` in name, mime type or labels.
pub fn search_files(
    conn: &Connection,
    root: RootFolder,
    search: Option<&str>,
    filter: &FileFilter,
    page: &PageRequest,
) -> WixResult<Page<FileRow>> {
    let mut conditions = vec![root_condition(root).to_string()];
    let mut params = Vec::new();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        conditions.push(
            "(display_name LIKE ?1 ESCAPE '\\' OR mime_type LIKE ?1 ESCAPE '\\' OR labels LIKE ?1 ESCAPE '\\')"
                .replace("?1", "?"),
        );
        let p = Value::Text(like_pattern(s));
        params.extend([p.clone(), p.clone(), p]);
    }
    filter.apply(&mut conditions, &mut params);
    query_page(conn, conditions, params, page)
}

/// One page of files matching `conditions` (see [`paging::query_page`]).
pub fn query_page(
    conn: &Connection,
    conditions: Vec<String>,
    params: Vec<Value>,
    page: &PageRequest,
) -> WixResult<Page<FileRow>> {
    paging::query_page(conn, &TABLE, conditions, params, page)
}

/// Writes the writable fields; a new parent moves the file.
pub fn update_file(
    conn: &Connection,
    id: &str,
    display_name: Option<&str>,
    parent_id: Option<&str>,
    labels: Option<&[String]>,
) -> WixResult<FileRow> {
    let file = require_file(conn, id)?;
    if !file.is_live() {
        return Err(WixError::not_found(
            "FILE_NOT_FOUND",
            format!("File `{id}` is in the trash"),
        ));
    }
    let now = now_ms();
    if let Some(name) = display_name {
        conn.execute(
            "UPDATE files SET display_name = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, name, now],
        )?;
    }
    if let Some(parent_id) = parent_id.filter(|p| *p != file.parent_id) {
        let parent = super::folders::live_parent(conn, "file.parentFolderId", parent_id)?;
        conn.execute(
            "UPDATE files SET parent_id = ?2, root = ?3, updated_ms = ?4 WHERE id = ?1",
            params![id, parent.id, parent.root, now],
        )?;
    }
    if let Some(labels) = labels {
        conn.execute(
            "UPDATE files SET labels = ?2, updated_ms = ?3 WHERE id = ?1",
            params![
                id,
                serde_json::to_string(labels).expect("labels serialise"),
                now
            ],
        )?;
    }
    require_file(conn, id)
}

/// Ids of files still waiting for processing, oldest first (re-queued after a restart).
pub fn pending_file_ids(conn: &Connection) -> WixResult<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT id FROM files WHERE status = 'PENDING' ORDER BY created_ms, id")?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Records the end of processing. Only a PENDING file changes, so a late duplicate job is harmless.
pub fn complete_processing(
    conn: &Connection,
    id: &str,
    outcome: &ProcessingOutcome,
) -> WixResult<bool> {
    let now = now_ms();
    let changed = match outcome {
        ProcessingOutcome::Ready {
            mime_type,
            media_type,
            size,
            md5,
            blob,
            width,
            height,
            thumb_blob,
        } => conn.execute(
            "UPDATE files SET status = 'READY', mime_type = ?2, media_type = ?3, size = ?4, md5 = ?5,
                 blob = ?6, width = ?7, height = ?8, thumb_blob = ?9, updated_ms = ?10
             WHERE id = ?1 AND status = 'PENDING'",
            params![id, mime_type, media_type.as_str(), *size as i64, md5, blob, width, height, thumb_blob, now],
        )?,
        ProcessingOutcome::Failed { code, description } => conn.execute(
            "UPDATE files SET status = 'FAILED', error_code = ?2, error_description = ?3, updated_ms = ?4
             WHERE id = ?1 AND status = 'PENDING'",
            params![id, code, description, now],
        )?,
    };
    Ok(changed == 1)
}

/// Number of files per operation status (for `/_local/stats`).
pub fn count_by_status(conn: &Connection) -> WixResult<Vec<(String, u64)>> {
    let mut stmt =
        conn.prepare("SELECT status, COUNT(*) FROM files GROUP BY status ORDER BY status")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
