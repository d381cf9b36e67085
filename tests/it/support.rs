//! Helpers of the migration's tests: the local Media Manager's test support (a server on
//! 127.0.0.1, sources, images, API helpers), shared with that crate's own tests, plus the
//! `media-migrate` binary and its reports.

use std::collections::HashMap;

#[path = "../../crates/media-manager/tests/it/support.rs"]
mod server;

pub use self::server::*;

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
