//! Hostile and broken input: huge cells, many fields, deep nesting, bad UTF-8, truncated
//! JSON, and a manifest large enough that reading it whole would show.

use std::io::Write;

use super::super::{Entry, ManifestError, ManifestOptions, open};
use super::{fixture, invalid, read_all, temp_manifest, valid};

const MIB: usize = 1 << 20;

/// A CSV cell over 1 MiB (inside quotes, across lines) is one invalid row; lines after it
/// keep their numbers.
#[test]
fn csv_oversized_cell_is_an_invalid_row() {
    let mut csv = b"source,display_name\n".to_vec();
    csv.extend_from_slice(b"https://x.test/a.jpg,\"");
    for _ in 0..(MIB / 1000 + 10) {
        csv.extend_from_slice(&[b'y'; 999]);
        csv.push(b'\n');
    }
    csv.extend_from_slice(b"\"\nhttps://x.test/b.jpg,b\n");
    let (_dir, path) = temp_manifest("big.csv", &csv);
    let entries = read_all(&path, &ManifestOptions::default());
    assert_eq!(entries.len(), 2);
    let big = invalid(&entries[0]);
    assert_eq!((big.line, big.field.as_str()), (2, "record"));
    assert!(big.reason.contains("longer than"));
    assert_eq!(valid(&entries[1]).line, 2 + (MIB / 1000 + 10) as u64 + 1);
}

/// A CSV record with more than 1,000 fields is invalid.
#[test]
fn csv_too_many_fields_is_an_invalid_row() {
    let wide = format!("source\nhttps://x.test/a.jpg{}\n", ",".repeat(1500));
    let (_dir, path) = temp_manifest("wide.csv", wide.as_bytes());
    let entries = read_all(&path, &ManifestOptions::default());
    assert!(invalid(&entries[0]).reason.contains("more than 1000"));
}

/// Invalid UTF-8, a broken line, deep nesting and a non-object are invalid JSON Lines rows.
#[test]
fn json_lines_bad_lines_are_invalid_rows() {
    let deep = format!(
        "{{\"source\": \"https://x.test/a.jpg\", \"x\": {}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let mut text = b"{\"source\": \"https://x.test/\xff.jpg\"}\n{not json\n".to_vec();
    text.extend_from_slice(deep.as_bytes());
    text.extend_from_slice(b"\n\"just a string\"\n{\"source\": \"https://x.test/ok.jpg\"}\n");
    let (_dir, path) = temp_manifest("bad.jsonl", &text);
    let entries = read_all(&path, &ManifestOptions::default());
    assert_eq!(entries.len(), 5);
    assert!(invalid(&entries[0]).reason.contains("not valid UTF-8"));
    assert!(invalid(&entries[1]).reason.contains("not valid JSON"));
    assert_eq!(invalid(&entries[1]).line, 2);
    assert!(invalid(&entries[2]).reason.contains("nested deeper"));
    assert!(
        invalid(&entries[3])
            .reason
            .contains("must be a JSON object")
    );
    assert_eq!(valid(&entries[4]).line, 5);
}

/// In a JSON array, deep nesting, oversized elements and wrong types are invalid rows.
#[test]
fn json_array_bad_records_are_invalid_rows() {
    let deep = format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = format!("{{\"source\": \"https://x.test/{}.jpg\"}}", "h".repeat(MIB));
    let text = format!(
        "[{deep},\n{huge},\n{{\"source\": 5}},\n{{\"source\": \"https://x.test/a\", \"private\": 1}},\n{{\"source\": \"https://x.test/a\", \"labels\": [\"a\", 2]}}, 7]"
    );
    let (_dir, path) = temp_manifest("bad.json", text.as_bytes());
    let entries = read_all(&path, &ManifestOptions::default());
    let reasons: Vec<(u64, String, String)> = entries
        .iter()
        .map(invalid)
        .map(|r| (r.line, r.field.clone(), r.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 6);
    assert!(reasons[0].2.contains("nested deeper"));
    assert!(reasons[1].2.contains("longer than"));
    assert_eq!((reasons[2].0, reasons[2].1.as_str()), (3, "source"));
    assert_eq!(reasons[2].2, "expected a string, found a number");
    assert_eq!(
        (reasons[3].1.as_str(), reasons[3].2.as_str()),
        ("private", "expected true or false, found a number")
    );
    assert_eq!(reasons[4].1, "labels");
    assert!(reasons[5].2.contains("must be a JSON object"));
}

/// A truncated JSON array is a fatal error naming the file and the line.
#[test]
fn truncated_json_is_fatal_with_the_line() {
    let path = fixture("truncated.json");
    let results: Vec<_> = open(&path, &ManifestOptions::default())
        .expect("opens")
        .collect();
    assert_eq!(results.len(), 2, "one row, then the error, then nothing");
    assert!(matches!(results[0], Ok(Entry::Valid(_))));
    let Err(err) = &results[1] else {
        panic!("expected a fatal error")
    };
    assert!(
        matches!(err, ManifestError::Json { line: 4, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("truncated.json") && message.contains("line 4"),
        "{message}"
    );
    assert!(message.contains("starting at line 3"), "{message}");
}

/// Broken syntax inside an array is fatal, with the line of the error.
#[test]
fn json_syntax_errors_are_fatal() {
    for (text, line) in [
        (
            "[\n{\"source\": \"https://x.test/a.jpg\"},\n{\"source\" \"b\"}\n]",
            3,
        ),
        ("[{\"source\": \"https://x.test/a.jpg\"},]", 1),
        ("[{\"source\": \"https://x.test/a.jpg\"}\n\n{}]", 3),
        ("{\"source\": \"https://x.test/a.jpg\"}", 1),
        ("[{\"source\": \"https://x.test/a.jpg\"}] x", 1),
    ] {
        let (_dir, path) = temp_manifest("broken.json", text.as_bytes());
        let fatal = open(&path, &ManifestOptions::default())
            .expect("opens")
            .find_map(Result::err)
            .unwrap_or_else(|| panic!("{text:?} must fail"));
        assert!(
            matches!(fatal, ManifestError::Json { line: l, .. } if l == line),
            "{text:?}: {fatal}"
        );
    }
}

/// 200,000 rows stream through CSV, JSON array and JSON Lines readers one record at a time.
#[test]
fn large_manifests_stream() {
    const ROWS: usize = 200_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, head: &str, row: &dyn Fn(usize) -> String, sep: &str, tail: &str| {
        let path = dir.path().join(name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        out.write_all(head.as_bytes()).expect("write");
        for i in 0..ROWS {
            if i > 0 {
                out.write_all(sep.as_bytes()).expect("write");
            }
            out.write_all(row(i).as_bytes()).expect("write");
        }
        out.write_all(tail.as_bytes()).expect("write");
        out.flush().expect("flush");
        path
    };
    let csv = write(
        "big.csv",
        "source,folder_path\n",
        &|i| format!("https://x.test/{i}.jpg,/f/{}", i % 7),
        "\n",
        "\n",
    );
    let json_row = |i: usize| format!("{{\"source\":\"https://x.test/{i}.jpg\"}}");
    let json = write("big.json", "[", &json_row, ",\n", "]");
    let jsonl = write("big.jsonl", "", &json_row, "\n", "\n");
    for path in [csv, json, jsonl] {
        let mut count = 0;
        for entry in open(&path, &ManifestOptions::default()).expect("opens") {
            assert!(matches!(entry, Ok(Entry::Valid(_))));
            count += 1;
        }
        assert_eq!(count, ROWS, "{}", path.display());
    }
}
