//! The migration end to end: the real `media-migrate run` binary against a local Media
//! Manager over HTTP, with sources served by a local web server. Every row accounted for, no
//! file twice, within the request budget; faults, crashes and grown manifests included.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    BULK_IMPORT, Source, SourceServer, TestServer, bin, files_held, kill_when, png, poll_until,
    read_csv, run_to_end, wait_journal,
};

const KEY: &str = "pipeline-test-key";
const SITE: &str = "site-pipeline";

/// A manifest of `rows` URL rows spread over nested folders, each with its own source.
fn write_manifest(
    dir: &Path,
    name: &str,
    src: &SourceServer,
    rows: std::ops::Range<usize>,
) -> PathBuf {
    let image = png(8, 6);
    let mut csv = String::from("source,folder_path,display_name\n");
    for i in rows {
        let url = src.add(
            &format!("/img/{i}.png"),
            Source::bytes("image/png", image.clone()),
        );
        let folder = format!("/catalog/dept-{}/shelf-{}", i % 4, i % 3);
        csv.push_str(&format!("{url},{folder},item-{i}.png\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path
}

async fn start_target(tweak: impl FnOnce(&mut wix_media_manager::ServerConfig)) -> TestServer {
    TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
        tweak(c);
    })
    .await
}

fn run_cmd(s: &TestServer, work: &Path, manifest: &Path, extra: &[&str]) -> Command {
    run_cmd_for(s, SITE, work, manifest, extra)
}

fn run_cmd_for(
    s: &TestServer,
    site: &str,
    work: &Path,
    manifest: &Path,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .arg("--quiet")
        .arg("run")
        .arg(manifest)
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", site])
        .args(["--report-dir", "reports", "--journal", "journal.sqlite"])
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

fn read_report(work: &Path) -> Vec<HashMap<String, String>> {
    read_csv(&work.join("reports/reconciliation.csv"))
}

/// Exactly one file per source URL, each READY, in the folder its row names.
async fn assert_exactly_once(s: &TestServer, expected: usize) {
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), expected, "files on the server");
    let mut sources = HashSet::new();
    for (path, f) in &files {
        let src = f["sourceUrl"].as_str().unwrap();
        assert!(sources.insert(src.to_string()), "two files for {src}");
        let i: usize = src
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".png")
            .parse()
            .unwrap();
        assert_eq!(
            path,
            &format!("/catalog/dept-{}/shelf-{}", i % 4, i % 3),
            "{src}"
        );
        assert_eq!(f["displayName"], format!("item-{i}.png"));
        assert_eq!(f["operationStatus"], "READY", "{f}");
    }
}

/// The report has one row per manifest row, each `ready` with a file of its own, and the
/// server holds exactly those files: READY, from the row's source, in the row's folder.
async fn assert_report_matches_server(s: &TestServer, work: &Path, manifest: &Path) {
    let rows = read_csv(manifest);
    let report = read_report(work);
    assert_eq!(report.len(), rows.len(), "one report row per manifest row");
    let files: HashMap<String, (String, Value)> = s
        .files_with_paths()
        .await
        .into_iter()
        .map(|(path, f)| (f["id"].as_str().expect("id").to_string(), (path, f)))
        .collect();
    assert_eq!(files.len(), rows.len(), "one file on the server per row");
    let mut ids = HashSet::new();
    for (i, (row, r)) in rows.iter().zip(&report).enumerate() {
        assert_eq!(
            r["line"],
            (i + 2).to_string(),
            "the report is in manifest order"
        );
        assert_eq!(r["source"], row["source"], "line {}", r["line"]);
        assert_eq!(r["status"], "ready", "{r:?}");
        let id = &r["file_id"];
        assert!(ids.insert(id.clone()), "two rows report file {id}");
        let (path, f) = files
            .get(id)
            .unwrap_or_else(|| panic!("line {}: no file {id} on the server", r["line"]));
        assert_eq!(f["operationStatus"], "READY", "{f}");
        assert_eq!(f["sourceUrl"].as_str(), Some(row["source"].as_str()), "{f}");
        assert_eq!(path, &row["folder_path"], "{f}");
    }
}

/// 1,000 URL rows over nested folders: 1,000 READY files in the right folders, a report that
/// adds up, and at most 30 API calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_rows_within_thirty_calls() {
    let src = SourceServer::start().await;
    let s = start_target(|c| c.processing.concurrency = 16).await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest(work.path(), "m.csv", &src, 0..1000);
    let (code, out) = run_to_end(run_cmd(&s, work.path(), &manifest, &[])).await;
    assert_eq!(code, 0, "{out}");
    let calls = s.stats().await["totalCalls"].as_u64().unwrap();
    eprintln!(
        "1,000 rows took {calls} API calls: {}",
        s.stats().await["calls"]
    );
    assert!(calls <= 30, "spent {calls} API calls: {}", s.stats().await);
    assert_report_matches_server(&s, work.path(), &manifest).await;
    let summary: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("reports/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["counts"]["ready"], 1000);
    assert_eq!(summary["manifest"]["rows"], 1000);
    assert_eq!(
        summary["apiCallsTotal"].as_u64().unwrap(),
        calls,
        "the client's count matches the server's"
    );
    assert!(!out.contains(KEY), "the API key leaked into the output");
    assert_exactly_once(&s, 1000).await;
}

/// A manifest of `rows` URL rows, row `i` in folder `folder(i)`.
fn write_manifest_in(
    dir: &Path,
    src: &SourceServer,
    rows: usize,
    folder: impl Fn(usize) -> String,
) -> PathBuf {
    let image = png(8, 6);
    let mut csv = String::from("source,folder_path,display_name\n");
    for i in 0..rows {
        let url = src.add(
            &format!("/img/{i}.png"),
            Source::bytes("image/png", image.clone()),
        );
        csv.push_str(&format!("{url},{},item-{i}.png\n", folder(i)));
    }
    let path = dir.join("m.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// Runs `manifest` to the end; returns the server's calls per endpoint and in total.
async fn run_and_count(s: &TestServer, work: &Path, manifest: &Path) -> (u64, u64) {
    let (code, out) = run_to_end(run_cmd(s, work, manifest, &[])).await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    let imports = stats["calls"]["POST /site-media/v1/bulk/files/import-v2"]
        .as_u64()
        .unwrap();
    (imports, stats["totalCalls"].as_u64().unwrap())
}

/// A single-folder manifest goes in full batches and costs at most 2.2 calls per 100 files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_folder_in_full_batches() {
    let src = SourceServer::start().await;
    let s = start_target(|c| c.processing.concurrency = 16).await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest_in(work.path(), &src, 1000, |_| "/products".to_string());
    let (imports, calls) = run_and_count(&s, work.path(), &manifest).await;
    assert_eq!(imports, 10, "100 rows a call");
    assert!(calls <= 22, "spent {calls} calls: {}", s.stats().await);
    assert_report_matches_server(&s, work.path(), &manifest).await;
}

/// With a folder per 50 rows, nested two deep, folders cost no calls and batches stay full
/// (at most 3 calls per 100 files), and each folder is created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_per_fifty_rows_in_full_batches_each_folder_once() {
    let src = SourceServer::start().await;
    let s = start_target(|c| c.processing.concurrency = 16).await;
    let work = tempfile::tempdir().unwrap();
    let folder = |i: usize| format!("/catalog/dept-{}/shelf-{}", i / 200, i / 50 % 4);
    let manifest = write_manifest_in(work.path(), &src, 1000, folder);
    let (imports, calls) = run_and_count(&s, work.path(), &manifest).await;
    assert_eq!(imports, 10, "100 rows a call");
    assert!(calls <= 30, "spent {calls} calls: {}", s.stats().await);
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), 1000);
    for (path, f) in &files {
        let i: usize = f["displayName"].as_str().unwrap()["item-".len()..]
            .trim_end_matches(".png")
            .parse()
            .unwrap();
        assert_eq!(path, &folder(i));
        assert_eq!(f["operationStatus"], "READY");
    }
    let v = s
        .ok_post("/v1/folders/search", json!({"paging": {"limit": 100}}))
        .await;
    let folders = v["folders"].as_array().unwrap();
    let mut seen = HashSet::new();
    for f in folders {
        let place = (f["parentFolderId"].clone(), f["displayName"].clone());
        assert!(seen.insert(place.clone()), "two folders {place:?}");
    }
    assert_eq!(
        folders.len(),
        1 + 5 + 20,
        "catalog, 5 departments, 20 shelves"
    );
}

/// Throttling, 503s, lost responses, item failures and slow processing together still end with
/// exactly one READY file per row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_and_duplicate_nothing() {
    let src = SourceServer::start().await;
    let s = start_target(|c| {
        c.rate_limit_per_minute = Some(1200);
        c.rate_limit_burst = 3;
        c.faults.seed = 7;
        c.faults.error_rate = 0.05;
        c.faults.lost_response_rate = 0.05;
        c.faults.item_failure_rate = 0.05;
        c.faults.processing_time = Some("50..400".parse().unwrap());
        c.processing.concurrency = 16;
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest(work.path(), "m.csv", &src, 0..1000);
    let (code, out) = run_to_end(run_cmd(
        &s,
        work.path(),
        &manifest,
        &["--rate", "6000", "--batch-size", "10"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    for fault in ["error503", "lostResponse", "itemFailure"] {
        assert!(
            stats["faults"][fault].as_u64().unwrap_or(0) > 0,
            "no {fault} injected: {stats}"
        );
    }
    assert!(stats["throttled"].as_u64().unwrap() > 0, "no 429s: {stats}");
    // Look at the result without faults in the way.
    let s = s
        .restart(|c| {
            c.api_keys = vec![KEY.to_string()];
            c.site_id = SITE.to_string();
        })
        .await;
    assert_report_matches_server(&s, work.path(), &manifest).await;
    assert_exactly_once(&s, 1000).await;
}

/// A run killed with SIGKILL mid-way (rows ready, rows being sent) and started again completes
/// with no duplicate and no lost row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_resume_completes_exactly_once() {
    let src = SourceServer::start().await;
    let s = start_target(|c| c.faults.latency = Some("30..60".parse().unwrap())).await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest(work.path(), "m.csv", &src, 0..600);
    let mut child = run_cmd(&s, work.path(), &manifest, &["--batch-size", "20"])
        .spawn()
        .unwrap();
    let (done, sending) = kill_when(
        &mut child,
        &work.path().join("journal.sqlite"),
        "rows accepted and rows sending",
        |c| {
            let count = |state: &str| -> rusqlite::Result<i64> {
                c.query_row("SELECT COUNT(*) FROM rows WHERE state = ?1", [state], |r| {
                    r.get(0)
                })
            };
            let (done, sending) = (count("accepted")? + count("ready")?, count("sending")?);
            Ok((done > 0 && sending > 0).then_some((done, sending)))
        },
    )
    .await;
    assert!(done < 600, "the kill came after the end: {done} rows done");
    assert!(sending <= 8 * 20, "{sending} rows sending");
    let (code, out) =
        run_to_end(run_cmd(&s, work.path(), &manifest, &["--batch-size", "20"])).await;
    assert_eq!(code, 0, "{out}");
    assert_report_matches_server(&s, work.path(), &manifest).await;
    assert_exactly_once(&s, 600).await;
}

/// Regression (`doubt_dead_sends`): a run killed while its rows are `sending` and the target
/// already made their files (the import performed, its answer held back) is followed by a run
/// that looks at the target before it sends anything: every row READY in one file, and no
/// import sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_killed_while_sending_are_looked_at_not_sent_again() {
    const ROWS: usize = 12;
    let src = SourceServer::start().await;
    // Every API call is performed, then its answer held 2 s: the kill lands while the import
    // is done at the target and the run still waits for its answer.
    let s = start_target(|c| {
        c.faults.slow_response_rate = 1.0;
        c.faults.slow_response = Some("2000".parse().unwrap());
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest_in(work.path(), &src, ROWS, |_| "/sent".to_string());
    let journal = work.path().join("journal.sqlite");
    let mut child = run_cmd(&s, work.path(), &manifest, &[]).spawn().unwrap();
    let claim = format!("all {ROWS} rows sending");
    let all_sending = |c: &rusqlite::Connection| -> rusqlite::Result<Option<()>> {
        let n: i64 = c.query_row(
            "SELECT COUNT(*) FROM rows WHERE state = 'sending'",
            [],
            |r| r.get(0),
        )?;
        Ok((n == ROWS as i64).then_some(()))
    };
    wait_journal(&mut child, &journal, &claim, all_sending).await;
    poll_until(&mut child, "the target holds the rows' files", async || {
        (files_held(&s.stats().await) == ROWS as u64).then_some(())
    })
    .await;
    kill_when(&mut child, &journal, &claim, all_sending).await;
    let stats = s.stats().await;
    assert_eq!(stats["calls"][BULK_IMPORT], 1, "{stats}");

    // Resumed against the same server with no faults (started again: it counts afresh).
    let mut s = s;
    s.config.faults = Default::default();
    s.bounce(Duration::ZERO).await;
    let (code, out) = run_to_end(run_cmd(&s, work.path(), &manifest, &[])).await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    assert_eq!(
        stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0),
        0,
        "rows sent again: {stats}"
    );
    assert_report_matches_server(&s, work.path(), &manifest).await;
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), ROWS, "{files:?}");
    let sources: HashSet<&str> = files
        .iter()
        .map(|(_, f)| f["sourceUrl"].as_str().expect("sourceUrl"))
        .collect();
    assert_eq!(sources.len(), ROWS, "a source imported twice: {files:?}");
    assert!(
        files.iter().all(|(_, f)| f["operationStatus"] == "READY"),
        "{files:?}"
    );
}

/// A manifest grown by 100 rows imports only those 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grown_manifest_imports_only_new_rows() {
    let src = SourceServer::start().await;
    let s = start_target(|_| {}).await;
    let work = tempfile::tempdir().unwrap();
    let manifest = write_manifest(work.path(), "m.csv", &src, 0..300);
    let (code, out) = run_to_end(run_cmd(&s, work.path(), &manifest, &[])).await;
    assert_eq!(code, 0, "{out}");
    let before = s.stats().await["calls"]["POST /site-media/v1/bulk/files/import-v2"]
        .as_u64()
        .unwrap();
    write_manifest(work.path(), "m.csv", &src, 0..400);
    let (code, out) = run_to_end(run_cmd(&s, work.path(), &manifest, &[])).await;
    assert_eq!(code, 0, "{out}");
    let after = s.stats().await["calls"]["POST /site-media/v1/bulk/files/import-v2"]
        .as_u64()
        .unwrap();
    assert_eq!(after - before, 1, "100 new rows fit one bulk call");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("reports/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["ingest"]["new"], 100);
    assert_eq!(summary["ingest"]["known"], 300);
    assert_eq!(read_report(work.path()).len(), 400);
    assert_exactly_once(&s, 400).await;
}

/// Invalid rows are reported with line and reason while the rest imports (exit 3); a journal
/// pointed at another site is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_rows_reported_and_other_site_refused() {
    let src = SourceServer::start().await;
    let s = start_target(|_| {}).await;
    let work = tempfile::tempdir().unwrap();
    let good = src.add("/ok.png", Source::bytes("image/png", png(4, 4)));
    let csv = format!(
        "source,folder_path,display_name,expected_md5\n{good},/ok,ok.png,\nnot-a-url-or-file,/x,x.png,\n{good},/a/../b,y.png,\n{good},/ok,ok.png,\n{good},/ok,z.png,nothex\n"
    );
    let manifest = work.path().join("bad.csv");
    std::fs::write(&manifest, csv).unwrap();
    let (code, out) = run_to_end(run_cmd(&s, work.path(), &manifest, &[])).await;
    assert_eq!(code, 3, "{out}");
    let report = read_report(work.path());
    let statuses: Vec<(&str, &str)> = report
        .iter()
        .map(|r| (r["line"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("2", "ready"),
            ("3", "invalid"),
            ("4", "invalid"),
            ("5", "duplicate"),
            ("6", "invalid")
        ]
    );
    assert!(
        report[1]["error_code"].contains("SOURCE"),
        "{:?}",
        report[1]
    );
    assert!(
        report[2]["error_code"].contains("FOLDER_PATH"),
        "{:?}",
        report[2]
    );
    assert!(!report[2]["error_message"].is_empty());
    let failed = std::fs::read_to_string(work.path().join("reports/failed.csv")).unwrap();
    assert_eq!(
        failed.lines().count(),
        4,
        "header + 3 invalid rows:\n{failed}"
    );
    let (code, out) =
        run_to_end(run_cmd_for(&s, "another-site", work.path(), &manifest, &[])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("belongs to target"), "{out}");
}
