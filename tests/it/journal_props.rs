//! Property tests of the journal's row state machine: any sequence of ingests, sends,
//! outcomes, dead-send doubts, readiness polls and new runs keeps every row in exactly one
//! state, one item per manifest line in line order, each file id on at most one row, and no
//! queued row past its attempts.

use std::collections::{HashMap, HashSet};

use media_migrate::journal::lines::LineItem;
use media_migrate::journal::{FileFacts, Journal, JournalError, JournalRow, Outcome, RowState};
use media_migrate::manifest::{Entry, InvalidRow, ManifestRow, RawRow, RowKey, Source};
use proptest::prelude::*;
use wix_media_wire::types::OperationStatus;

/// A manifest line: a valid row with one of a few keys (so duplicates occur), or invalid.
#[derive(Debug, Clone)]
enum LineSpec {
    Valid(u8),
    Invalid,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Accepted,
    Retry,
    Failed,
    InDoubt,
    FileMissing,
}

#[derive(Debug, Clone)]
enum Op {
    /// Marks the chosen queued rows `sending`.
    MarkSending(Vec<prop::sample::Index>),
    /// Applies outcomes to the chosen sending or in-doubt rows; `reuse` gives an accepted
    /// row a file id another row already holds.
    Apply(Vec<(prop::sample::Index, Kind, bool)>),
    DoubtDeadSends,
    /// Polls the chosen issued file ids: READY, FAILED or PENDING.
    RecordFiles(Vec<(prop::sample::Index, u8)>),
    /// A new run re-ingests the same manifest.
    NewRun,
}

fn op() -> impl Strategy<Value = Op> {
    let index = any::<prop::sample::Index>;
    let kind = prop_oneof![
        Just(Kind::Accepted),
        Just(Kind::Retry),
        Just(Kind::Failed),
        Just(Kind::InDoubt),
        Just(Kind::FileMissing),
    ];
    prop_oneof![
        3 => prop::collection::vec(index(), 0..6).prop_map(Op::MarkSending),
        3 => prop::collection::vec((index(), kind, prop::bool::weighted(0.2)), 0..6).prop_map(Op::Apply),
        1 => Just(Op::DoubtDeadSends),
        2 => prop::collection::vec((index(), 0..3u8), 0..4).prop_map(Op::RecordFiles),
        1 => Just(Op::NewRun),
    ]
}

fn entry(line: u64, spec: &LineSpec) -> Entry {
    match spec {
        LineSpec::Valid(k) => Entry::Valid(ManifestRow {
            line,
            key: RowKey(format!("key-{k}")),
            source: Source::Url(format!("https://x.test/{k}.jpg").parse().expect("url")),
            folder_path: String::new(),
            display_name: format!("{k}.jpg"),
            mime_type: None,
            media_type: None,
            labels: vec![],
            private: false,
            external_id: None,
            expected_size: None,
            expected_md5: None,
        }),
        LineSpec::Invalid => Entry::Invalid(InvalidRow {
            line,
            field: "source".into(),
            reason: "required".into(),
            raw: RawRow::default(),
        }),
    }
}

fn ingest(journal: &mut Journal, manifest: &[LineSpec]) -> i64 {
    let run = journal.begin_run().expect("run");
    let entries = manifest
        .iter()
        .enumerate()
        .map(|(i, s)| Ok(entry(i as u64 + 2, s)));
    journal.ingest(run, entries).expect("ingest");
    run
}

/// The rows of `run` via `for_each_line`, checking one item per manifest line, in order.
fn lines(journal: &Journal, run: i64, manifest_len: usize) -> Vec<JournalRow> {
    let mut seen = Vec::new();
    let mut rows = Vec::new();
    journal
        .for_each_line(run, |item| {
            seen.push(item.line());
            if let LineItem::Row(row) = item {
                rows.push(*row);
            }
            Ok::<_, JournalError>(())
        })
        .expect("lines");
    let expected: Vec<u64> = (2..manifest_len as u64 + 2).collect();
    assert_eq!(seen, expected, "one item per manifest line, in order");
    rows
}

fn check(journal: &Journal, run: i64, manifest: &[LineSpec], max_attempts: u32) -> Vec<JournalRow> {
    let rows = lines(journal, run, manifest.len());
    let keys: HashSet<u8> = manifest
        .iter()
        .filter_map(|s| match s {
            LineSpec::Valid(k) => Some(*k),
            LineSpec::Invalid => None,
        })
        .collect();
    assert_eq!(rows.len(), keys.len(), "one row per distinct key");
    let counts = journal.state_counts(Some(run)).expect("counts");
    assert_eq!(counts.values().sum::<u64>(), rows.len() as u64);
    for row in &rows {
        assert!(counts.get(&row.state).is_some_and(|n| *n > 0));
    }
    let all = journal.state_counts(None).expect("counts");
    assert_eq!(all.values().sum::<u64>(), rows.len() as u64);
    let mut holders = HashMap::new();
    for row in &rows {
        if let Some(id) = &row.file_id {
            let other = holders.insert(id.clone(), row.key.clone());
            assert!(
                other.is_none(),
                "file {id} held by {other:?} and {}",
                row.key
            );
        }
        if row.state == RowState::Queued {
            assert!(row.attempts <= max_attempts, "{row:?}");
        }
    }
    rows
}

fn pick<'a>(
    rows: &'a [JournalRow],
    states: &[RowState],
    index: &prop::sample::Index,
) -> Option<&'a JournalRow> {
    let eligible: Vec<&JournalRow> = rows.iter().filter(|r| states.contains(&r.state)).collect();
    (!eligible.is_empty()).then(|| eligible[index.index(eligible.len())])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of operations keeps the journal's invariants.
    #[test]
    fn journal_invariants_hold(
        manifest in prop::collection::vec(
            prop_oneof![4 => (0..6u8).prop_map(LineSpec::Valid), 1 => Just(LineSpec::Invalid)],
            1..10,
        ),
        ops in prop::collection::vec(op(), 1..16),
        max_attempts in 1..4u32,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(&dir.path().join("j.db")).expect("journal");
        let mut run = ingest(&mut journal, &manifest);
        let mut issued: Vec<String> = Vec::new();
        let mut batch = 0;
        let mut rows = check(&journal, run, &manifest, max_attempts);
        for op in ops {
            match op {
                Op::MarkSending(picks) => {
                    let mut keys: Vec<String> = picks
                        .iter()
                        .filter_map(|i| pick(&rows, &[RowState::Queued], i))
                        .map(|r| r.key.clone())
                        .collect();
                    keys.sort();
                    keys.dedup();
                    batch += 1;
                    journal.mark_sending(&keys, batch, None).expect("mark sending");
                }
                Op::Apply(picks) => {
                    let live = [RowState::Sending, RowState::InDoubt];
                    let mut reused = false;
                    let outcomes: Vec<Outcome> = picks
                        .iter()
                        .filter_map(|(i, kind, reuse)| {
                            let key = pick(&rows, &live, i)?.key.clone();
                            Some(match kind {
                                Kind::Accepted => {
                                    let file_id = match issued.first() {
                                        Some(id) if *reuse => {
                                            reused = true;
                                            id.clone()
                                        }
                                        _ => format!("file-{}", issued.len()),
                                    };
                                    if !issued.contains(&file_id) {
                                        issued.push(file_id.clone());
                                    }
                                    let file = FileFacts {
                                        file_id,
                                        operation_status: OperationStatus::Pending,
                                        ..FileFacts::default()
                                    };
                                    Outcome::Accepted { key, file }
                                }
                                Kind::Retry => Outcome::Retry { key, code: "503".into(), message: "busy".into() },
                                Kind::Failed => Outcome::Failed { key, code: "400".into(), message: "bad".into() },
                                Kind::InDoubt => Outcome::InDoubt { key },
                                Kind::FileMissing => Outcome::FileMissing {
                                    file_id: issued.get(i.index(issued.len() + 1)).cloned().unwrap_or_default(),
                                },
                            })
                        })
                        .collect();
                    let applied = journal.apply(&outcomes, max_attempts);
                    // Giving a held file id to a second row is refused whole by the UNIQUE index.
                    prop_assert!(applied.is_ok() || reused, "{applied:?}");
                }
                Op::DoubtDeadSends => {
                    journal.doubt_dead_sends().expect("doubt");
                }
                Op::RecordFiles(polls) => {
                    let files: Vec<FileFacts> = polls
                        .iter()
                        .filter(|_| !issued.is_empty())
                        .map(|(i, status)| FileFacts {
                            file_id: issued[i.index(issued.len())].clone(),
                            operation_status: [
                                OperationStatus::Ready,
                                OperationStatus::Failed,
                                OperationStatus::Pending,
                            ][*status as usize],
                            ..FileFacts::default()
                        })
                        .collect();
                    journal.record_files(&files, &HashMap::new()).expect("record");
                }
                Op::NewRun => run = ingest(&mut journal, &manifest),
            }
            rows = check(&journal, run, &manifest, max_attempts);
        }
    }
}

/// Regression (a review found it): an answer arriving after its row was resolved another way
/// changes nothing — a row found accepted by a look stays accepted with its file when the
/// 5xx of its send is recorded afterwards as in doubt, or a late answer retries or fails it;
/// and the row's own file doesn't count as claimed by another row.
#[test]
fn late_answers_leave_resolved_rows_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let mut journal = Journal::open(&dir.path().join("j.sqlite")).expect("journal");
    let run = ingest(&mut journal, &[LineSpec::Valid(1), LineSpec::Valid(2)]);
    let rows = lines(&journal, run, 2);
    let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    journal.mark_sending(&keys, 1, None).expect("sending");
    let file = FileFacts {
        file_id: "file-x".to_string(),
        operation_status: OperationStatus::Pending,
        ..FileFacts::default()
    };
    let accepted = Outcome::Accepted {
        key: keys[0].clone(),
        file,
    };
    journal.apply(&[accepted], 3).expect("accepted");
    let late = [
        Outcome::InDoubt {
            key: keys[0].clone(),
        },
        Outcome::Retry {
            key: keys[0].clone(),
            code: "HTTP_502".into(),
            message: "late".into(),
        },
        Outcome::Failed {
            key: keys[0].clone(),
            code: "HTTP_400".into(),
            message: "late".into(),
        },
    ];
    for outcome in late {
        journal
            .apply(std::slice::from_ref(&outcome), 3)
            .expect("applied");
        let row = lines(&journal, run, 2).remove(0);
        assert_eq!(row.state, RowState::Accepted, "after {outcome:?}");
        assert_eq!(row.file_id.as_deref(), Some("file-x"), "after {outcome:?}");
    }
    assert!(!journal.file_claimed("file-x", &keys[0]).expect("claimed"));
    assert!(journal.file_claimed("file-x", &keys[1]).expect("claimed"));
    // The other row, still being sent, takes its outcome as before.
    journal
        .apply(
            &[Outcome::InDoubt {
                key: keys[1].clone(),
            }],
            3,
        )
        .expect("in doubt");
    assert_eq!(lines(&journal, run, 2)[1].state, RowState::InDoubt);
    assert_eq!(journal.sending().expect("sending").len(), 0);
}

/// A journal of schema 2 (before re-imports were counted, before one journal per site) opens
/// with its rows as they were, gains the `reimports` column (0) and the columns of adoption,
/// changes and pruning (known, imported, not pruned) and the send floor (unknown), and is
/// marked schema 5.
#[test]
fn a_schema_2_journal_is_migrated_on_open() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("j.sqlite");
    {
        let mut journal = Journal::open(&path).expect("journal");
        ingest(&mut journal, &[LineSpec::Valid(1), LineSpec::Valid(2)]);
    }
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "DROP INDEX rows_adopt;
             ALTER TABLE rows DROP COLUMN reimports;
             ALTER TABLE rows DROP COLUMN adopt_check;
             ALTER TABLE rows DROP COLUMN origin;
             ALTER TABLE rows DROP COLUMN prune_step;
             ALTER TABLE rows DROP COLUMN pruned_run;
             ALTER TABLE rows DROP COLUMN sent_floor_ms;
             UPDATE meta SET value = '2' WHERE key = 'schema_version';",
        )
        .expect("made schema 2");
    }
    let journal = Journal::open(&path).expect("opens");
    assert_eq!(
        journal.meta("schema_version").expect("meta").as_deref(),
        Some("5")
    );
    let run = journal
        .meta("last_run")
        .expect("meta")
        .expect("a run")
        .parse()
        .expect("number");
    let rows = lines(&journal, run, 2);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.reimports == 0
            && r.state == RowState::Queued
            && r.origin == "imported"
            && r.sent_floor_ms.is_none()),
        "{rows:?}"
    );
}

/// A row's send floor (its first send, on the target's clock) is taken at its first send and
/// kept by the later ones — a file any of them made is younger than the first — and a row
/// first sent while the target's clock was unknown never gets one.
#[test]
fn the_send_floor_is_the_first_sends() {
    let dir = tempfile::tempdir().expect("dir");
    let mut journal = Journal::open(&dir.path().join("j.sqlite")).expect("journal");
    let run = ingest(&mut journal, &[LineSpec::Valid(1), LineSpec::Valid(2)]);
    let keys: Vec<String> = lines(&journal, run, 2)
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let hour = 3_600_000;
    let before = jiff::Timestamp::now().as_millisecond();
    journal
        .mark_sending(&keys[..1], 1, Some(hour))
        .expect("sending");
    journal.mark_sending(&keys[1..], 1, None).expect("sending");
    let after = jiff::Timestamp::now().as_millisecond();
    let floor = |j: &Journal| -> Vec<Option<i64>> {
        lines(j, run, 2).iter().map(|r| r.sent_floor_ms).collect()
    };
    let first = floor(&journal);
    let f = first[0].expect("the clock was known");
    assert!(
        (before + hour..=after + hour).contains(&f),
        "now on the target's clock: {f}"
    );
    assert_eq!(first[1], None, "the clock was unknown");
    let retry = |k: &String| Outcome::Retry {
        key: k.clone(),
        code: "NOT_FOUND_AFTER_DOUBT".into(),
        message: "again".into(),
    };
    journal
        .apply(&keys.iter().map(retry).collect::<Vec<_>>(), 5)
        .expect("queued again");
    journal
        .mark_sending(&keys, 2, Some(2 * hour))
        .expect("again");
    assert_eq!(floor(&journal), first, "kept from the first send");
}

/// Regression (a review found it): a row imported again after its file FAILED never takes
/// that old file back — kept or trashed, it stays claimed — so a look after a 5xx can't settle
/// the row onto it.
#[test]
fn an_old_failed_file_is_never_claimed_again() {
    let dir = tempfile::tempdir().expect("dir");
    let mut journal = Journal::open(&dir.path().join("j.sqlite")).expect("journal");
    let run = ingest(&mut journal, &[LineSpec::Valid(1)]);
    let key = lines(&journal, run, 1).remove(0).key;
    journal
        .mark_sending(std::slice::from_ref(&key), 1, None)
        .expect("sending");
    let file = FileFacts {
        file_id: "old-failed".to_string(),
        operation_status: OperationStatus::Failed,
        ..FileFacts::default()
    };
    journal
        .apply(
            &[Outcome::Accepted {
                key: key.clone(),
                file,
            }],
            3,
        )
        .expect("failed");
    assert!(!journal.file_claimed("old-failed", &key).expect("claimed"));
    journal
        .reimport_failed(std::slice::from_ref(&key))
        .expect("again");
    let row = lines(&journal, run, 1).remove(0);
    assert_eq!(
        (row.state, row.file_id.clone(), row.reimports),
        (RowState::Queued, None, 1)
    );
    assert!(
        journal.file_claimed("old-failed", &key).expect("claimed"),
        "retired for good"
    );
}
