//! Tests of reading manifests into the journal: bulk load, incremental ingest, adoption of an
//! unchanged manifest, duplicates and invalid lines.

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

/// Every line as the report sees it: (line, what, detail).
fn accounts(journal: &Journal, run: i64) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    journal
        .for_each_line(run, |item| -> Result<(), JournalError> {
            out.push(match item {
                crate::journal::lines::LineItem::Row(r) => {
                    (r.line, r.key.clone(), r.manifest_cells().join(","))
                }
                crate::journal::lines::LineItem::Issue(i) => (
                    i.line,
                    format!("{} {}", i.kind.as_str(), i.reason),
                    format!("{:?}", i.raw),
                ),
            });
            Ok(())
        })
        .expect("lines");
    out
}

#[test]
fn a_bulk_load_accounts_for_lines_as_a_row_by_row_read_does() {
    let text = "source,folder_path,labels\nhttps://a.example/1.jpg,/x,a|b\nhttps://a.example/2.jpg,/x,\n\
                    https://a.example/1.jpg,/x,c\nftp://nope,/x,\nhttps://a.example/2.jpg,/x,d\nhttps://a.example/1.jpg,/x,e\n";
    let (dir, manifest, mut bulk) = setup(text, "m.csv");
    let options = ManifestOptions::default();
    assert!(bulk.bulk_loadable().expect("query"));
    let run = bulk.begin_run().expect("run");
    let bulk_counts = bulk
        .ingest_manifest(run, &manifest, &options)
        .expect("bulk");
    assert_eq!(
        (bulk_counts.new, bulk_counts.duplicate, bulk_counts.invalid),
        (2, 3, 1)
    );

    // The same manifest into a journal that already holds a row is read row by row.
    let mut rowwise = Journal::open(&dir.path().join("rowwise.sqlite")).expect("journal");
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "source\nhttps://b.example/0.jpg\n").expect("write");
    let first = rowwise.begin_run().expect("run");
    rowwise
        .ingest_manifest(first, &other, &options)
        .expect("seed");
    assert!(!rowwise.bulk_loadable().expect("query"));
    let second = rowwise.begin_run().expect("run");
    let rowwise_counts = rowwise
        .ingest_manifest(second, &manifest, &options)
        .expect("rowwise");
    assert_eq!(rowwise_counts, bulk_counts);
    let lines = accounts(&bulk, run);
    assert_eq!(lines.len(), 6);
    assert_eq!(lines, accounts(&rowwise, second));
    assert!(
        lines[2].1.starts_with("duplicate duplicate of line 2"),
        "{lines:?}"
    );
    assert!(
        lines[2].2.contains("\"c\""),
        "the duplicate's own fields: {lines:?}"
    );
    // The index a bulk load rebuilt guards against a second copy of a key.
    let again = bulk.conn.execute(
            "INSERT INTO rows (key, line, source, is_file, folder_path, display_name, labels, private, state, seen_run, updated_ms)
             SELECT key, 99, source, is_file, folder_path, display_name, labels, private, state, seen_run, updated_ms FROM rows LIMIT 1",
            [],
        );
    assert!(again.is_err(), "a repeated key must be refused");
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

mod read_marks {
    use crate::journal::ingest::{ReadMark, ReadPlan, hash_prefix, read_plan};

    fn mark_of(bytes: &[u8]) -> ReadMark {
        let h = hash_prefix(bytes, 0, bytes.len() as u64).expect("hash");
        ReadMark {
            reading: "r".into(),
            bytes: bytes.len() as u64,
            sha256: h.whole,
            rows: 2,
            next_line: 1 + h.newlines_after_mark,
            whole_lines: h.last_byte.is_none_or(|b| b == b'\n'),
            run: 1,
        }
    }

    fn plan(mark: &ReadMark, now: &[u8]) -> ReadPlan {
        let h = hash_prefix(now, mark.bytes.min(now.len() as u64), now.len() as u64).expect("hash");
        read_plan(Some(mark), "r", now.len() as u64, &h)
    }

    /// The hash at the mark equals the hash of the prefix alone; newlines past it are counted.
    #[test]
    fn prefix_hash_is_the_hash_of_the_prefix() {
        let whole = b"h\na\nb\nc\n";
        let h = hash_prefix(&whole[..], 4, whole.len() as u64).expect("hash");
        let prefix = hash_prefix(&whole[..4], 0, 4).expect("hash");
        assert_eq!(h.at_mark.as_deref(), Some(prefix.whole.as_str()));
        assert_eq!(h.newlines_after_mark, 2);
        assert_eq!(prefix.newlines_after_mark, 2);
        assert!(
            hash_prefix(&whole[..], 0, 100).is_err(),
            "a file shorter than said"
        );
    }

    /// Same bytes: unchanged; more after them: a tail; an edit before the end, a shorter file,
    /// another way of reading or a mark cut mid-line: whole.
    #[test]
    fn read_plans() {
        let mark = mark_of(b"h\na\nb\n");
        assert_eq!(plan(&mark, b"h\na\nb\n"), ReadPlan::Unchanged);
        assert_eq!(plan(&mark, b"h\na\nb\nc\n"), ReadPlan::Tail);
        assert_eq!(plan(&mark, b"h\nA\nb\nc\n"), ReadPlan::Whole);
        assert_eq!(plan(&mark, b"h\na\n"), ReadPlan::Whole);
        let h = hash_prefix(&b"h\na\nb\n"[..], 6, 6).expect("hash");
        assert_eq!(read_plan(Some(&mark), "other", 6, &h), ReadPlan::Whole);
        assert_eq!(read_plan(None, "r", 6, &h), ReadPlan::Whole);
        let cut = mark_of(b"h\na\nb");
        assert!(!cut.whole_lines);
        assert_eq!(
            plan(&cut, b"h\na\nbc\n"),
            ReadPlan::Whole,
            "the last line grew"
        );
    }
}

/// Another process reading the journal (a progress script, `sqlite3`) while the first read
/// loads it: the journal can't leave WAL for the bulk load, so the rows are read one by one
/// instead — never a "database is locked" that stops the run.
#[test]
fn a_reader_holding_the_journal_open_never_fails_the_first_read() {
    let (dir, manifest, mut journal) = setup(CSV, "m.csv");
    let reader = rusqlite::Connection::open_with_flags(
        dir.path().join("j.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("reader");
    reader.execute_batch("BEGIN").expect("begin");
    let _: i64 = reader
        .query_row("SELECT COUNT(*) FROM rows", [], |r| r.get(0))
        .expect("a read holding its snapshot");
    let run = journal.begin_run().expect("run");
    let read = journal
        .ingest_manifest(run, &manifest, &ManifestOptions::default())
        .expect("read while another reads");
    assert_eq!((read.new, read.invalid, read.duplicate), (2, 1, 1));
    reader.execute_batch("COMMIT").expect("end the read");
    let mode: String = journal
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}
