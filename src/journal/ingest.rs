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
    /// Known keys whose source, folder or name changed: imported again as new files.
    pub updated: u64,
    /// Manifest rows this run read from the file: all of them, none when it was unchanged,
    /// or those of the tail appended since the last read.
    pub rows_read: u64,
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

/// Meta key of the last complete read, a [`ReadMark`] as JSON.
const LAST_READ: &str = "last_manifest_read";

/// Where the last complete read of a manifest ended: what a later read needs to tell an
/// unchanged manifest (read nothing) or one that only grew at its end (read the tail) from
/// any other (read it whole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ReadMark {
    /// SHA-256 of how the file was read ([`read_fingerprint`]).
    pub reading: String,
    /// Bytes read: the file's length when the read began.
    pub bytes: u64,
    /// SHA-256 of those bytes.
    pub sha256: String,
    /// Manifest rows read from them.
    pub rows: u64,
    /// The line the next byte starts (1 + the newlines read).
    pub next_line: u64,
    /// Whether the bytes end with a newline: only then can a tail begin where they end.
    pub whole_lines: bool,
    /// The run whose rows the read's rows are.
    pub run: i64,
}

/// What hashing a file's first bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrefixHash {
    /// SHA-256 of the first `at` bytes (the earlier read's), when the file is that long.
    pub at_mark: Option<String>,
    /// SHA-256 of the first `len` bytes.
    pub whole: String,
    /// Newlines in bytes `at..len` (in all `len` bytes when `at` is 0).
    pub newlines_after_mark: u64,
    pub last_byte: Option<u8>,
}

/// Hashes the first `len` bytes of `file` in one pass, noting the hash at `at` on the way
/// and counting the newlines past it.
pub(crate) fn hash_prefix(file: impl Read, at: u64, len: u64) -> std::io::Result<PrefixHash> {
    let mut hasher = Sha256::new();
    let mut input = file.take(len);
    let mut buf = vec![0; 1 << 20];
    let (mut pos, mut at_mark, mut newlines, mut last_byte) = (0u64, None, 0u64, None);
    if at == 0 {
        at_mark = Some(hex::encode(hasher.clone().finalize()));
    }
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        // The part of the chunk before the mark, then the part after it.
        let split = if pos < at {
            (at - pos).min(n as u64) as usize
        } else {
            0
        };
        hasher.update(&chunk[..split]);
        if split > 0 && pos + split as u64 == at {
            at_mark = Some(hex::encode(hasher.clone().finalize()));
        }
        let after = &chunk[split..];
        hasher.update(after);
        newlines += after.iter().filter(|b| **b == b'\n').count() as u64;
        last_byte = chunk.last().copied().or(last_byte);
        pos += n as u64;
    }
    if pos < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file shrank while it was read",
        ));
    }
    Ok(PrefixHash {
        at_mark,
        whole: hex::encode(hasher.finalize()),
        newlines_after_mark: newlines,
        last_byte,
    })
}

/// How the manifest's bytes will be read into the journal, when its last complete read is
/// `mark` and it holds `len` bytes hashing as `hash` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadPlan {
    /// The same bytes as last time: take that read's rows.
    Unchanged,
    /// The last read's bytes, then more: read only from where it ended.
    Tail,
    /// Anything else.
    Whole,
}

pub(crate) fn read_plan(
    mark: Option<&ReadMark>,
    reading: &str,
    len: u64,
    hash: &PrefixHash,
) -> ReadPlan {
    let Some(mark) = mark.filter(|m| m.reading == reading) else {
        return ReadPlan::Whole;
    };
    if len < mark.bytes || hash.at_mark.as_deref() != Some(mark.sha256.as_str()) {
        return ReadPlan::Whole;
    }
    if len == mark.bytes {
        ReadPlan::Unchanged
    } else if mark.whole_lines {
        ReadPlan::Tail
    } else {
        ReadPlan::Whole
    }
}

impl Journal {
    /// Reads the manifest at `path` into the journal for run `run`: nothing when it is
    /// unchanged since the last complete read (`run` adopts that read's rows and issues),
    /// only its new end when it grew by appending (the rows read join that read's run), else
    /// all of it.
    pub fn ingest_manifest(
        &mut self,
        run: i64,
        path: &Path,
        options: &ManifestOptions,
    ) -> Result<IngestCounts, JournalError> {
        let open_error = |source| {
            JournalError::Manifest(ManifestError::Open {
                path: path.to_path_buf(),
                source,
            })
        };
        let probe = manifest::open(path, options).map_err(JournalError::Manifest)?;
        let reading = read_fingerprint(options, &probe);
        let tail_ok = manifest::tail_readable(probe.format(), options);
        drop(probe);
        let mark: Option<ReadMark> = self
            .meta(LAST_READ)?
            .and_then(|v| serde_json::from_str(&v).ok());
        let file = std::fs::File::open(path).map_err(open_error)?;
        let len = file.metadata().map_err(open_error)?.len();
        let at = mark
            .as_ref()
            .filter(|m| m.reading == reading && m.bytes <= len)
            .map_or(0, |m| m.bytes);
        let hash = hash_prefix(file, at, len).map_err(open_error)?;
        let plan = read_plan(mark.as_ref(), &reading, len, &hash);
        if let (ReadPlan::Unchanged, Some(mark)) = (plan, &mark) {
            return self.adopt(run, mark.run);
        }
        // A read that stops half-way must not be taken for a complete one by the next run.
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [LAST_READ])
            .map_err(self.wrap())?;
        let whole_lines = hash.last_byte.is_none_or(|b| b == b'\n');
        if let (ReadPlan::Tail, Some(mark), true) = (plan, &mark, tail_ok) {
            let span = manifest::Span {
                start: mark.bytes,
                end: len,
                first_line: mark.next_line,
            };
            if let Some(reader) =
                manifest::open_tail(path, options, span).map_err(JournalError::Manifest)?
            {
                let tail = self.ingest_tail(run, mark.run, reader)?;
                let counts = self.counts_of(mark.run, &tail)?;
                self.set_read_mark(&ReadMark {
                    reading,
                    bytes: len,
                    sha256: hash.whole,
                    rows: mark.rows + tail.rows,
                    next_line: mark.next_line + hash.newlines_after_mark,
                    whole_lines,
                    run: mark.run,
                })?;
                return Ok(counts);
            }
        }
        let reader = manifest::open_prefix(path, options, len).map_err(JournalError::Manifest)?;
        let mut counts = self.ingest(run, reader)?;
        counts.rows_read = counts.rows;
        let newlines = if at == 0 {
            hash.newlines_after_mark
        } else {
            // The newlines before the mark were not counted: count them all.
            let file = std::fs::File::open(path).map_err(open_error)?;
            hash_prefix(file, 0, len)
                .map_err(open_error)?
                .newlines_after_mark
        };
        self.set_read_mark(&ReadMark {
            reading,
            bytes: len,
            sha256: hash.whole,
            rows: counts.rows,
            next_line: 1 + newlines,
            whole_lines,
            run,
        })?;
        Ok(counts)
    }

    fn set_read_mark(&self, mark: &ReadMark) -> Result<(), JournalError> {
        self.set_meta(
            LAST_READ,
            &serde_json::to_string(mark).expect("a mark serialises"),
        )
    }

    /// Reads a manifest's new tail into the rows of run `rows_run` (whose read it continues);
    /// run `run` takes that read's rows.
    fn ingest_tail(
        &mut self,
        run: i64,
        rows_run: i64,
        reader: ManifestReader,
    ) -> Result<IngestCounts, JournalError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO runs (run, rows_run) VALUES (?1, ?2)",
                params![run, rows_run],
            )
            .map_err(self.wrap())?;
        self.ingest(rows_run, reader)
    }

    /// Run `run` takes the rows and issues of run `earlier`, whose manifest it shares.
    fn adopt(&mut self, run: i64, earlier: i64) -> Result<IngestCounts, JournalError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO runs (run, rows_run) VALUES (?1, ?2)",
                params![run, earlier],
            )
            .map_err(self.wrap())?;
        let mut counts = self.counts_of(earlier, &IngestCounts::default())?;
        counts.unchanged = true;
        Ok(counts)
    }

    /// The counts of the rows and issues of run `rows_run`, of which `read` were read now
    /// (the rest known from an earlier read); rows that failed before the target took them
    /// get another chance.
    fn counts_of(&self, rows_run: i64, read: &IngestCounts) -> Result<IngestCounts, JournalError> {
        let earlier = rows_run;
        let count = |sql: &str| -> Result<u64, JournalError> {
            self.conn
                .query_row(sql, [earlier], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(self.wrap())
        };
        let valid = count("SELECT COUNT(*) FROM rows WHERE seen_run = ?1")?;
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
            rows: valid + invalid + duplicate + skipped,
            new: read.new,
            known: valid.saturating_sub(read.new),
            duplicate,
            invalid,
            skipped,
            updated: read.updated,
            rows_read: read.rows,
            unchanged: false,
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

    /// Turns the journal to `mode`; false when another connection's open read keeps it as it
    /// is (SQLite refuses to switch then, without waiting: a progress script or `sqlite3`
    /// reading the journal must never stop a run).
    fn set_journal_mode(&self, mode: &str) -> Result<bool, JournalError> {
        let set = self
            .conn
            .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| {
                r.get::<_, String>(0)
            });
        match set {
            Ok(now) => Ok(now.eq_ignore_ascii_case(mode)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(sql_error(&self.path, e)),
        }
    }

    fn ingest_entries(
        &mut self,
        run: i64,
        entries: impl Iterator<Item = Result<Entry, ManifestError>>,
    ) -> Result<IngestCounts, JournalError> {
        // Without the WAL, pages appended to a database write once, straight to the file; a
        // crash leaves a rollback journal that restores the empty journal on next open.
        let bulk = self.bulk_loadable()?;
        if bulk && !self.set_journal_mode("delete")? {
            tracing::info!(
                journal = %self.path.display(),
                "another process is reading the journal: the manifest is read row by row"
            );
        } else if bulk {
            let counts = self.bulk_load(run, entries);
            // Each try waits out a reader's lock for the busy timeout.
            let mut back = false;
            for _ in 0..3 {
                if self.set_journal_mode("wal")? {
                    back = true;
                    break;
                }
            }
            if !back {
                // Still whole and crash-safe in rollback mode; the next open turns it to WAL.
                tracing::warn!(
                    journal = %self.path.display(),
                    "another process holds the journal open: it stays in rollback mode for this run"
                );
            }
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

/// How a manifest is read, which with its bytes decides the rows it yields: the format, every
/// option, the folder its relative paths resolve against, and this version's rules.
fn read_fingerprint(options: &ManifestOptions, reader: &ManifestReader) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update(format!(
        "\0{:?}\0{:?}\0{}\0",
        reader.format(),
        options,
        reader.base_dir().display()
    ));
    hex::encode(hasher.finalize())
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
            known::record_known(tx, run, &row, counts)?;
        }
    }
    Ok(())
}

mod bulk;
mod insert;
mod known;

use self::insert::{INSERT_NEW_ROW, insert_invalid, insert_row, insert_skipped};

#[cfg(test)]
mod tests;
