//! Durable metadata of the local Media Manager: one SQLite database (WAL) holding folders, files,
//! upload sessions and archives. One connection behind a mutex is the single writer, so
//! lookup-or-create sequences (a `filePath` chain) are serialised and never race.
//! Blob bytes live in [`super::blobs`], not here.

pub mod files;
pub mod folders;
pub mod paging;
pub mod sessions;
pub mod trash;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

pub use files::{FileFilter, FileRow, NewFile, ProcessingOutcome};
pub use folders::FolderRow;
pub use paging::{Page, PageRequest, PagingFields, SortKey};
pub use sessions::{ArchiveRow, UploadSession};

use super::error::{WixError, WixResult};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    -- where a trashed folder came from; NULL while live
    original_parent_id TEXT,
    -- 0 live, 1 trashed itself, 2 trashed along with an ancestor
    trashed INTEGER NOT NULL DEFAULT 0,
    -- 'media' or 'visitor': which search root the folder is under
    root TEXT NOT NULL DEFAULT 'media',
    system INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS folders_parent ON folders (parent_id, display_name);
-- a listing's default order (newest first), so a page reads its rows and no more; `trashed`
-- is left out so that searches, which have no parent, still scan the table and not this index
CREATE INDEX IF NOT EXISTS folders_listing ON folders (parent_id, updated_ms, id);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    original_parent_id TEXT,
    trashed INTEGER NOT NULL DEFAULT 0,
    root TEXT NOT NULL DEFAULT 'media',
    private INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '[]',
    mime_type TEXT,
    media_type TEXT NOT NULL DEFAULT 'UNKNOWN',
    status TEXT NOT NULL,
    source_url TEXT,
    -- JSON of what processing needs to fetch the source again after a restart
    import_request TEXT,
    size INTEGER,
    md5 TEXT,
    blob TEXT,
    width INTEGER,
    height INTEGER,
    thumb_blob TEXT,
    error_code TEXT,
    error_description TEXT,
    -- processing may not finish before this instant (the processing-time fault)
    ready_not_before_ms INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_parent ON files (parent_id);
CREATE INDEX IF NOT EXISTS files_listing ON files (parent_id, updated_ms, id);
CREATE INDEX IF NOT EXISTS files_status ON files (status);
CREATE INDEX IF NOT EXISTS files_source ON files (source_url);
CREATE INDEX IF NOT EXISTS files_blob ON files (blob);
CREATE TABLE IF NOT EXISTS upload_sessions (
    token TEXT PRIMARY KEY,
    -- 'put' (one request) or 'tus' (resumable)
    kind TEXT NOT NULL,
    -- JSON GenerateFileUploadUrlRequest
    request TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    -- tus state
    tus_upload_id TEXT UNIQUE,
    upload_length INTEGER,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    upload_metadata TEXT
);
CREATE TABLE IF NOT EXISTS archives (
    id TEXT PRIMARY KEY,
    -- JSON array of file ids, or NULL for a folder archive
    file_ids TEXT,
    folder_id TEXT,
    created_ms INTEGER NOT NULL
);
"#;

/// Handle to the metadata database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating when absent) the database at `path` and makes sure the system folders exist.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Self, rusqlite::Error> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, rusqlite::Error> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if version.is_none() {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )?;
        }
        folders::ensure_system_folders(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection on the blocking pool, so SQLite never stalls the reactor.
    pub async fn call<T, F>(&self, f: F) -> WixResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> WixResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(WixError::internal)?
    }

    /// Runs `f` inside one transaction: all of it commits or none does.
    pub async fn transaction<T, F>(&self, f: F) -> WixResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Transaction<'_>) -> WixResult<T> + Send + 'static,
    {
        self.call(move |conn| {
            let mut tx = conn.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// A value kept in the `meta` table, created with `init` on first use (e.g. the signing key).
    pub async fn meta_or_init(&self, key: &'static str, init: String) -> WixResult<String> {
        self.call(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                rusqlite::params![key, init],
            )?;
            Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
        })
        .await
    }
}

/// Milliseconds since the Unix epoch, the unit every timestamp column uses.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// RFC 3339 in UTC with whole seconds, as the Wix examples show (`2022-08-30T16:56:29Z`).
pub fn rfc3339(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of a folder's files or folders in the default order (newest first, after a
    /// cursor) is read along an index: under load, sorting every child of a big folder on each
    /// page held the one connection for milliseconds and capped the whole server.
    #[test]
    fn default_listing_page_is_read_along_an_index() {
        let store = Store::open_in_memory().expect("in-memory database");
        let conn = store.conn.lock().expect("no other user");
        let page = PageRequest::from_wire(None, None, &[SortKey::Updated], PagingFields::LISTING)
            .expect("defaults");
        for (table, extra) in [("files", ""), ("folders", " AND system = 0")] {
            let mut conditions = vec![format!("parent_id = 'p' AND trashed = 0{extra}")];
            let mut params = Vec::new();
            let order = page.apply(&mut conditions, &mut params);
            let keyset = "(updated_ms, id) < (1, 'x')";
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {} AND {keyset} {order}",
                conditions.join(" AND ")
            );
            let plan = conn
                .prepare(&sql)
                .and_then(|mut s| {
                    s.query_map([], |r| r.get::<_, String>(3))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .expect("plan");
            let plan = plan.join("; ");
            assert!(
                plan.contains(&format!("{table}_listing")),
                "{table}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{table}: {plan}");
        }
    }
}
