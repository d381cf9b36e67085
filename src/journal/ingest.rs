//! Reading a manifest into the journal. A read streams the manifest on one thread while this
//! one writes chunked transactions, so memory stays flat however long the manifest is. A
//! manifest unchanged since the last complete read (same bytes, format, column mapping, folder
//! and media-migrate version) is not read again: the new run adopts the rows that read left,
//! which is what makes resuming a run of millions of rows start at once.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::SyncSender;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::lines::IssueKind;
use super::{Journal, JournalError, sql_error};
use crate::manifest::{self, Entry, ManifestError, ManifestOptions, ManifestReader};

/// What reading a manifest into the journal found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestCounts {
    /// Manifest rows read (valid, duplicate and invalid).
    pub rows: u64,
    /// Valid rows the journal had not seen before.
    pub new: u64,
    /// Valid rows known from an earlier run.
    pub known: u64,
    pub duplicate: u64,
    pub invalid: u64,
    /// Rows without a source, skipped on request.
    pub skipped: u64,
    /// True when the manifest was unchanged since the last complete read, so its rows were
    /// taken from the journal instead of being read again.
    pub unchanged: bool,
}

/// Rows committed per transaction while ingesting.
const INGEST_CHUNK: usize = 20_000;

/// Entries handed from the reading thread to the writing one at a time.
const READ_AHEAD: usize = 1_024;

/// Sends `entries` in chunks until the first fatal error (sent too) or the receiver hangs up.
fn read_ahead<I>(entries: I, sender: &SyncSender<Vec<I::Item>>)
where
    I: Iterator<Item = Result<Entry, ManifestError>>,
{
    let mut chunk = Vec::with_capacity(READ_AHEAD);
    for entry in entries {
        let fatal = entry.is_err();
        chunk.push(entry);
        if chunk.len() == READ_AHEAD || fatal {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(READ_AHEAD));
            if sender.send(full).is_err() || fatal {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(chunk);
    }
}

/// Meta key of the last complete read: `<fingerprint> <run>`.
const LAST_READ: &str = "last_manifest_read";

impl Journal {
    /// Reads the manifest at `path` into the journal for run `run`, unless it is unchanged since
    /// the last complete read, in which case `run` adopts that read's rows and issues.
    pub fn ingest_manifest(
        &mut self,
        run: i64,
        path: &Path,
        options: &ManifestOptions,
    ) -> Result<IngestCounts, JournalError> {
        let reader = manifest::open(path, options).map_err(JournalError::Manifest)?;
        let fingerprint = fingerprint(path, options, &reader).map_err(JournalError::Manifest)?;
        let last = self.meta(LAST_READ)?;
        let earlier = last
            .as_deref()
            .and_then(|v| v.split_once(' '))
            .filter(|(f, _)| *f == fingerprint)
            .and_then(|(_, run)| run.parse::<i64>().ok());
        if let Some(earlier) = earlier {
            return self.adopt(run, earlier);
        }
        // A read that stops half-way must not be taken for a complete one by the next run.
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [LAST_READ])
            .map_err(self.wrap())?;
        let counts = self.ingest(run, reader)?;
        self.set_meta(LAST_READ, &format!("{fingerprint} {run}"))?;
        Ok(counts)
    }

    /// Run `run` takes the rows and issues of run `earlier`, whose manifest it shares.
    fn adopt(&mut self, run: i64, earlier: i64) -> Result<IngestCounts, JournalError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO runs (run, rows_run) VALUES (?1, ?2)",
                params![run, earlier],
            )
            .map_err(self.wrap())?;
        let count = |sql: &str| -> Result<u64, JournalError> {
            self.conn
                .query_row(sql, [earlier], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(self.wrap())
        };
        let known = count("SELECT COUNT(*) FROM rows WHERE seen_run = ?1")?;
        let issues = |kind: IssueKind| {
            self.conn
                .query_row(
                    "SELECT COUNT(*) FROM issues WHERE run = ?1 AND kind = ?2",
                    params![earlier, kind.as_str()],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(self.wrap())
        };
        let invalid = issues(IssueKind::Invalid)?;
        let duplicate = issues(IssueKind::Duplicate)?;
        let skipped = issues(IssueKind::Skipped)?;
        self.requeue_unsent_failures(earlier)?;
        Ok(IngestCounts {
            rows: known + invalid + duplicate + skipped,
            new: 0,
            known,
            duplicate,
            invalid,
            skipped,
            unchanged: true,
        })
    }

    /// The run whose manifest read holds the rows of run `run` (itself, unless it adopted).
    pub fn rows_run(&self, run: i64) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT rows_run FROM runs WHERE run = ?1", [run], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.wrap())?
            .unwrap_or(run))
    }

    /// Rows the target never took that failed in an earlier run get another chance.
    fn requeue_unsent_failures(&self, rows_run: i64) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE rows SET state = 'queued', attempts = 0, error_code = NULL, error_message = NULL
                 WHERE state = 'failed' AND file_id IS NULL AND seen_run = ?1",
                [rows_run],
            )
            .map_err(self.wrap())?;
        Ok(())
    }

    /// Reads a manifest into the journal for run `run`: the first read into an empty journal as
    /// one bulk load, later ones row by row in chunked transactions. A fatal manifest error
    /// stops the read, keeping what was read before it.
    ///
    /// Reading and validating cost about as much as journaling, so the manifest is read on a
    /// second thread while this one writes. Ingest commits with `synchronous = NORMAL`: a power
    /// cut can lose only its last chunks, which the next run reads again; the state
    /// transitions that guard against duplicates stay `FULL`.
    pub fn ingest<I>(&mut self, run: i64, entries: I) -> Result<IngestCounts, JournalError>
    where
        I: Iterator<Item = Result<Entry, ManifestError>> + Send,
    {
        // Checkpointing less often copies each hot index page to the database fewer times.
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .and_then(|()| self.conn.pragma_update(None, "wal_autocheckpoint", 16_384))
            .map_err(self.wrap())?;
        let counts = std::thread::scope(|scope| {
            let (sender, chunks) = std::sync::mpsc::sync_channel(4);
            scope.spawn(move || read_ahead(entries, &sender));
            self.ingest_entries(run, chunks.into_iter().flatten())
        });
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .and_then(|()| self.conn.pragma_update(None, "wal_autocheckpoint", 1_000))
            .map_err(self.wrap())?;
        counts
    }

    fn ingest_entries(
        &mut self,
        run: i64,
        entries: impl Iterator<Item = Result<Entry, ManifestError>>,
    ) -> Result<IngestCounts, JournalError> {
        if self.bulk_loadable()? {
            // Without the WAL, pages appended to a database write once, straight to the file;
            // a crash leaves a rollback journal that restores the empty journal on next open.
            self.conn
                .pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
                .map_err(self.wrap())?;
            let counts = self.bulk_load(run, entries);
            self.conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
                .map_err(self.wrap())?;
            let counts = counts?;
            self.requeue_unsent_failures(run)?;
            return Ok(counts);
        }
        let mut counts = IngestCounts::default();
        let mut entries = entries.peekable();
        let path = self.path.clone();
        while entries.peek().is_some() {
            let tx = self.conn.transaction().map_err(|e| sql_error(&path, e))?;
            let mut fatal = None;
            for _ in 0..INGEST_CHUNK {
                match entries.next() {
                    None => break,
                    Some(Err(e)) => {
                        fatal = Some(e);
                        break;
                    }
                    Some(Ok(entry)) => ingest_entry(&tx, run, entry, &mut counts)
                        .map_err(|e| sql_error(&path, e))?,
                }
            }
            tx.commit().map_err(|e| sql_error(&path, e))?;
            if let Some(e) = fatal {
                return Err(JournalError::Manifest(e));
            }
        }
        self.requeue_unsent_failures(run)?;
        Ok(counts)
    }
}

/// What decides the rows a manifest yields: its bytes, how they are read, the folder its
/// relative paths resolve against, and the rules of this version of media-migrate.
fn fingerprint(
    path: &Path,
    options: &ManifestOptions,
    reader: &ManifestReader,
) -> Result<String, ManifestError> {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    // Every option, format included, changes the rows a file yields.
    hasher.update(format!(
        "\0{:?}\0{:?}\0{}\0",
        reader.format(),
        options,
        reader.base_dir().display()
    ));
    let open_error = |source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(open_error)?;
    let mut buf = vec![0; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(open_error(e)),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

fn ingest_entry(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    entry: Entry,
    counts: &mut IngestCounts,
) -> rusqlite::Result<()> {
    counts.rows += 1;
    match entry {
        Entry::Invalid(bad) => {
            counts.invalid += 1;
            insert_invalid(tx, run, &bad)?;
        }
        Entry::Skipped(skipped) => {
            counts.skipped += 1;
            insert_skipped(tx, run, &skipped)?;
        }
        Entry::Valid(row) => {
            // Most rows are new: one insert finds that out; only a conflict needs a look.
            if insert_row(tx, INSERT_NEW_ROW, run, &row)? == 1 {
                counts.new += 1;
                return Ok(());
            }
            let (seen_run, first_line): (i64, i64) = tx
                .prepare_cached("SELECT seen_run, line FROM rows WHERE key = ?1")?
                .query_row([&row.key.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if seen_run == run {
                counts.duplicate += 1;
                let cells = row
                    .to_raw()
                    .0
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>();
                insert_duplicate(tx, run, row.line, &row.key.0, first_line, &cells)?;
            } else {
                counts.known += 1;
                tx.prepare_cached("UPDATE rows SET seen_run = ?2, line = ?3 WHERE key = ?1")?
                    .execute(params![row.key.0, run, row.line as i64])?;
            }
        }
    }
    Ok(())
}

mod bulk;
mod insert;

use self::insert::{INSERT_NEW_ROW, insert_duplicate, insert_invalid, insert_row, insert_skipped};

#[cfg(test)]
mod tests;
