//! `run --stage`: the object each local-file row was staged as. A row is recorded here before
//! its import is sent, so a run cut short between staging and import knows the object; an
//! object is deleted from the bucket (and marked so here) once every row staged as it is READY.

use rusqlite::params;

use super::{Journal, JournalError};

impl Journal {
    /// Records that row `key` is staged as `object` (replacing an earlier object of the row).
    pub fn record_staged(&self, key: &str, object: &str) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO staged (key, object, deleted) VALUES (?1, ?2, 0)
                 ON CONFLICT(key) DO UPDATE SET object = ?2, deleted = 0",
                params![key, object],
            )
            .map_err(self.wrap())?;
        Ok(())
    }

    /// The object row `key` was staged as, if it was and the object is not deleted.
    pub fn staged_object(&self, key: &str) -> Result<Option<String>, JournalError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT object FROM staged WHERE key = ?1 AND deleted = 0",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.wrap())
    }

    /// Staged objects not deleted yet whose rows are all READY.
    pub fn staged_done(&self) -> Result<Vec<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.object FROM staged s JOIN rows r ON r.key = s.key
                 WHERE s.deleted = 0
                 GROUP BY s.object
                 HAVING SUM(r.state <> 'ready') = 0
                 ORDER BY s.object",
            )
            .map_err(self.wrap())?;
        let objects = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.wrap())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.wrap())?;
        Ok(objects)
    }

    /// Marks `object` deleted from the bucket, for every row staged as it.
    pub fn mark_staged_deleted(&self, object: &str) -> Result<(), JournalError> {
        self.conn
            .execute("UPDATE staged SET deleted = 1 WHERE object = ?1", [object])
            .map_err(self.wrap())?;
        Ok(())
    }
}
