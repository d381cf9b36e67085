//! `media-migrate reconcile`: the real binary checks a manifest against a local Media Manager
//! after a real `run` — every row present; then a deleted file shows as missing, a foreign
//! file as extra, and a wrong `expected_md5` as differs. It only reads the target.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use md5::Digest;
use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, bin, png, read_csv, run_to_end};

const KEY: &str = "reconcile-test-key";
const SITE: &str = "site-reconcile";

async fn start_target() -> TestServer {
    TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
    })
    .await
}

/// `media-migrate COMMAND MANIFEST` against `s`, in `work`.
fn command(s: &TestServer, command: &str, work: &Path, manifest: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["--quiet", command])
        .arg(manifest)
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", SITE])
        .stdin(Stdio::null());
    if command == "run" {
        cmd.args(["--report-dir", "reports", "--journal", "journal.sqlite"]);
    }
    cmd
}

fn read_report(work: &Path) -> Vec<HashMap<String, String>> {
    read_csv(&work.join("reconcile/reconcile.csv"))
}

fn read_summary(work: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(work.join("reconcile/reconcile.json")).unwrap()).unwrap()
}

/// A manifest of six URL rows over two folders and one local file, migrated with `run`.
/// `md5_of_row_2` is written as that row's `expected_md5`.
async fn migrated(s: &TestServer, src: &SourceServer, work: &Path, md5_of_row_2: &str) -> PathBuf {
    let mut csv = String::from("source,folder_path,display_name,expected_md5\n");
    for i in 0..6 {
        let url = src.add(
            &format!("/img/{i}.png"),
            Source::bytes("image/png", png(4 + i, 4)),
        );
        let md5 = if i == 2 { md5_of_row_2 } else { "" };
        csv.push_str(&format!("{url},/shop/dept-{},item-{i}.png,{md5}\n", i % 2));
    }
    std::fs::write(work.join("notes.txt"), b"plain text notes").unwrap();
    csv.push_str("notes.txt,/shop/dept-0,notes.txt,\n");
    let manifest = work.join("m.csv");
    std::fs::write(&manifest, csv).unwrap();
    let (code, out) = run_to_end(command(s, "run", work, &manifest)).await;
    assert_eq!(code, 0, "{out}");
    manifest
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(md5::Md5::digest(bytes))
}

/// After a real run every row is present, nothing is extra, and reconcile only listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_present_after_a_run() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let manifest = migrated(&s, &src, work.path(), &md5_hex(&png(6, 4))).await;
    let before = s.stats().await;
    let (code, out) = run_to_end(command(&s, "reconcile", work.path(), &manifest)).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(KEY), "the API key leaked into the output");
    let report = read_report(work.path());
    assert_eq!(report.len(), 7);
    for r in &report {
        assert_eq!(r["status"], "present", "{r:?}");
        assert!(!r["file_id"].is_empty() && !r["size"].is_empty(), "{r:?}");
    }
    let summary = read_summary(work.path());
    assert_eq!(summary["counts"]["present"], 7);
    assert_eq!(summary["counts"]["extra"], 0);
    assert_eq!(summary["foldersListed"], 2);
    let after = s.stats().await;
    let calls = after["totalCalls"].as_u64().unwrap() - before["totalCalls"].as_u64().unwrap();
    assert_eq!(
        summary["apiCallsTotal"].as_u64().unwrap(),
        calls,
        "the client's count matches the server's"
    );
    for (endpoint, n) in after["calls"].as_object().unwrap() {
        if before["calls"][endpoint] != *n {
            assert!(endpoint.starts_with("GET "), "reconcile called {endpoint}");
        }
    }
}

/// A file deleted on the target is missing and a foreign file in a manifest folder is extra
/// (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_file_is_missing_and_foreign_file_is_extra() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let manifest = migrated(&s, &src, work.path(), "").await;
    let (code, out) = run_to_end(command(&s, "reconcile", work.path(), &manifest)).await;
    assert_eq!(code, 0, "{out}");
    let first = read_report(work.path());
    let gone = first[3]["file_id"].clone();
    s.ok_post(
        "/v1/bulk/files/delete",
        json!({"fileIds": [gone], "permanent": true}),
    )
    .await;
    let folder = first[0]["folder_path"].clone();
    let stray = src.add("/stray.png", Source::bytes("image/png", png(5, 5)));
    let imported = s
        .ok_post(
            "/v1/files/import",
            json!({"url": stray, "displayName": "stray.png", "filePath": folder}),
        )
        .await;
    let stray_id = imported["file"]["id"].as_str().unwrap().to_string();
    let (code, out) = run_to_end(command(&s, "reconcile", work.path(), &manifest)).await;
    assert_eq!(code, 3, "{out}");
    let report = read_report(work.path());
    assert_eq!(report.len(), 8, "7 rows and one extra");
    let statuses: Vec<(&str, &str)> = report
        .iter()
        .map(|r| (r["line"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("2", "present"),
            ("3", "present"),
            ("4", "present"),
            ("5", "missing"),
            ("6", "present"),
            ("7", "present"),
            ("8", "present"),
            ("", "extra")
        ]
    );
    assert_eq!(report[7]["file_id"], stray_id);
    assert_eq!(report[7]["folder_path"], folder);
    assert_eq!(report[7]["display_name"], "stray.png");
    let counts = &read_summary(work.path())["counts"];
    assert_eq!(
        (counts["missing"].as_u64(), counts["extra"].as_u64()),
        (Some(1), Some(1))
    );
}

/// A READY file whose hash isn't the row's `expected_md5` differs (exit 3); the right md5 is
/// present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_expected_md5_differs() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let manifest = migrated(&s, &src, work.path(), &"0".repeat(32)).await;
    let (code, out) = run_to_end(command(&s, "reconcile", work.path(), &manifest)).await;
    assert_eq!(code, 3, "{out}");
    let report = read_report(work.path());
    let differs: Vec<&str> = report
        .iter()
        .filter(|r| r["status"] == "differs")
        .map(|r| r["line"].as_str())
        .collect();
    assert_eq!(differs, ["4"]);
    assert!(
        report[2]["detail"].contains("expected_md5"),
        "{:?}",
        report[2]
    );
    assert_eq!(report[2]["hash"], md5_hex(&png(6, 4)));
    assert_eq!(read_summary(work.path())["counts"]["present"], 6);
}

/// `--verify-content=source`: every READY file matches its source (exit 0, no API call for
/// the sources); then a source that changed after the import differs, naming the values that
/// differ and both of them (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_content_source_catches_a_changed_source() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let manifest = migrated(&s, &src, work.path(), "").await;
    let verify = |cmd: &mut Command| {
        cmd.args(["--verify-content=source"]);
    };
    let mut cmd = command(&s, "reconcile", work.path(), &manifest);
    verify(&mut cmd);
    let before = src.hit_count("/img/1.png");
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        src.hit_count("/img/1.png"),
        before + 1,
        "the source was read"
    );
    let summary = read_summary(work.path());
    assert_eq!(summary["verifyContent"], "source");
    assert_eq!(summary["contentVerified"], 7, "six URLs and the local file");
    assert_eq!(summary["contentUnverified"], 0);

    let changed = png(9, 9);
    src.add("/img/1.png", Source::bytes("image/png", changed.clone()));
    let mut cmd = command(&s, "reconcile", work.path(), &manifest);
    verify(&mut cmd);
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 3, "{out}");
    let report = read_report(work.path());
    let differs: Vec<&HashMap<String, String>> =
        report.iter().filter(|r| r["status"] == "differs").collect();
    assert_eq!(differs.len(), 1, "{report:?}");
    let row = differs[0];
    assert_eq!(row["line"], "3");
    let detail = &row["detail"];
    let old = png(5, 4);
    assert!(
        detail.contains(&format!("size {}, source {}", old.len(), changed.len())),
        "{detail}"
    );
    assert!(
        detail.contains(&format!(
            "hash {}, source md5 {}",
            md5_hex(&old),
            md5_hex(&changed)
        )),
        "{detail}"
    );
    assert_eq!(read_summary(work.path())["counts"]["differs"], 1);
}

/// `--verify-content` (against the manifest): a wrong `expected_md5` differs with both
/// values; rows with nothing to compare are counted unverified, so the exit is 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_content_manifest_names_both_values() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(32);
    let manifest = migrated(&s, &src, work.path(), &wrong).await;
    let mut cmd = command(&s, "reconcile", work.path(), &manifest);
    cmd.arg("--verify-content");
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 3, "{out}");
    let report = read_report(work.path());
    assert_eq!(report[2]["status"], "differs");
    assert_eq!(
        report[2]["detail"],
        format!("hash {}, expected_md5 {wrong}", md5_hex(&png(6, 4)))
    );
    let summary = read_summary(work.path());
    assert_eq!(summary["verifyContent"], "manifest");
    assert_eq!(
        summary["contentVerified"], 2,
        "the md5 row and the local file"
    );
    assert_eq!(summary["contentUnverified"], 5);
}
