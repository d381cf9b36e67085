//! Every manifest line of a run, in line order, for the reports: the run's rows merged with
//! its issues (invalid and duplicate lines). Streamed: memory does not grow with the manifest.

use rusqlite::params;

use super::rows::{COLUMNS, JournalRow};
use super::{Journal, JournalError};

/// One manifest line and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub enum LineItem {
    Row(Box<JournalRow>),
    Issue(Issue),
}

/// Why a line was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    Invalid,
    Duplicate,
    /// No source, skipped on request (`--skip-empty-source`).
    Skipped,
}

impl IssueKind {
    /// The name the journal stores (and the reports show).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Duplicate => "duplicate",
            Self::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "duplicate" => Self::Duplicate,
            "skipped" => Self::Skipped,
            _ => Self::Invalid,
        }
    }
}

/// A line that was not imported: invalid, a duplicate of an earlier line, or skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub line: u64,
    pub kind: IssueKind,
    pub key: Option<String>,
    pub field: Option<String>,
    pub reason: String,
    /// The line's fields as the manifest gave them (canonical names).
    pub raw: Vec<(String, String)>,
}

impl Issue {
    pub fn get(&self, field: &str) -> &str {
        self.raw
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl LineItem {
    pub fn line(&self) -> u64 {
        match self {
            Self::Row(r) => r.line,
            Self::Issue(i) => i.line,
        }
    }
}

impl Journal {
    /// Calls `f` for every line of run `run` in line order; stops at the first error of `f`.
    pub fn for_each_line<E: From<JournalError>>(
        &self,
        run: i64,
        mut f: impl FnMut(LineItem) -> Result<(), E>,
    ) -> Result<(), E> {
        let wrap = |e| E::from((self.wrap())(e));
        let run = self.rows_run(run)?;
        let mut rows_stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM rows WHERE seen_run = ?1 ORDER BY line"
            ))
            .map_err(wrap)?;
        let mut issues_stmt = self
            .conn
            .prepare("SELECT line, kind, key, field, reason, raw FROM issues WHERE run = ?1 ORDER BY line")
            .map_err(wrap)?;
        let mut rows = rows_stmt
            .query_map(params![run], JournalRow::from_row)
            .map_err(wrap)?
            .peekable();
        let mut issues = issues_stmt
            .query_map(params![run], |r| {
                let raw: String = r.get(5)?;
                Ok(Issue {
                    line: r.get::<_, i64>(0)? as u64,
                    kind: IssueKind::parse(&r.get::<_, String>(1)?),
                    key: r.get(2)?,
                    field: r.get(3)?,
                    reason: r.get(4)?,
                    raw: serde_json::from_str(&raw).unwrap_or_default(),
                })
            })
            .map_err(wrap)?
            .peekable();
        loop {
            let next_row = rows.peek().map(|r| r.as_ref().map_or(0, |r| r.line));
            let next_issue = issues.peek().map(|i| i.as_ref().map_or(0, |i| i.line));
            let item = match (next_row, next_issue) {
                (None, None) => return Ok(()),
                (Some(a), Some(b)) if b < a => {
                    LineItem::Issue(issues.next().expect("peeked").map_err(wrap)?)
                }
                (Some(_), _) => {
                    LineItem::Row(Box::new(rows.next().expect("peeked").map_err(wrap)?))
                }
                (None, Some(_)) => LineItem::Issue(issues.next().expect("peeked").map_err(wrap)?),
            };
            f(item)?;
        }
    }
}

/// Files of a run accepted and made ready in one minute (the report's timeline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteFiles {
    pub accepted: u64,
    pub ready: u64,
}

impl Journal {
    /// Per minute since `since_ms` (minute 0 starts there): the rows of run `run` accepted
    /// (`accepted_ms`) and the rows now ready by when they last changed (`updated_ms`, the
    /// answer that made them ready). Aggregated in SQLite: one entry a minute, not a row.
    pub fn files_per_minute(
        &self,
        run: i64,
        since_ms: i64,
    ) -> Result<Vec<MinuteFiles>, JournalError> {
        let wrap = self.wrap();
        let run = self.rows_run(run)?;
        let mut out: Vec<MinuteFiles> = Vec::new();
        for (sql, ready) in [
            (
                "SELECT (accepted_ms - ?2) / 60000, COUNT(*) FROM rows
                 WHERE seen_run = ?1 AND accepted_ms >= ?2 GROUP BY 1",
                false,
            ),
            (
                "SELECT (updated_ms - ?2) / 60000, COUNT(*) FROM rows
                 WHERE seen_run = ?1 AND state = 'ready' AND updated_ms >= ?2 GROUP BY 1",
                true,
            ),
        ] {
            let mut stmt = self.conn.prepare(sql).map_err(&wrap)?;
            let minutes = stmt
                .query_map(params![run, since_ms], |r| {
                    Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as u64))
                })
                .map_err(&wrap)?;
            for m in minutes {
                let (minute, n) = m.map_err(&wrap)?;
                if out.len() <= minute {
                    out.resize(minute + 1, MinuteFiles::default());
                }
                if ready {
                    out[minute].ready = n;
                } else {
                    out[minute].accepted = n;
                }
            }
        }
        Ok(out)
    }
}
