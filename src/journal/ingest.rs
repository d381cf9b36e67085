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

use super::{Journal, JournalError, now_ms, sql_error};
use crate::manifest::{
    self, Entry, ManifestError, ManifestOptions, ManifestReader, ManifestRow, Source,
};

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
        let invalid = count("SELECT COUNT(*) FROM issues WHERE run = ?1 AND kind = 'invalid'")?;
        let duplicate = count("SELECT COUNT(*) FROM issues WHERE run = ?1 AND kind = 'duplicate'")?;
        self.requeue_unsent_failures(earlier)?;
        Ok(IngestCounts {
            rows: known + invalid + duplicate,
            new: 0,
            known,
            duplicate,
            invalid,
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

    /// Reads a manifest into the journal for run `run`, in chunked transactions. A fatal
    /// manifest error stops the read, keeping what was committed before it.
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
    hasher.update(format!(
        "\0{:?}\0{:?}\0{}\0",
        reader.format(),
        options.columns,
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
            tx.prepare_cached(
                "INSERT OR REPLACE INTO issues (run, line, kind, field, reason, raw) VALUES (?1, ?2, 'invalid', ?3, ?4, ?5)",
            )?
            .execute(params![run, bad.line as i64, bad.field, bad.reason, raw_json(&bad.raw.0)],
            )?;
        }
        Entry::Valid(row) => {
            // Most rows are new: one insert finds that out; only a conflict needs a look.
            if insert_row(tx, run, &row)? == 1 {
                counts.new += 1;
                return Ok(());
            }
            let (seen_run, first_line): (i64, i64) = tx
                .prepare_cached("SELECT seen_run, line FROM rows WHERE key = ?1")?
                .query_row([&row.key.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if seen_run == run {
                counts.duplicate += 1;
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO issues (run, line, kind, key, reason, raw) VALUES (?1, ?2, 'duplicate', ?3, ?4, ?5)",
                )?
                .execute(params![run, row.line as i64, row.key.0, format!("duplicate of line {first_line}"), raw_json(&row.to_raw().0)])?;
            } else {
                counts.known += 1;
                tx.prepare_cached("UPDATE rows SET seen_run = ?2, line = ?3 WHERE key = ?1")?
                    .execute(params![row.key.0, run, row.line as i64])?;
            }
        }
    }
    Ok(())
}

/// Inserts `row` unless its key is known; returns the number of rows inserted (0 or 1).
fn insert_row(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    row: &ManifestRow,
) -> rusqlite::Result<usize> {
    let (source, is_file) = match &row.source {
        Source::Url(u) => (u.to_string(), false),
        Source::File(p) => (p.to_string_lossy().into_owned(), true),
    };
    tx.prepare_cached(
        "INSERT INTO rows (key, line, source, is_file, folder_path, display_name, mime_type, media_type, labels,
             private, external_id, expected_size, expected_md5, state, seen_run, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'queued', ?14, ?15)
         ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![
        row.key.0,
        row.line as i64,
        source,
        is_file,
        row.folder_path,
        row.display_name,
        row.mime_type,
        row.media_type.map(|t| t.as_str()),
        serde_json::to_string(&row.labels).expect("labels serialise"),
        row.private,
        row.external_id,
        row.expected_size.map(|s| s as i64),
        row.expected_md5,
        run,
        now_ms(),
    ])
}

fn raw_json(raw: &[(String, String)]) -> String {
    serde_json::to_string(raw).expect("strings serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RowState;
    use crate::manifest::Field;

    const CSV: &str = "source,folder_path\nhttps://a.example/1.jpg,/x\nhttps://a.example/2.jpg,/x\nnot a url,/x\nhttps://a.example/1.jpg,/x\n";

    fn lines(journal: &Journal, run: i64) -> Vec<u64> {
        let mut lines = Vec::new();
        journal
            .for_each_line(run, |item| -> Result<(), JournalError> {
                lines.push(item.line());
                Ok(())
            })
            .expect("lines");
        lines
    }

    fn setup(text: &str, name: &str) -> (tempfile::TempDir, std::path::PathBuf, Journal) {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = dir.path().join(name);
        std::fs::write(&manifest, text).expect("write manifest");
        let journal = Journal::open(&dir.path().join("j.sqlite")).expect("journal");
        (dir, manifest, journal)
    }

    #[test]
    fn an_unchanged_manifest_is_adopted_not_read_again() {
        let (_dir, manifest, mut journal) = setup(CSV, "m.csv");
        let options = ManifestOptions::default();
        let first = journal.begin_run().expect("run");
        let read = journal
            .ingest_manifest(first, &manifest, &options)
            .expect("read");
        assert_eq!((read.new, read.invalid, read.duplicate), (2, 1, 1));
        assert!(!read.unchanged);

        let second = journal.begin_run().expect("run");
        let adopted = journal
            .ingest_manifest(second, &manifest, &options)
            .expect("adopt");
        assert!(adopted.unchanged);
        assert_eq!(
            (adopted.rows, adopted.known, adopted.new),
            (read.rows, 2, 0)
        );
        assert_eq!(adopted.invalid, read.invalid);
        assert_eq!(adopted.duplicate, read.duplicate);
        assert_eq!(lines(&journal, second), vec![2, 3, 4, 5]);
        assert_eq!(lines(&journal, second), lines(&journal, first));
        let counts = journal.state_counts(Some(second)).expect("counts");
        assert_eq!(counts.get(&RowState::Queued), Some(&2));
    }

    #[test]
    fn a_changed_manifest_or_mapping_is_read_again() {
        let (_dir, manifest, mut journal) = setup(CSV, "m.csv");
        let options = ManifestOptions::default();
        let run = journal.begin_run().expect("run");
        journal
            .ingest_manifest(run, &manifest, &options)
            .expect("read");

        let mut text = CSV.to_string();
        text.push_str("https://a.example/3.jpg,/y\n");
        std::fs::write(&manifest, text).expect("grow");
        let run = journal.begin_run().expect("run");
        let grown = journal
            .ingest_manifest(run, &manifest, &options)
            .expect("read");
        assert!(!grown.unchanged);
        assert_eq!((grown.new, grown.known), (1, 2));

        let mut mapped = ManifestOptions::default();
        mapped.columns.insert(Field::DISPLAY_NAME, "folder_path");
        let run = journal.begin_run().expect("run");
        let remapped = journal
            .ingest_manifest(run, &manifest, &mapped)
            .expect("read");
        assert!(
            !remapped.unchanged,
            "another column mapping must read again"
        );
    }

    #[test]
    fn a_read_cut_short_is_not_taken_for_a_complete_one() {
        let broken = "[{\"source\": \"https://a.example/1.jpg\"}, {\"source\": ";
        let (_dir, manifest, mut journal) = setup(broken, "m.json");
        let options = ManifestOptions::default();
        for _ in 0..2 {
            let run = journal.begin_run().expect("run");
            let err = journal
                .ingest_manifest(run, &manifest, &options)
                .expect_err("a broken array is fatal");
            assert!(matches!(err, JournalError::Manifest(_)), "{err:?}");
        }
        assert_eq!(journal.meta(LAST_READ).expect("meta"), None);
    }
}
