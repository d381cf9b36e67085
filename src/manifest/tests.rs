//! Tests of the manifest module as the pipeline uses it: fixtures under
//! `tests/data/manifests/`, generated files in temp folders, and single records.

mod formats;
mod hostile;
mod mapping;
mod rules;

use std::path::{Path, PathBuf};

use super::{Entry, InvalidRow, ManifestOptions, ManifestRow, open};

/// The path of a fixture.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/manifests")
        .join(name)
}

/// Every entry of a manifest, panicking on a fatal error.
fn read_all(path: &Path, options: &ManifestOptions) -> Vec<Entry> {
    open(path, options)
        .expect("manifest opens")
        .map(|entry| entry.expect("no fatal error"))
        .collect()
}

fn valid(entry: &Entry) -> &ManifestRow {
    match entry {
        Entry::Valid(row) => row,
        other => panic!("expected a valid row, got {other:?}"),
    }
}

fn invalid(entry: &Entry) -> &InvalidRow {
    match entry {
        Entry::Invalid(invalid) => invalid,
        other => panic!("expected an invalid row, got {other:?}"),
    }
}

/// Writes `content` to `name` in a fresh temp folder (kept alive by the returned guard).
fn temp_manifest(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write temp manifest");
    (dir, path)
}
