//! The journal: one SQLite database (WAL) per target site (by default), the single source of
//! truth of a migration. Every stage takes its work from it and writes outcomes back, committing
//! before a request is sent (rows → `sending`) and after the answer, so a crash at any instant
//! leaves a journal the next run continues from. It owns the schema, the target binding and
//! the run lock; row transitions live in [`rows`].

pub mod adoption;
pub mod answers;
mod ingest;
pub mod lines;
pub mod rows;
mod staged;

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

pub use adoption::{DoomedFile, PruneCount};
pub use answers::{FileFacts, Outcome};
pub use ingest::IngestCounts;
pub use rows::{JournalRow, RowState};

/// 2: the key and file-id indexes are separate (the key index can be rebuilt by a bulk load;
/// the file-id index leaves out rows without a file). Schema 1 journals are still read.
/// 3: `rows.reimports`. 4: one journal per site — adoption (`adopt_check`, `origin`,
/// `new_folders`), changed rows (`superseded`), pruning (`prune_step`, `pruned_run`).
/// 5: `rows.sent_floor_ms` — when a row's first send could have reached the target, on the
/// target's clock — so settling can tell a file made before it from one its sends made.
const SCHEMA_VERSION: i64 = 5;

/// The rows' indexes, dropped and rebuilt by [`Journal::ingest`]'s bulk load; the unique key
/// index comes first, so a repeated key fails the batch before anything else is built.
pub(crate) const CREATE_ROW_INDEXES: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS rows_key ON rows (key);
CREATE INDEX IF NOT EXISTS rows_state ON rows (state, line);
CREATE INDEX IF NOT EXISTS rows_seen ON rows (seen_run, line);
CREATE INDEX IF NOT EXISTS rows_adopt ON rows (folder_path, line) WHERE adopt_check = 1;
";
pub(crate) const DROP_ROW_INDEXES: &str =
    "DROP INDEX rows_key; DROP INDEX rows_state; DROP INDEX rows_seen; DROP INDEX rows_adopt;";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    key TEXT NOT NULL,
    line INTEGER NOT NULL,
    source TEXT NOT NULL,
    is_file INTEGER NOT NULL,
    folder_path TEXT NOT NULL,
    display_name TEXT NOT NULL,
    mime_type TEXT,
    media_type TEXT,
    labels TEXT NOT NULL,
    private INTEGER NOT NULL,
    external_id TEXT,
    expected_size INTEGER,
    expected_md5 TEXT,
    -- queued | sending | in_doubt | accepted | ready | failed
    state TEXT NOT NULL,
    batch_id INTEGER,
    file_id TEXT,
    file_url TEXT,
    operation_status TEXT,
    size INTEGER,
    hash TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    -- the run whose manifest last held this row (duplicates are rows seen twice in one run)
    seen_run INTEGER NOT NULL,
    accepted_ms INTEGER,
    updated_ms INTEGER NOT NULL,
    -- times the row was imported again after its file FAILED for a reason that can heal
    reimports INTEGER NOT NULL DEFAULT 0,
    -- 1 while a row new to the journal has not been looked for at the target (adoption)
    adopt_check INTEGER NOT NULL DEFAULT 0,
    -- how the row's file came: imported | adopted (found at the target) | updated (a changed
    -- row imported again)
    origin TEXT NOT NULL DEFAULT 'imported',
    -- --prune: 'trashing' (committed before the trash call) | 'pruned'
    prune_step TEXT,
    pruned_run INTEGER,
    -- a lower bound, on the target's clock (ms since the epoch), of when the row's first send
    -- reached the target: no file created clearly before it is one of the row's sends'
    -- (settling). NULL when the target's clock was unknown at that send, or sent before schema 5
    sent_floor_ms INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS rows_file ON rows (file_id) WHERE file_id IS NOT NULL;
-- manifest lines that are not rows to import: invalid, or duplicates of an earlier line
CREATE TABLE IF NOT EXISTS issues (
    run INTEGER NOT NULL,
    line INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT,
    field TEXT,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    PRIMARY KEY (run, line)
);
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, folder_id TEXT NOT NULL);
-- files rows held before they were imported again (FAILED, trashed or kept): never claimed again
CREATE TABLE IF NOT EXISTS retired_files (file_id TEXT PRIMARY KEY);
-- a run whose manifest was unchanged since run rows_run's read takes that read's rows
CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, rows_run INTEGER NOT NULL);
-- folders found absent by adoption: every file in them came from this journal's imports
CREATE TABLE IF NOT EXISTS new_folders (path TEXT PRIMARY KEY);
-- files adoption saw in a folder before this journal's rows were sent there, standing for a
-- row (its name and source, or name and size) but taken by none (FAILED, or one too many):
-- not this journal's, so settling never claims them (a side table, created on open)
CREATE TABLE IF NOT EXISTS foreign_files (file_id TEXT PRIMARY KEY);
-- files of rows whose source, folder or name changed under the same key (--replace trashes them)
CREATE TABLE IF NOT EXISTS superseded (
    file_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    run INTEGER NOT NULL,
    trashed INTEGER NOT NULL DEFAULT 0
);
-- run --stage: the object each local-file row was staged as, recorded before it is imported
-- (a side table, so older journals need no migration: it is created on open)
CREATE TABLE IF NOT EXISTS staged (
    key TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
-- run --stage: objects no row is staged as any more (a row's file changed and was staged
-- again under its new content), deleted from the bucket at the end of the next run
CREATE TABLE IF NOT EXISTS staged_retired (object TEXT PRIMARY KEY);
"#;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("journal {} belongs to target `{recorded}`, not `{requested}`; use another --journal or the original target", path.display())]
    OtherTarget {
        path: PathBuf,
        recorded: String,
        requested: String,
    },
    #[error("journal {} has schema version {found}, newer than this media-migrate understands ({SCHEMA_VERSION})", path.display())]
    NewerSchema { path: PathBuf, found: i64 },
    #[error(transparent)]
    Manifest(crate::manifest::ManifestError),
    #[error("another run holds the journal lock {}; wait for it to finish", path.display())]
    Locked { path: PathBuf },
    #[error("journal lock {}", path.display())]
    LockIo {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Journal {
    path: PathBuf,
    pub(crate) conn: Connection,
}

/// Held for a whole run; a second run on the same journal is refused while it lives.
pub struct RunLock {
    _file: File,
}

impl RunLock {
    pub fn acquire(journal_path: &Path) -> Result<Self, JournalError> {
        Self::acquire_as(journal_path, &format!("pid {}", std::process::id()))
    }

    /// Takes the lock and writes `holder` (who holds it: a shard, a pid, a host — never a
    /// secret) into the lock file, for [`RunLock::holder`] to tell whoever finds it taken.
    pub fn acquire_as(journal_path: &Path, holder: &str) -> Result<Self, JournalError> {
        let path = lock_path(journal_path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::LockIo {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| JournalError::LockIo {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                // Advisory only (the lock is the flock): a failed write loses the name, not
                // the lock.
                let _ = write_holder(&file, holder);
                Ok(Self { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked { path }),
            Err(std::fs::TryLockError::Error(source)) => Err(JournalError::LockIo { path, source }),
        }
    }
}

impl RunLock {
    /// Who holds (or last held) the lock of `journal_path`, as its holder wrote it.
    pub fn holder(journal_path: &Path) -> Option<String> {
        let text = std::fs::read_to_string(lock_path(journal_path)).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

fn write_holder(mut file: &File, holder: &str) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(format!("{holder}\n").as_bytes())
}

fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl Journal {
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let wrap = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| JournalError::LockIo {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        // 0600 before SQLite opens it: it names every source, and its WAL files take its mode.
        crate::ensure_private_file(path).map_err(|source| JournalError::LockIo {
            path: path.to_path_buf(),
            source,
        })?;
        let conn = Connection::open(path).map_err(wrap)?;
        // First, so that a reader of the journal (a progress script, `sqlite3`) holding a lock
        // while the journal turns to WAL is waited for, not a fatal error.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(wrap)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        // FULL: the `sending` commit must survive a power cut, or a resend could duplicate.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.pragma_update(None, "cache_size", -32768)
            .map_err(wrap)?;
        conn.execute_batch(SCHEMA).map_err(wrap)?;
        let journal = Self {
            path: path.to_path_buf(),
            conn,
        };
        match journal.meta("schema_version")? {
            None => journal.set_meta("schema_version", &SCHEMA_VERSION.to_string())?,
            Some(v) => {
                let found = v.parse().unwrap_or(i64::MAX);
                if found > SCHEMA_VERSION {
                    return Err(JournalError::NewerSchema {
                        path: path.to_path_buf(),
                        found,
                    });
                }
                if found < SCHEMA_VERSION {
                    journal.migrate()?;
                }
            }
        }
        // After the migration: the indexes name columns older journals lack.
        journal
            .conn
            .execute_batch(CREATE_ROW_INDEXES)
            .map_err(journal.wrap())?;
        Ok(journal)
    }

    /// Brings a journal of an earlier schema up to this one; the rows stay as they were.
    /// Schema 3 adds `rows.reimports` (0 for every existing row). Schema 4 adds the columns of
    /// adoption, changes and pruning: existing rows are known (`adopt_check` 0), imported, not
    /// pruned — so a per-manifest journal of an earlier version keeps working as it was.
    /// Schema 5 adds `rows.sent_floor_ms`, NULL for existing rows: their sends' files are
    /// claimed by name and source alone, as before.
    fn migrate(&self) -> Result<(), JournalError> {
        const ADDED: [(&str, &str); 6] = [
            ("reimports", "reimports INTEGER NOT NULL DEFAULT 0"),
            ("adopt_check", "adopt_check INTEGER NOT NULL DEFAULT 0"),
            ("origin", "origin TEXT NOT NULL DEFAULT 'imported'"),
            ("prune_step", "prune_step TEXT"),
            ("pruned_run", "pruned_run INTEGER"),
            ("sent_floor_ms", "sent_floor_ms INTEGER"),
        ];
        for (name, definition) in ADDED {
            let has: bool = self
                .conn
                .query_row(
                    "SELECT COUNT(*) > 0 FROM pragma_table_info('rows') WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .map_err(self.wrap())?;
            if !has {
                self.conn
                    .execute_batch(&format!("ALTER TABLE rows ADD COLUMN {definition}"))
                    .map_err(self.wrap())?;
            }
        }
        self.set_meta("schema_version", &SCHEMA_VERSION.to_string())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn wrap(&self) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        move |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, JournalError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.wrap())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )
            .map_err(self.wrap())?;
        Ok(())
    }

    /// Records the target on first use; refuses any other target afterwards. `target` must
    /// identify a site without secrets (base URL and site id).
    pub fn bind_target(&self, target: &str) -> Result<(), JournalError> {
        match self.meta("target")? {
            None => self.set_meta("target", target),
            Some(recorded) if recorded == target => Ok(()),
            Some(recorded) => Err(JournalError::OtherTarget {
                path: self.path.clone(),
                recorded,
                requested: target.to_string(),
            }),
        }
    }

    /// Starts a run: its number marks the rows its manifest holds.
    pub fn begin_run(&self) -> Result<i64, JournalError> {
        let run = self
            .meta("last_run")?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        self.set_meta("last_run", &run.to_string())?;
        Ok(run)
    }

    pub fn folder_id(&self, path: &str) -> Result<Option<String>, JournalError> {
        self.conn
            .query_row(
                "SELECT folder_id FROM folders WHERE path = ?1",
                [path],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.wrap())
    }
}

fn sql_error(path: &Path, source: rusqlite::Error) -> JournalError {
    JournalError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
