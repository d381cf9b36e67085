//! The real Wix contract, not our mirror: answers that leave out empty lists and defaults and
//! carry fields the client doesn't know (`serve --sparse-answers`), every kind of media, a
//! folder path longer than `filePath`'s 100 characters, a site whose quota runs out
//! (`SITE_QUOTA_EXCEEDED`) and a file deleted while it is polled (`RESOURCE_NOT_FOUND`).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    BULK_IMPORT, Source, SourceServer, TestServer, bin, png, read_csv, run_to_end,
};
use wix_media_manager::faults::MsRange;

const KEY: &str = "contract-test-key";
const SITE: &str = "site-contract";

async fn start(tweak: impl FnOnce(&mut wix_media_manager::ServerConfig)) -> TestServer {
    TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
        tweak(c);
    })
    .await
}

/// `media-migrate --quiet ARGS… --base-url … --api-key … --site-id …` in `work`.
fn command(s: &TestServer, work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .env("XDG_DATA_HOME", work.join("xdg"))
        .arg("--quiet")
        .args(args)
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", SITE])
        .stdin(Stdio::null());
    cmd
}

fn run(s: &TestServer, work: &Path, extra: &[&str]) -> Command {
    let args = [
        &[
            "run",
            "m.csv",
            "--journal",
            "journal.sqlite",
            "--report-dir",
            "reports",
        ][..],
        extra,
    ]
    .concat();
    command(s, work, &args)
}

/// Real first bytes of each kind of file, as its name and the media type Wix gives it.
fn kinds() -> Vec<(&'static str, &'static str, Vec<u8>, &'static str)> {
    let mut mp3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a".to_vec();
    mp3.extend([0u8; 10]);
    mp3.extend([0xff, 0xfb, 0x90, 0x64]);
    mp3.extend([0u8; 400]);
    let mut mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    mp4.extend(b"\x00\x00\x00\x08free");
    mp4.extend([0u8; 200]);
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"><rect width="4" height="3"/></svg>"#.to_vec();
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    let mut glb = b"glTF\x02\x00\x00\x00\x0c\x00\x00\x00".to_vec();
    glb.extend([0u8; 64]);
    vec![
        ("photo.png", "image/png", png(6, 4), "IMAGE"),
        ("song.mp3", "audio/mpeg", mp3, "AUDIO"),
        ("clip.mp4", "video/mp4", mp4, "VIDEO"),
        ("guide.pdf", "application/pdf", pdf, "DOCUMENT"),
        ("logo.svg", "image/svg+xml", svg, "VECTOR"),
        ("bundle.zip", "application/zip", zip, "ARCHIVE"),
        ("chair.glb", "model/gltf-binary", glb, "MODEL3D"),
    ]
}

/// A folder path of about 150 characters: three levels, none of them long alone.
fn long_path() -> String {
    let path = "/Catalogue printemps-été 2026 — collection permanente/Accessoires de voyage et de plein air pour toute la famille/Sacs à dos, sacoches et housses imperméables";
    assert!(
        (140..=170).contains(&path.chars().count()),
        "{}",
        path.chars().count()
    );
    path.to_string()
}

/// Every kind of media, in a folder path too long for `filePath` and in a short one, migrated
/// through answers that leave out empty lists and defaults and add unknown fields: every row
/// READY once in its folder with its media type; `reconcile` finds them all and `export
/// --download` brings every file back, over the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_through_sparse_answers_with_every_kind_of_media() {
    let s = start(|c| c.sparse_answers = true).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    // An empty folder on the site: listings of it answer with no list at all.
    let (status, _) = s
        .post("/v1/folders", json!({"displayName": "Empty shelf"}))
        .await;
    assert!(status.is_success());
    let long = long_path();
    let mut csv = String::from("source,folder_path,display_name\n");
    let mut expected = HashMap::new();
    for (i, (name, mime, bytes, kind)) in kinds().into_iter().enumerate() {
        let url = src.add(&format!("/src/{name}"), Source::bytes(mime, bytes.clone()));
        let folder = if i % 2 == 0 {
            long.clone()
        } else {
            "/short/shelf".to_string()
        };
        csv.push_str(&format!("{url},\"{folder}\",{name}\n"));
        expected.insert(name.to_string(), (folder, kind, bytes.len() as u64));
    }
    std::fs::write(w.join("m.csv"), &csv).expect("manifest");

    let (code, out) = run_to_end(run(&s, w, &[])).await;
    assert_eq!(code, 0, "{out}");
    let report = read_csv(&w.join("reports/reconciliation.csv"));
    assert_eq!(report.len(), expected.len());
    assert!(report.iter().all(|r| r["status"] == "ready"), "{report:?}");

    let (code, out) = run_to_end(command(
        &s,
        w,
        &["reconcile", "m.csv", "--report-dir", "rec"],
    ))
    .await;
    assert_eq!(code, 0, "reconcile: {out}");

    // A journal lost: a new one adopts every file the site holds, importing nothing.
    let imports = s.stats().await["calls"][BULK_IMPORT].as_u64();
    let again = command(
        &s,
        w,
        &[
            "run",
            "m.csv",
            "--journal",
            "again.sqlite",
            "--report-dir",
            "again",
        ],
    );
    let (code, out) = run_to_end(again).await;
    assert_eq!(code, 0, "adopting run: {out}");
    assert_eq!(s.stats().await["calls"][BULK_IMPORT].as_u64(), imports);
    let adopted = read_csv(&w.join("again/reconciliation.csv"));
    assert!(
        adopted.iter().all(|r| r["status"] == "ready"),
        "{adopted:?}"
    );

    let (code, out) = run_to_end(command(
        &s,
        w,
        &["export", "--out", "export.csv", "--download", "backup"],
    ))
    .await;
    assert_eq!(code, 0, "export: {out}");
    let exported = read_csv(&w.join("export.csv"));
    assert_eq!(exported.len(), expected.len(), "{exported:?}");
    for row in &exported {
        let (folder, _, size) = &expected[&row["display_name"]];
        assert_eq!(&row["folder_path"], folder, "{row:?}");
        let local = w
            .join("backup")
            .join(folder.trim_start_matches('/'))
            .join(&row["display_name"]);
        let held = std::fs::metadata(&local)
            .unwrap_or_else(|e| panic!("{}: {e}", local.display()))
            .len();
        assert_eq!(held, *size, "{}", local.display());
    }

    // Read back through plain answers: once each, READY, in its folder, of its kind.
    let s = s.restart(|c| c.sparse_answers = false).await;
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), expected.len(), "{files:?}");
    for (path, f) in &files {
        let name = f["displayName"].as_str().expect("name");
        let (folder, kind, _) = &expected[name];
        assert_eq!(path, folder, "{name}");
        assert_eq!(f["operationStatus"], "READY", "{f}");
        assert_eq!(f["mediaType"], *kind, "{f}");
    }
    let audio = files
        .iter()
        .find(|(_, f)| f["mediaType"] == "AUDIO")
        .expect("the audio file");
    assert!(
        audio.1["media"]["audio"]["assets"][0].is_object(),
        "audio assets are Audio objects: {}",
        audio.1
    );
}

/// The journal's rows by state, and the attempts spent by queued rows.
fn journal_states(work: &Path) -> (HashMap<String, u64>, u64) {
    let conn = rusqlite::Connection::open_with_flags(
        work.join("journal.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("journal");
    let mut states = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT state, COUNT(*) FROM rows GROUP BY state")
        .expect("query");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("rows");
    for row in rows {
        let (state, n) = row.expect("row");
        states.insert(state, n as u64);
    }
    let spent: i64 = conn
        .query_row(
            "SELECT COALESCE(SUM(attempts), 0) FROM rows WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )
        .expect("attempts");
    (states, spent as u64)
}

fn calls(stats: &Value) -> u64 {
    stats["calls"]
        .as_object()
        .expect("calls")
        .iter()
        .filter(|(k, _)| k.contains("/site-media/"))
        .filter_map(|(_, v)| v.as_u64())
        .sum()
}

/// A site that fills up mid-run stops the run at its first `SITE_QUOTA_EXCEEDED` (per item,
/// then for the whole call): exit 1 with a message saying what to do, the rows not done
/// queued at no attempt, a few calls at most after it; with the quota raised, the same
/// command brings every row home once, with no FAILED file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_site_stops_the_run_and_a_raised_quota_finishes_it() {
    let s = start(|c| c.quota_files = Some(5)).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    let mut csv = String::from("source,folder_path\n");
    for i in 0..30 {
        let url = src.add(
            &format!("/q/{i}.png"),
            Source::bytes("image/png", png(3 + i % 5, 2)),
        );
        csv.push_str(&format!("{url},/quota\n"));
    }
    std::fs::write(w.join("m.csv"), &csv).expect("manifest");
    let one_at_a_time = ["--batch-size", "10", "--concurrency", "1"];

    // 10 sent, 5 taken: the other 5 are refused per item, and the run stops.
    let (code, out) = run_to_end(run(&s, w, &one_at_a_time)).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SITE_QUOTA_EXCEEDED"), "{out}");
    assert!(out.contains("run the same command again"), "{out}");
    let stats = s.stats().await;
    assert_eq!(stats["calls"][BULK_IMPORT].as_u64(), Some(1), "{stats}");
    // The target check, the one import, and at most 3 more (polls of the 5 taken).
    assert!(calls(&stats) <= 5, "{stats}");
    let (states, spent) = journal_states(w);
    assert_eq!(states.get("queued").copied(), Some(25), "{states:?}");
    assert_eq!(spent, 0, "queued rows spent no attempt");
    assert_eq!(states.get("failed"), None, "{states:?}");

    // Still full: the whole call is refused, and nothing else is sent.
    let before = calls(&s.stats().await);
    let (code, out) = run_to_end(run(&s, w, &one_at_a_time)).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SITE_QUOTA_EXCEEDED"), "{out}");
    let after = calls(&s.stats().await);
    assert!(after - before <= 5, "{before} → {after}");
    let (states, spent) = journal_states(w);
    assert_eq!(states.get("queued").copied(), Some(25), "{states:?}");
    assert_eq!(spent, 0);

    // The quota raised: every row READY, once.
    let mut s = s;
    s.config.quota_files = None;
    s.bounce(Duration::ZERO).await;
    let (code, out) = run_to_end(run(&s, w, &one_at_a_time)).await;
    assert_eq!(code, 0, "{out}");
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), 30, "no file twice, none missing");
    assert!(
        files
            .iter()
            .all(|(p, f)| p == "/quota" && f["operationStatus"] == "READY")
    );
    let mut sources: Vec<&str> = files
        .iter()
        .map(|(_, f)| f["sourceUrl"].as_str().expect("source"))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    assert_eq!(sources.len(), 30);
}

/// Imports `n` rows into `/gone` with processing slow enough to delete one file while it is
/// PENDING (permanently, as a site owner might), and runs with `extra`; returns the exit code,
/// the output and the deleted file's source.
async fn run_deleting_one(s: &TestServer, w: &Path, extra: &[&str]) -> (i32, String, String) {
    let src = SourceServer::start().await;
    let mut csv = String::from("source,folder_path\n");
    for i in 0..3 {
        let url = src.add(
            &format!("/d/{i}.png"),
            Source::bytes("image/png", png(4, 2 + i)),
        );
        csv.push_str(&format!("{url},/gone\n"));
    }
    std::fs::write(w.join("m.csv"), &csv).expect("manifest");
    let child = run(s, w, extra).spawn().expect("run starts");
    // The first file taken: delete it for good while it is still PENDING.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (id, source) = loop {
        let (_, v) = s
            .post("/v1/files/search", json!({"paging": {"limit": 100}}))
            .await;
        let first = v["files"].as_array().and_then(|f| f.first()).cloned();
        if let Some(f) = first {
            assert_eq!(f["operationStatus"], "PENDING", "{f}");
            break (
                f["id"].as_str().expect("id").to_string(),
                f["sourceUrl"].as_str().expect("source").to_string(),
            );
        }
        assert!(Instant::now() < deadline, "no file was imported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    s.ok_post(
        "/v1/bulk/files/delete",
        json!({"fileIds": [id], "permanent": true}),
    )
    .await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("run ends"))
        .await
        .expect("join");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text, source)
}

/// A file deleted while it is polled makes Get File Descriptors answer `RESOURCE_NOT_FOUND`:
/// the other files are still answered, the run goes on, and the row is imported again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_mid_run_is_imported_again() {
    let s = start(|c| c.faults.processing_time = Some(MsRange { lo: 1500, hi: 1500 })).await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    let (code, out, source) = run_deleting_one(&s, w, &[]).await;
    assert_eq!(code, 0, "{out}");
    let files = s.files_with_paths().await;
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|(_, f)| f["operationStatus"] == "READY"));
    assert_eq!(
        files
            .iter()
            .filter(|(_, f)| f["sourceUrl"] == source.as_str())
            .count(),
        1,
        "the deleted file's row has a file again"
    );
    let report = read_csv(&w.join("reports/reconciliation.csv"));
    assert!(report.iter().all(|r| r["status"] == "ready"), "{report:?}");
}

/// With no re-import allowed, the row of a file deleted mid-run ends failed, the report
/// saying why; the rest of the run is unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_mid_run_is_reported_when_it_may_not_be_imported_again() {
    let s = start(|c| c.faults.processing_time = Some(MsRange { lo: 1500, hi: 1500 })).await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    let (code, out, source) = run_deleting_one(&s, w, &["--max-processing-attempts", "1"]).await;
    assert_eq!(code, 3, "{out}");
    let report = read_csv(&w.join("reports/reconciliation.csv"));
    let gone = report
        .iter()
        .find(|r| r["source"] == source)
        .expect("the deleted file's row");
    assert_eq!(gone["status"], "failed", "{gone:?}");
    assert_eq!(gone["error_code"], "FILE_NOT_FOUND", "{gone:?}");
    assert!(
        gone["error_message"].contains("no longer holds"),
        "{gone:?}"
    );
    assert_eq!(
        report.iter().filter(|r| r["status"] == "ready").count(),
        2,
        "{report:?}"
    );
}

/// `plan` counts what a folder path too long for `filePath` costs — a listing and a Create
/// Folder for each upper level made in steps, shared levels once — and `run` spends just the
/// Create Folder calls it counted, every file landing in its full path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_counts_the_folder_steps_a_run_makes() {
    let s = start(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    let long = long_path();
    let sibling = format!(
        "{}/Tentes et abris de randonnée légère",
        &long[..long.rfind('/').expect("levels")]
    );
    let folders = [long.as_str(), sibling.as_str(), "/short"];
    let mut csv = String::from("source,folder_path\n");
    for (i, folder) in folders.iter().enumerate() {
        let url = src.add(
            &format!("/p/{i}.png"),
            Source::bytes("image/png", png(2, 2 + i as u32)),
        );
        csv.push_str(&format!("{url},\"{folder}\"\n"));
    }
    std::fs::write(w.join("m.csv"), &csv).expect("manifest");
    let mut plan = Command::new(bin());
    plan.current_dir(w)
        .args(["plan", "m.csv", "--report-dir", "plan"]);
    let (code, out) = run_to_end(plan).await;
    assert_eq!(code, 0, "{out}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(w.join("plan/plan.json")).expect("plan.json"))
            .expect("json");
    // Both long paths step through the same two upper levels: the root's and the first
    // level's listings, and two Create Folder calls.
    assert_eq!(summary["apiCalls"]["folders"], 4, "{summary}");
    assert!(out.contains("4 of them reach folder paths longer"), "{out}");

    let (code, out) = run_to_end(run(&s, w, &[])).await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    assert_eq!(
        stats["calls"]["POST /site-media/v1/folders"].as_u64(),
        Some(2),
        "{stats}"
    );
    let mut paths: Vec<String> = s
        .files_with_paths()
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    paths.sort();
    let mut want: Vec<String> = folders.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(paths, want);
}
