//! `run --stage`: the object each local-file row was staged as. A row is recorded here before
//! its import is sent, so a run cut short between staging and import knows the object; an
//! object is deleted from the bucket (and marked so here) once every row staged as it is READY,
//! or once no row is staged as it any more (retired: the row's file changed).

use rusqlite::params;

use super::{Journal, JournalError, sql_error};

impl Journal {
    /// Records that each row `key` is staged as `object`, in one transaction. An earlier
    /// object of a row that no other row is staged as is retired, so it is still deleted; an
    /// object staged again is no longer retired.
    pub fn record_staged(&mut self, staged: &[(String, String)]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        for (key, object) in staged {
            tx.execute(
                "INSERT OR IGNORE INTO staged_retired (object)
                 SELECT s.object FROM staged s
                 WHERE s.key = ?1 AND s.object <> ?2 AND s.deleted = 0
                   AND NOT EXISTS (
                     SELECT 1 FROM staged o WHERE o.object = s.object AND o.key <> ?1)",
                params![key, object],
            )
            .map_err(sql)?;
            tx.execute("DELETE FROM staged_retired WHERE object = ?1", [object])
                .map_err(sql)?;
            tx.execute(
                "INSERT INTO staged (key, object, deleted) VALUES (?1, ?2, 0)
                 ON CONFLICT(key) DO UPDATE SET object = ?2, deleted = 0",
                params![key, object],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
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

    /// Staged objects not deleted yet whose rows are all READY, and retired ones.
    pub fn staged_done(&self) -> Result<Vec<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.object FROM staged s JOIN rows r ON r.key = s.key
                 WHERE s.deleted = 0
                 GROUP BY s.object
                 HAVING SUM(r.state <> 'ready') = 0
                 UNION SELECT object FROM staged_retired
                 ORDER BY 1",
            )
            .map_err(self.wrap())?;
        let objects = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.wrap())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.wrap())?;
        Ok(objects)
    }

    /// Marks `objects` deleted from the bucket, for every row staged as them, in one
    /// transaction.
    pub fn mark_staged_deleted(&mut self, objects: &[String]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        for object in objects {
            tx.execute("UPDATE staged SET deleted = 1 WHERE object = ?1", [object])
                .map_err(sql)?;
            tx.execute("DELETE FROM staged_retired WHERE object = ?1", [object])
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(j: &mut Journal, pairs: &[(&str, &str)]) {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, o)| (k.to_string(), o.to_string()))
            .collect();
        j.record_staged(&pairs).expect("recorded");
    }

    /// A row staged again under another object retires the old one (deleted at the end of the
    /// run) unless another row is still staged as it; an object staged again is not retired.
    #[test]
    fn an_object_no_row_holds_any_more_is_retired_for_deletion() {
        let dir = tempfile::tempdir().expect("dir");
        let mut j = Journal::open(&dir.path().join("j.sqlite")).expect("journal");
        stage(
            &mut j,
            &[("a", "p/1.png"), ("b", "p/2.png"), ("c", "p/2.png")],
        );
        assert_eq!(j.staged_done().unwrap(), Vec::<String>::new());
        // a's file changed: p/1.png is held by no row; c's changed: p/2.png is still b's.
        stage(&mut j, &[("a", "p/3.png"), ("c", "p/4.png")]);
        assert_eq!(j.staged_done().unwrap(), vec!["p/1.png".to_string()]);
        // c's file now has the bytes a's had, before the end of the run: p/1.png is held.
        stage(&mut j, &[("c", "p/1.png")]);
        assert_eq!(j.staged_done().unwrap(), vec!["p/4.png".to_string()]);
        j.mark_staged_deleted(&["p/4.png".to_string()]).unwrap();
        assert_eq!(j.staged_done().unwrap(), Vec::<String>::new());
        assert_eq!(j.staged_object("a").unwrap().as_deref(), Some("p/3.png"));
    }
}
