//! Property tests of the manifest readers: rows written as CSV (with the crate's own writer)
//! and as JSON Lines read back to the same rows and the same invalid-row decisions, and
//! arbitrary bytes never panic the CSV, JSON and JSON Lines readers.

use std::path::Path;

use media_migrate::manifest::{
    self, Entry, FIELDS, ManifestOptions, ManifestRow, RawRow, RawRowWriter, Source,
};
use proptest::prelude::*;

/// Text meant to break quoting and splitting: quotes, commas, line ends, `|`, unicode.
fn nasty_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("|".to_string()),
        Just(" ".to_string()),
        Just("/".to_string()),
        Just("é🦀\u{2028}".to_string()),
        "[a-z0-9.]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

/// One field's text: mostly plausible values, sometimes nasty ones.
fn field_text(field: &str) -> BoxedStrategy<String> {
    let plausible: BoxedStrategy<String> = match field {
        "source" => nasty_text()
            .prop_map(|tail| format!("https://x.test/{tail}"))
            .boxed(),
        "private" => prop_oneof![Just("true"), Just("no"), Just(""), Just("maybe")]
            .prop_map(String::from)
            .boxed(),
        "expected_size" => prop_oneof![
            Just("12".to_string()),
            Just(String::new()),
            Just("-1".into())
        ]
        .boxed(),
        "media_type" => prop_oneof![Just("IMAGE"), Just(""), Just("bogus")]
            .prop_map(String::from)
            .boxed(),
        _ => prop_oneof![Just(String::new()), "[a-z]{1,8}"].boxed(),
    };
    prop_oneof![3 => plausible, 1 => nasty_text()].boxed()
}

fn raw_row() -> impl Strategy<Value = RawRow> {
    let fields: Vec<BoxedStrategy<String>> = FIELDS.iter().map(|f| field_text(f)).collect();
    fields
        .prop_map(|values| {
            RawRow(
                FIELDS
                    .iter()
                    .zip(values)
                    .map(|(name, value)| (name.to_string(), value))
                    .collect(),
            )
        })
        // The CSV reader skips records whose every field is blank; JSON Lines has no such rows.
        .prop_filter("not blank", |row| {
            row.0
                .iter()
                .any(|(_, v)| !v.as_bytes().trim_ascii().is_empty())
        })
}

/// An entry with its line set aside: (valid row, or (field, reason)).
fn decision(entry: Entry) -> Result<ManifestRow, (String, String)> {
    match entry {
        Entry::Valid(mut row) => {
            row.line = 0;
            Ok(row)
        }
        Entry::Invalid(bad) => Err((bad.field, bad.reason)),
        Entry::Skipped(skipped) => panic!("nothing is skipped without the option: {skipped:?}"),
    }
}

fn read_lines(path: &Path) -> Vec<(u64, Entry)> {
    manifest::open(path, &ManifestOptions::default())
        .expect("opens")
        .map(|entry| {
            let entry = entry.expect("no fatal error");
            (entry.line(), entry)
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[RawRow]) {
    let mut writer = RawRowWriter::new(Vec::new()).expect("header");
    for row in rows {
        writer.write(row).expect("row");
    }
    std::fs::write(path, writer.into_inner().expect("flush")).expect("write csv");
}

fn write_jsonl(path: &Path, rows: &[RawRow]) {
    let mut text = String::new();
    for row in rows {
        let object: serde_json::Map<String, serde_json::Value> = row
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        text.push_str(&serde_json::to_string(&object).expect("serialise"));
        text.push('\n');
    }
    std::fs::write(path, text).expect("write jsonl");
}

/// Runs `f` on `bytes` written as a manifest with extension `ext`; the reader must not panic.
fn read_bytes(bytes: &[u8], ext: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("m.{ext}"));
    std::fs::write(&path, bytes).expect("write");
    if let Ok(reader) = manifest::open(&path, &ManifestOptions::default()) {
        let mut fatal = false;
        for entry in reader {
            assert!(!fatal, "an entry after a fatal error");
            fatal = entry.is_err();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// CSV and JSON Lines copies of the same rows read back to the same decisions, at the
    /// lines where the rows were written.
    #[test]
    fn csv_and_jsonl_agree(rows in prop::collection::vec(raw_row(), 1..8)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (csv, jsonl) = (dir.path().join("m.csv"), dir.path().join("m.jsonl"));
        write_csv(&csv, &rows);
        write_jsonl(&jsonl, &rows);
        let from_csv = read_lines(&csv);
        let from_jsonl = read_lines(&jsonl);
        prop_assert_eq!(from_csv.len(), rows.len());
        prop_assert_eq!(from_jsonl.len(), rows.len());
        let mut csv_line = 2;
        for (i, ((cl, ce), (jl, je))) in from_csv.into_iter().zip(from_jsonl).enumerate() {
            prop_assert_eq!(cl, csv_line);
            prop_assert_eq!(jl, i as u64 + 1);
            let (csv_decision, jsonl_decision) = (decision(ce), decision(je));
            prop_assert_eq!(&csv_decision, &jsonl_decision);
            if let Ok(row @ ManifestRow { source: Source::Url(_), .. }) = &csv_decision {
                // A valid row's normalized form reads back to the same row.
                let again = dir.path().join("again.csv");
                write_csv(&again, &[row.to_raw()]);
                let mut read = read_lines(&again);
                prop_assert_eq!(read.len(), 1);
                prop_assert_eq!(decision(read.remove(0).1), Ok(row.clone()));
            }
            csv_line += 1 + rows[i].0.iter().map(|(_, v)| v.matches('\n').count() as u64).sum::<u64>();
        }
    }

    /// Arbitrary bytes never panic any reader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for ext in ["csv", "json", "jsonl"] {
            read_bytes(&bytes, ext);
        }
    }

    /// Bytes built from manifest syntax (quotes, brackets, separators) never panic any reader.
    #[test]
    fn syntax_soup_never_panics(parts in prop::collection::vec(
        prop_oneof![
            Just(&b"\""[..]), Just(&b","[..]), Just(&b"\n"[..]), Just(&b"\r"[..]),
            Just(&b"["[..]), Just(&b"]"[..]), Just(&b"{"[..]), Just(&b"}"[..]),
            Just(&b":"[..]), Just(&b"\\"[..]), Just(&b"source"[..]),
            Just(&b"https://x.test/a.jpg"[..]), Just(&b"\xef\xbb\xbf"[..]), Just(&b"\xff"[..]),
        ],
        0..64,
    )) {
        let bytes = parts.concat();
        for ext in ["csv", "json", "jsonl"] {
            read_bytes(&bytes, ext);
        }
    }
}
