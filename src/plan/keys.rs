//! The set of row keys seen so far, kept in a throwaway SQLite database in the system's
//! temporary folder so that finding duplicates in a manifest of millions of rows doesn't hold
//! every key in memory. The database is deleted when the set is dropped.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

/// Inserts between commits: large enough to be fast, small enough that a transaction's dirty
/// pages stay modest.
const COMMIT_EVERY: u32 = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("creating the duplicate index in {}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("duplicate index {}", path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "reading the journal {} (plan --prune needs a journal a run of this version wrote)",
        path.display()
    )]
    Journal {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// A file `run --prune` would move to the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedFile {
    pub key: String,
    pub file_id: String,
    pub source: String,
    pub folder_path: String,
    pub display_name: String,
}

/// What `run --prune` would do with a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunePreview {
    pub files: Vec<PrunedFile>,
    /// Files the journal holds, not pruned.
    pub journal_files: u64,
}

/// Row keys with the line that first used each.
pub struct KeySet {
    conn: Option<Connection>,
    dir: PathBuf,
    uncommitted: u32,
}

impl KeySet {
    /// A new, empty set in a fresh folder under [`std::env::temp_dir`].
    pub fn create() -> Result<KeySet, KeyError> {
        let dir = std::env::temp_dir().join(format!(
            "media-migrate-keys-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).map_err(|source| KeyError::Create {
            path: dir.clone(),
            source,
        })?;
        // From here on, Drop removes the folder whatever fails next.
        let mut set = KeySet {
            conn: None,
            dir,
            uncommitted: 0,
        };
        let path = set.dir.join("keys.sqlite");
        let conn = Connection::open(&path).map_err(|source| set.sql_error(source))?;
        // The database is scratch: no journal and no fsync, a crash just loses it.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA temp_store = FILE;
             CREATE TABLE keys (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID;
             BEGIN;",
        )
        .map_err(|source| set.sql_error(source))?;
        set.conn = Some(conn);
        Ok(set)
    }

    /// The folder the database lives in (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records that `line` uses `key`; returns the line of an earlier row with the same key.
    pub fn first_line(&mut self, key: &str, line: u64) -> Result<Option<u64>, KeyError> {
        let result = self.lookup_or_insert(key, line);
        result.map_err(|source| self.sql_error(source))
    }

    fn lookup_or_insert(&mut self, key: &str, line: u64) -> rusqlite::Result<Option<u64>> {
        let conn = self.conn.as_ref().expect("the connection lives until drop");
        let inserted = conn
            .prepare_cached("INSERT OR IGNORE INTO keys (key, line) VALUES (?1, ?2)")?
            .execute(params![key, line as i64])?;
        if inserted == 0 {
            let first: i64 = conn
                .prepare_cached("SELECT line FROM keys WHERE key = ?1")?
                .query_row(params![key], |r| r.get(0))?;
            return Ok(Some(first as u64));
        }
        self.uncommitted += 1;
        if self.uncommitted >= COMMIT_EVERY {
            conn.execute_batch("COMMIT; BEGIN;")?;
            self.uncommitted = 0;
        }
        Ok(None)
    }

    /// What `run --prune` would take from the journal at `journal`: the files it imported for
    /// keys not in this set (the rule of `Journal::prune_count`, with the set standing for the
    /// manifest), and the files it holds in all. Reads the journal only.
    pub fn prune_preview(&mut self, journal: &Path) -> Result<PrunePreview, KeyError> {
        let result = self.preview(journal);
        result.map_err(|source| KeyError::Journal {
            path: journal.to_path_buf(),
            source,
        })
    }

    fn preview(&mut self, journal: &Path) -> rusqlite::Result<PrunePreview> {
        let conn = self.conn.as_ref().expect("the connection lives until drop");
        conn.execute_batch("COMMIT;")?;
        self.uncommitted = 0;
        let uri = format!(
            "file:{}?mode=ro",
            url::form_urlencoded::byte_serialize(journal.to_string_lossy().as_bytes())
                .collect::<String>()
                .replace("%2F", "/")
        );
        conn.execute("ATTACH DATABASE ?1 AS journal", [uri])?;
        let read = (|| {
            let journal_files: i64 = conn.query_row(
                "SELECT COUNT(*) FROM journal.rows WHERE file_id IS NOT NULL AND prune_step IS NULL",
                [],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(
                "SELECT j.key, j.file_id, j.source, j.folder_path, j.display_name
                 FROM journal.rows j
                 WHERE j.file_id IS NOT NULL AND j.prune_step IS NULL AND j.origin != 'adopted'
                   AND j.state NOT IN ('sending', 'in_doubt')
                   AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.key = j.key)
                 ORDER BY j.line",
            )?;
            let files = stmt
                .query_map([], |r| {
                    Ok(PrunedFile {
                        key: r.get(0)?,
                        file_id: r.get(1)?,
                        source: r.get(2)?,
                        folder_path: r.get(3)?,
                        display_name: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(PrunePreview {
                files,
                journal_files: journal_files as u64,
            })
        })();
        conn.execute_batch("DETACH DATABASE journal; BEGIN;")?;
        read
    }

    fn sql_error(&self, source: rusqlite::Error) -> KeyError {
        KeyError::Sql {
            path: self.dir.join("keys.sqlite"),
            source,
        }
    }
}

impl Drop for KeySet {
    fn drop(&mut self) {
        // Close before removing, so the files can go on every platform.
        drop(self.conn.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key seen before answers with its first line; the folder goes away on drop.
    #[test]
    fn finds_duplicates_and_cleans_up() {
        let mut keys = KeySet::create().unwrap();
        let dir = keys.dir().to_path_buf();
        assert_eq!(keys.first_line("a", 2).unwrap(), None);
        assert_eq!(keys.first_line("b", 3).unwrap(), None);
        assert_eq!(keys.first_line("a", 4).unwrap(), Some(2));
        assert_eq!(keys.first_line("a", 5).unwrap(), Some(2));
        assert!(dir.exists());
        drop(keys);
        assert!(!dir.exists());
    }

    /// Commits along the way don't lose keys.
    #[test]
    fn survives_commits() {
        let mut keys = KeySet::create().unwrap();
        for i in 0..(COMMIT_EVERY as u64 + 10) {
            assert_eq!(keys.first_line(&format!("k{i}"), i).unwrap(), None);
        }
        assert_eq!(keys.first_line("k7", 99).unwrap(), Some(7));
    }
}
