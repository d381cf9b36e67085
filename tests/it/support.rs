//! Helpers of the migration's tests: the local Media Manager's test support (a server on
//! 127.0.0.1, sources, images, API helpers), shared with that crate's own tests, plus the
//! `media-migrate` binary and its reports.

use std::collections::HashMap;

#[path = "../../crates/media-manager/tests/it/support.rs"]
mod server;

pub use self::server::*;

/// The calls a local file can go by, as `/_local/stats` counts them.
pub const BULK_IMPORT: &str = "POST /site-media/v1/bulk/files/import-v2";
pub const UPLOAD_URL: &str = "POST /site-media/v1/files/generate-upload-url";

/// Checks that a run in `work` brought the local `files` (name, size) by Bulk Import only — no
/// upload URL asked for — every line of its reconciliation ready, each file READY in `folder`
/// with its name and size.
pub async fn assert_local_files_bulk_imported(
    s: &TestServer,
    work: &std::path::Path,
    files: &[(String, u64)],
    folder: &str,
) {
    let stats = s.stats().await;
    assert!(
        stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert_eq!(
        stats["calls"][UPLOAD_URL].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    let rows = read_csv(&work.join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), files.len());
    assert!(rows.iter().all(|r| r["status"] == "ready"), "{rows:?}");
    let held = s.files_with_paths().await;
    for (name, size) in files {
        let (path, f) = held
            .iter()
            .find(|(_, f)| f["displayName"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not at the target"));
        assert_eq!(path, folder, "{name}");
        assert_eq!(f["sizeInBytes"].as_str(), Some(size.to_string().as_str()));
        assert_eq!(f["operationStatus"], "READY");
    }
}

/// The `media-migrate` binary under test.
pub fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_media-migrate"))
}

/// Runs a command to completion off the async runtime; returns its exit code and its
/// stdout followed by its stderr.
pub async fn run_to_end(mut cmd: std::process::Command) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || {
        cmd.stdin(std::process::Stdio::null())
            .output()
            .expect("binary runs")
    })
    .await
    .expect("the command's thread");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A CSV report as one map (header → cell) per record.
pub fn read_csv(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).expect("report exists");
    let headers = rdr.headers().expect("header").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
