//! The three formats, fixtures, column mapping, keys and writing rows back.

use sha2::{Digest, Sha256};

use super::super::{
    ColumnMap, Entry, Format, ManifestError, ManifestOptions, RawRowWriter, RowKey, Source, open,
};
use super::{fixture, invalid, read_all, temp_manifest, valid};
use wix_media_wire::types::MediaType;

/// The rows of a manifest with line numbers zeroed, for comparing formats.
fn rows_without_lines(name: &str) -> Vec<super::ManifestRow> {
    read_all(&fixture(name), &ManifestOptions::default())
        .iter()
        .map(|entry| super::ManifestRow {
            line: 0,
            ..valid(entry).clone()
        })
        .collect()
}

/// The clean CSV, JSON array and JSON Lines fixtures give identical rows.
#[test]
fn formats_agree_on_clean_fixtures() {
    let csv = rows_without_lines("clean.csv");
    assert_eq!(csv.len(), 4);
    assert_eq!(csv, rows_without_lines("clean.json"));
    assert_eq!(csv, rows_without_lines("clean.jsonl"));
}

/// The clean CSV is normalized as documented: folders, names, types, labels, md5.
#[test]
fn clean_csv_rows_are_normalized() {
    let entries = read_all(&fixture("clean.csv"), &ManifestOptions::default());
    let shoe = valid(&entries[0]);
    assert_eq!(shoe.line, 2);
    assert_eq!(shoe.key, RowKey("ext:sku-1".into()));
    assert_eq!(shoe.folder_path, "/products/shoes");
    assert_eq!(shoe.media_type, Some(MediaType::Image));
    assert_eq!(shoe.labels, ["red", "shoe"]);
    assert_eq!(shoe.expected_size, Some(15359));
    assert_eq!(
        shoe.expected_md5.as_deref(),
        Some("9e107d9d372bb6826bd81d3542a419d6")
    );
    let cafe = valid(&entries[1]);
    assert_eq!(cafe.folder_path, "/blog/2024");
    assert_eq!(cafe.display_name, "Café.png");
    assert!(!cafe.private && cafe.type_detectable());
    let note = valid(&entries[2]);
    assert_eq!(note.source, Source::File(fixture("media/note.txt")));
    assert_eq!(note.media_type, Some(MediaType::Document));
    assert!(note.private);
    let manual = valid(&entries[3]);
    assert_eq!(manual.display_name, "Manual \"v2\"");
    assert_eq!(manual.labels, ["x", "y"]);
}

/// Line numbers are where each record starts in its own file.
#[test]
fn line_numbers_follow_each_format() {
    let lines = |name: &str| -> Vec<u64> {
        read_all(&fixture(name), &ManifestOptions::default())
            .iter()
            .map(|e| valid(e).line)
            .collect()
    };
    assert_eq!(lines("clean.csv"), [2, 3, 4, 5]);
    assert_eq!(lines("clean.json"), [2, 14, 15, 20]);
    assert_eq!(lines("clean.jsonl"), [1, 2, 4, 5]);
}

/// The messy CSV: BOM, CRLF, quotes and newlines in cells, unicode, blank lines, a
/// duplicate and invalid rows, each at its own line.
#[test]
fn messy_csv_reads_row_by_row() {
    let entries = read_all(&fixture("messy.csv"), &ManifestOptions::default());
    let lines: Vec<u64> = entries.iter().map(Entry::line).collect();
    assert_eq!(lines, [3, 5, 7, 8, 9, 10, 11, 12]);
    let zoe = valid(&entries[0]);
    assert_eq!(zoe.display_name, "Zoë \"the cat\"");
    assert_eq!(zoe.folder_path, "/Été/Photos");
    assert!(zoe.private);
    assert_eq!(
        zoe.key,
        valid(&entries[1]).key,
        "the duplicate has the same key"
    );
    let expect = [
        (2, "source"),
        (3, "folder_path"),
        (4, "private"),
        (5, "record"),
        (6, "display_name"),
    ];
    for (i, field) in expect {
        assert_eq!(invalid(&entries[i]).field, field, "entry {i}");
    }
    assert!(
        invalid(&entries[5])
            .reason
            .contains("2 fields, the header has 6")
    );
    assert!(invalid(&entries[6]).reason.contains("UTF-8"));
    assert_eq!(invalid(&entries[3]).raw.get("folder_path"), Some("/a/../b"));
    let japan = valid(&entries[7]);
    assert_eq!(japan.display_name, "写真.jpg");
    assert_eq!(japan.folder_path, "/日本");
}

/// `--column` maps a Shopify products export; rows without an image are invalid.
#[test]
fn column_mapping_reads_a_shopify_export() {
    let columns = ColumnMap::parse_all(&["source=Image Src", "display_name=Image Alt Text"])
        .expect("valid mappings");
    let options = ManifestOptions {
        columns,
        ..Default::default()
    };
    let entries = read_all(&fixture("shopify-products.csv"), &options);
    assert_eq!(entries.len(), 2);
    let first = valid(&entries[0]);
    assert_eq!(first.display_name, "Red shoe from the side");
    assert_eq!(
        first.labels,
        Vec::<String>::new(),
        "Tags is not labels unless mapped"
    );
    assert_eq!(valid(&entries[1]).display_name, "red-shoe-top.jpg");
    let unmapped = open(
        &fixture("shopify-products.csv"),
        &ManifestOptions::default(),
    );
    let Err(err) = unmapped else {
        panic!("a header without source must fail")
    };
    let message = err.to_string();
    assert!(
        message.contains("shopify-products.csv") && message.contains("line 1"),
        "{message}"
    );
    assert!(
        message.contains("\"Image Src\""),
        "names the columns found: {message}"
    );
}

/// Keys: `ext:` + external id, else SHA-256 of source NUL folder NUL name, as documented.
#[test]
fn keys_follow_the_documented_formula() {
    let (_dir, path) = temp_manifest(
        "keys.jsonl",
        br#"{"source": "https://cdn.example.com/a.jpg", "folder_path": "f/"}
{"source": "https://cdn.example.com/a.jpg", "external_id": 42}
"#,
    );
    let entries = read_all(&path, &ManifestOptions::default());
    let expected = hex::encode(Sha256::digest(b"https://cdn.example.com/a.jpg\0/f\0a.jpg"));
    assert_eq!(valid(&entries[0]).key.as_str(), expected);
    // Pinned (computed with Python's hashlib) so a change of formula can't pass unnoticed:
    // journals of earlier runs hold these keys.
    assert_eq!(
        expected,
        "16dfc35fe54da4f9057e60accea2aa9743459f1682631b52e566284ef697adff"
    );
    assert_eq!(valid(&entries[1]).key.as_str(), "ext:42");
}

/// Rows written back with the CSV writer read again as the same rows.
#[test]
fn written_rows_read_back() {
    let entries = read_all(&fixture("clean.csv"), &ManifestOptions::default());
    let mut writer = RawRowWriter::new(Vec::new()).expect("header");
    for entry in &entries {
        writer.write(&valid(entry).to_raw()).expect("row");
    }
    let bytes = writer.into_inner().expect("flush");
    let (_dir, path) = temp_manifest("failed.csv", &bytes);
    // failed.csv names local files by absolute path, outside its own folder: a re-run from it
    // names the manifest's folder as the root.
    let options = ManifestOptions {
        local_root: Some(fixture("")),
        ..ManifestOptions::default()
    };
    let again = read_all(&path, &options);
    assert!(!entries.is_empty(), "the fixture has rows");
    assert_eq!(again.len(), entries.len(), "every row read back, no more");
    for (before, after) in entries.iter().zip(&again) {
        let (before, after) = (valid(before), valid(after));
        assert_eq!(
            (&before.source, &before.labels),
            (&after.source, &after.labels)
        );
        assert_eq!(before.display_name, after.display_name);
        if matches!(before.source, Source::Url(_)) {
            assert_eq!(before.key, after.key);
        }
    }
}

/// Empty files and a header-only CSV give no rows and no error, in every format.
#[test]
fn empty_manifests_have_no_rows() {
    for (name, content) in [
        ("empty.csv", &b""[..]),
        ("empty.json", b"  \n"),
        ("empty.jsonl", b""),
        ("header.csv", b"source,folder_path\r\n"),
        ("empty-array.json", b"[ ]"),
    ] {
        let (_dir, path) = temp_manifest(name, content);
        assert_eq!(
            read_all(&path, &ManifestOptions::default()).len(),
            0,
            "{name}"
        );
    }
}

/// Formats come from the extension or the option; an unknown extension is a clear error.
#[test]
fn formats_come_from_extensions() {
    assert_eq!(
        Format::of_path("a/b.NDJSON".as_ref()),
        Some(Format::JsonLines)
    );
    assert_eq!(Format::of_path("b.json".as_ref()), Some(Format::Json));
    assert_eq!(Format::of_path("b.txt".as_ref()), Some(Format::Text));
    assert_eq!(Format::of_path("b.TSV".as_ref()), Some(Format::Csv));
    assert_eq!(Format::of_path("b.dat".as_ref()), None);
    let (_dir, path) = temp_manifest("rows.dat", b"source\nhttps://x.test/a.jpg\n");
    let err = open(&path, &ManifestOptions::default()).err();
    assert!(matches!(err, Some(ManifestError::UnknownFormat { .. })));
    let options = ManifestOptions {
        format: Some(Format::Csv),
        ..Default::default()
    };
    assert_eq!(read_all(&path, &options).len(), 1);
}
