//! Every validation rule, one invalid record each, asserting the field and the reason.

use std::path::Path;

use super::super::columns::Field;
use super::super::row::{Record, Value};
use super::super::validate::{Rules, validate};
use super::super::{Entry, Source};
use super::{fixture, invalid, valid};

const URL: &str = "https://cdn.example.com/a.jpg";

/// Validates one record made of (field, text) pairs, relative paths against the fixtures.
fn check(pairs: &[(&str, &str)]) -> Entry {
    let mut record = Record::new(7);
    for (name, text) in pairs {
        let field = Field::parse(name).expect("test uses real field names");
        record.set(field, Value::Text(text.to_string()));
    }
    validate(record, &fixture(""), &Rules::default())
}

/// Asserts that the record fails on `field` with a reason containing `reason`.
fn rejects(pairs: &[(&str, &str)], field: &str, reason: &str) {
    let entry = check(pairs);
    let row = invalid(&entry);
    assert_eq!(
        (row.line, row.field.as_str()),
        (7, field),
        "{pairs:?}: {row:?}"
    );
    assert!(
        row.reason.contains(reason),
        "{pairs:?}: {:?} lacks {reason:?}",
        row.reason
    );
}

/// Sources: required, http(s) only, parseable, at most 2048 characters, or an existing file.
#[test]
fn rejects_bad_sources() {
    rejects(&[("folder_path", "/a")], "source", "required");
    rejects(&[("source", "  ")], "source", "required");
    rejects(
        &[("source", "ftp://x.test/a.jpg")],
        "source",
        "only http and https",
    );
    rejects(&[("source", "http://")], "source", "not a valid URL");
    let long = format!("https://x.test/{}", "a".repeat(2040));
    rejects(&[("source", &long)], "source", "longer than 2048");
    rejects(&[("source", "media/missing.jpg")], "source", "no such file");
    rejects(&[("source", "media")], "source", "not a regular file");
    let file = check(&[("source", "media/note.txt")]);
    assert_eq!(valid(&file).source, Source::File(fixture("media/note.txt")));
    assert!(Path::new(&fixture("")).is_absolute());
}

/// Folder paths: no empty, `.` or `..` segments, no backslashes or control characters,
/// segments at most 1,000 characters (the contract's folder name); otherwise normalized to
/// "/a/b" or "".
#[test]
fn rejects_bad_folder_paths() {
    fn folder(path: &str) -> Vec<(&str, &str)> {
        vec![("source", URL), ("folder_path", path)]
    }
    rejects(
        &folder("/a//b"),
        "folder_path",
        "folder 2 of the path is empty",
    );
    rejects(
        &folder("/a/ /b"),
        "folder_path",
        "folder 2 of the path is empty",
    );
    rejects(&folder("/a/../b"), "folder_path", "relative folders");
    rejects(&folder("./a"), "folder_path", "relative folders");
    rejects(
        &folder(&format!("/{}", "f".repeat(1001))),
        "folder_path",
        "longer than 1000",
    );
    rejects(&folder("/a\tb"), "folder_path", "control character");
    rejects(&folder("a\\b"), "folder_path", "backslashes");
    assert_eq!(
        valid(&check(&folder(&"f".repeat(1000)))).folder_path.len(),
        1001
    );
    assert_eq!(valid(&check(&folder(" / "))).folder_path, "");
    assert_eq!(valid(&check(&folder(" a / b /"))).folder_path, "/a/b");
}

/// Display names: at most 255 characters (what a file keeps), no control characters, no `/`.
#[test]
fn rejects_bad_display_names() {
    fn name(n: &str) -> Vec<(&str, &str)> {
        vec![("source", URL), ("display_name", n)]
    }
    rejects(&name(&"n".repeat(256)), "display_name", "longer than 255");
    rejects(&name("a\u{7}b"), "display_name", "control character");
    rejects(&name("a/b.jpg"), "display_name", "contains /");
    assert_eq!(
        valid(&check(&name(&"é".repeat(255))))
            .display_name
            .chars()
            .count(),
        255
    );
}

/// Labels: at most 100, each non-empty and at most 200 characters, without `|`.
#[test]
fn rejects_bad_labels() {
    let many = vec!["l"; 101].join("|");
    rejects(
        &[("source", URL), ("labels", &many)],
        "labels",
        "101 labels, at most 100",
    );
    let long = "l".repeat(201);
    rejects(
        &[("source", URL), ("labels", &long)],
        "labels",
        "label 1 is longer than 200",
    );
    rejects(
        &[("source", URL), ("labels", "a||b")],
        "labels",
        "label 2 is empty",
    );
    let mut record = Record::new(7);
    record.set(Field::SOURCE, Value::Text(URL.into()));
    record.set(Field::LABELS, Value::List(vec!["a|b".into()]));
    let entry = validate(record, &fixture(""), &Rules::default());
    assert!(invalid(&entry).reason.contains("contains |"));
    let ok = check(&[("source", URL), ("labels", &vec!["l"; 100].join("|"))]);
    assert_eq!(valid(&ok).labels.len(), 100);
}

/// MIME and media types: a `type/subtype` MIME, and one of the seven import media types.
#[test]
fn rejects_bad_types() {
    rejects(
        &[("source", URL), ("mime_type", "png")],
        "mime_type",
        "not a MIME type",
    );
    // A well-formed type over the contract's 100 characters: Wix would refuse the request.
    let long_mime = format!("application/{}", "x".repeat(100));
    rejects(
        &[("source", URL), ("mime_type", &long_mime)],
        "mime_type",
        "longer than 100 characters",
    );
    rejects(
        &[("source", URL), ("media_type", "PHOTO")],
        "media_type",
        "not one of IMAGE",
    );
    rejects(
        &[("source", URL), ("media_type", "other")],
        "media_type",
        "not one of",
    );
    let ok = check(&[("source", URL), ("media_type", "model3d")]);
    assert_eq!(
        valid(&ok).media_type,
        Some(wix_media_wire::types::MediaType::Model3d)
    );
}

/// `private`: true/false, 1/0, yes/no in any case; anything else is invalid.
#[test]
fn rejects_bad_private_flags() {
    rejects(
        &[("source", URL), ("private", "maybe")],
        "private",
        "not true/false",
    );
    for (text, flag) in [("TRUE", true), ("0", false), ("Yes", true), ("no", false)] {
        assert_eq!(
            valid(&check(&[("source", URL), ("private", text)])).private,
            flag
        );
    }
}

/// External ids: at most 4,000 characters (the contract's `externalIds` item), no control
/// characters.
#[test]
fn rejects_bad_external_ids() {
    let long = "i".repeat(4001);
    rejects(
        &[("source", URL), ("external_id", &long)],
        "external_id",
        "longer than 4000",
    );
    let longest = "i".repeat(4000);
    assert_eq!(
        valid(&check(&[("source", URL), ("external_id", &longest)]))
            .external_id
            .as_ref()
            .map(String::len),
        Some(4000)
    );
    rejects(
        &[("source", URL), ("external_id", "a\nb")],
        "external_id",
        "control character",
    );
}

/// Expected size: a non-negative whole number that fits 64 bits; md5: 32 hex digits.
#[test]
fn rejects_bad_expectations() {
    fn size(s: &str) -> Vec<(&str, &str)> {
        vec![("source", URL), ("expected_size", s)]
    }
    rejects(&size("-1"), "expected_size", "not a whole number");
    rejects(&size("1.5"), "expected_size", "not a whole number");
    rejects(
        &size("99999999999999999999999"),
        "expected_size",
        "too large",
    );
    fn md5(s: &str) -> Vec<(&str, &str)> {
        vec![("source", URL), ("expected_md5", s)]
    }
    rejects(&md5("abc"), "expected_md5", "not 32 hex digits");
    rejects(&md5(&"g".repeat(32)), "expected_md5", "not 32 hex digits");
}

/// Type detection: a MIME type, or a known extension in the name or URL path.
#[test]
fn detects_types_without_sniffing() {
    let detectable = |pairs: &[(&str, &str)]| valid(&check(pairs)).type_detectable();
    assert!(detectable(&[("source", URL)]));
    assert!(!detectable(&[("source", "https://x.test/blob?id=1")]));
    assert!(detectable(&[
        ("source", "https://x.test/blob"),
        ("mime_type", "image/png")
    ]));
    assert!(detectable(&[
        ("source", "https://x.test/blob"),
        ("display_name", "a.mp3")
    ]));
}

/// An oversized reason quotes at most 60 characters of the offending text.
#[test]
fn reasons_stay_short() {
    let huge = "x".repeat(100_000);
    let entry = check(&[("source", URL), ("mime_type", &huge)]);
    assert!(invalid(&entry).reason.len() < 200);
}
