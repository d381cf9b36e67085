//! Scheduled imports (issue 14): one journal per site, rows the target already holds adopted
//! rather than imported again (journal lost, manifest renamed), rows changed under their
//! `external_id` imported again (`--replace` trashes the old file), `--prune` of rows a snapshot
//! leaves out (only our files, within `--max-prune`), appended manifests read from their tail,
//! and SIGKILL during adoption and during pruning, resumed exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{
    Source, SourceServer, TestServer, bin, kill_when, png, positive, read_csv, run_to_end,
};

pub(crate) const KEY: &str = "scheduled-key";
pub(crate) const SITE: &str = "site-scheduled";

pub(crate) async fn target(tweak: impl FnOnce(&mut wix_media_manager::ServerConfig)) -> TestServer {
    TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
        tweak(c);
    })
    .await
}

/// Rows `range` as CSV lines `source,folder_path,display_name,external_id` (sources added to `src`).
pub(crate) fn rows(
    src: &SourceServer,
    range: std::ops::Range<usize>,
    folders: usize,
) -> Vec<String> {
    let image = png(6, 5);
    range
        .map(|i| {
            let url = src.add(
                &format!("/s/{i}.png"),
                Source::bytes("image/png", image.clone()),
            );
            format!("{url},/shop/f{},item-{i}.png,ext-{i}", i % folders)
        })
        .collect()
}

pub(crate) fn write(path: &Path, lines: &[String]) {
    let mut csv = String::from("source,folder_path,display_name,external_id\n");
    for l in lines {
        csv.push_str(l);
        csv.push('\n');
    }
    std::fs::write(path, csv).expect("manifest");
}

/// `media-migrate run` against `s` from `work`; the journal is `journal` when given, else the
/// per-site default under `work/data` (XDG_DATA_HOME).
pub(crate) fn run(
    s: &TestServer,
    work: &Path,
    manifest: &Path,
    journal: Option<&str>,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .env("XDG_DATA_HOME", work.join("data"))
        .arg("run")
        .arg(manifest)
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", SITE])
        .args([
            "--report-dir",
            "reports",
            "--rate",
            "6000",
            "--wait-timeout-secs",
            "60",
        ])
        .args(extra)
        .stdin(Stdio::null());
    if let Some(j) = journal {
        cmd.args(["--journal", j]);
    }
    cmd
}

pub(crate) fn report(work: &Path) -> Vec<HashMap<String, String>> {
    read_csv(&work.join("reports/reconciliation.csv"))
}

pub(crate) fn summary(work: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(work.join("reports/summary.json")).expect("summary"))
        .expect("json")
}

pub(crate) async fn live_files(s: &TestServer) -> Vec<(String, Value)> {
    s.files_with_paths().await
}

fn bulk_imports(stats: &Value) -> u64 {
    stats["calls"]["POST /site-media/v1/bulk/files/import-v2"]
        .as_u64()
        .unwrap_or(0)
}

/// With its journal deleted, a re-run of a finished migration imports nothing: every row is
/// `ready`, adopted; and the same rows under a new manifest name, run from another folder with
/// the per-site default journal, make no new file either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_journal_and_renamed_manifest_import_nothing_twice() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let lines = rows(&src, 0..40, 3);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(live_files(&s).await.len(), 40);

    std::fs::remove_file(work.path().join("j.sqlite")).expect("journal deleted");
    let imports = bulk_imports(&s.stats().await);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(live_files(&s).await.len(), 40, "no new file");
    assert_eq!(bulk_imports(&s.stats().await), imports, "no import call");
    let r = report(work.path());
    assert_eq!(r.len(), 40);
    assert!(
        r.iter()
            .all(|r| r["status"] == "ready" && r["origin"] == "adopted"),
        "{r:?}"
    );
    let sum = summary(work.path());
    assert_eq!(sum["counts"]["adopted"], 40);
    // 3 folders listed (one call each: < 100 files) and their path looked up: a few calls.
    assert_eq!(sum["adoptionListings"], 3, "{sum}");

    // The per-site default journal: the first run adopts (a fresh journal), a renamed copy run
    // from elsewhere finds every row in the same journal.
    let (code, out) = run_to_end(run(&s, work.path(), &m, None, &[])).await;
    assert_eq!(code, 0, "{out}");
    let other = tempfile::tempdir().expect("other dir");
    let renamed = other.path().join("tonight.csv");
    write(&renamed, &lines);
    let mut cmd = run(&s, other.path(), &renamed, None, &[]);
    cmd.env("XDG_DATA_HOME", work.path().join("data"));
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 0, "{out}");
    let journals: Vec<_> = std::fs::read_dir(work.path().join("data/media-migrate/journals"))
        .expect("journal dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sqlite"))
        .collect();
    assert_eq!(journals.len(), 1, "one journal for the site");
    assert_eq!(live_files(&s).await.len(), 40, "no new file");
    let sum = summary(other.path());
    assert_eq!(sum["ingest"]["known"], 40, "{sum}");
    assert_eq!(sum["adoptionListings"], 0, "known rows need no look");
}

/// A known external_id whose source or name changed is imported again (`updated`, url-map
/// pointing at the new file); the old file stays without `--replace` and goes to the trash
/// with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_rows_are_updated_and_replace_trashes_the_old_file() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let mut lines = rows(&src, 0..10, 2);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let first: HashMap<String, String> = report(work.path())
        .into_iter()
        .map(|r| (r["line"].clone(), r["file_id"].clone()))
        .collect();

    let new_source = src.add("/s/changed-3.png", Source::bytes("image/png", png(9, 9)));
    lines[3] = format!("{new_source},/shop/f1,item-3.png,ext-3");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let r = report(work.path());
    let row = r.iter().find(|r| r["line"] == "5").expect("row");
    assert_eq!(
        (row["status"].as_str(), row["origin"].as_str()),
        ("ready", "updated")
    );
    let old = &first["5"];
    assert_ne!(&row["file_id"], old);
    let map = read_csv(&work.path().join("reports/url-map.csv"));
    assert!(
        map.iter()
            .any(|m| m["source"] == new_source && m["file_id"] == row["file_id"])
    );
    assert_eq!(
        live_files(&s).await.len(),
        11,
        "the old file stays without --replace"
    );
    assert_eq!(summary(work.path())["ingest"]["updated"], 1);

    lines[4] = lines[4].replace("item-4.png", "renamed-4.png");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &["--replace"])).await;
    assert_eq!(code, 0, "{out}");
    let r = report(work.path());
    let row = r.iter().find(|r| r["line"] == "6").expect("row");
    assert_eq!(row["origin"], "updated");
    let files = live_files(&s).await;
    let ids: Vec<&str> = files
        .iter()
        .map(|(_, f)| f["id"].as_str().unwrap())
        .collect();
    // --replace trashes every superseded file whose row's new file is READY: this run's and
    // the one left by the run without it.
    assert!(!ids.contains(&first["6"].as_str()), "replaced file trashed");
    assert!(!ids.contains(&old.as_str()), "{ids:?}");
    assert_eq!(ids.len(), 10);
    assert_eq!(summary(work.path())["replaced"], 2);
}

/// `--prune` trashes the files this journal imported for rows the snapshot leaves out, never a
/// file uploaded to the site another way, and refuses (exit 1, nothing trashed) past
/// `--max-prune`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_trashes_only_our_files_within_the_limit() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let lines = rows(&src, 0..20, 2);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    // A file of the site's own, in the same folder, with the source and name of row 19.
    let theirs_src = lines[19].split(',').next().unwrap().to_string();
    let theirs = s
        .ok_post(
            "/v1/files/import",
            json!({"url": theirs_src, "filePath": "/shop/f1", "displayName": "item-19.png"}),
        )
        .await;
    let theirs_id = theirs["file"]["id"].as_str().unwrap().to_string();
    s.wait_processed(&theirs_id).await;
    let ours: HashMap<String, String> = report(work.path())
        .into_iter()
        .map(|r| (r["line"].clone(), r["file_id"].clone()))
        .collect();

    // 5 of 20 left out: 25 % > 5 %.
    write(&m, &lines[..15]);
    // plan --prune shows what would go, and that the limit would refuse it, touching nothing.
    let plan = |extra: &'static [&'static str]| {
        let mut cmd = std::process::Command::new(crate::support::bin());
        cmd.current_dir(work.path())
            .args(["plan", "m.csv", "--prune", "--journal", "j.sqlite"])
            .args(extra);
        cmd
    };
    let (code, out) = run_to_end(plan(&[])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("would refuse"), "{out}");
    let preview = read_csv(&work.path().join("plan/prune.csv"));
    let previewed: Vec<&str> = preview.iter().map(|r| r["file_id"].as_str()).collect();
    let want: Vec<&str> = (15..20)
        .map(|i| ours[&(i + 2).to_string()].as_str())
        .collect();
    assert_eq!(previewed, want, "the five files left out, ours only");
    let plan_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("plan/plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan_json["prune"]["files"], 5);
    assert_eq!(plan_json["prune"]["journalFiles"], 20);
    assert_eq!(plan_json["prune"]["wouldRefuse"], true);
    let (code, out) = run_to_end(plan(&["--max-prune", "30"])).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("would refuse"), "{out}");
    assert_eq!(live_files(&s).await.len(), 21, "plan trashed nothing");
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &["--prune"])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--max-prune"), "{out}");
    assert_eq!(live_files(&s).await.len(), 21, "nothing trashed");

    let (code, out) = run_to_end(run(
        &s,
        work.path(),
        &m,
        Some("j.sqlite"),
        &["--prune", "--max-prune", "30%"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let pruned = read_csv(&work.path().join("reports/pruned.csv"));
    assert_eq!(pruned.len(), 5, "{pruned:?}");
    let live: Vec<String> = live_files(&s)
        .await
        .iter()
        .map(|(_, f)| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(live.len(), 16, "15 rows + theirs");
    assert!(
        live.contains(&theirs_id),
        "a file we didn't create is never pruned"
    );
    for i in 15..20 {
        assert!(
            !live.contains(&ours[&(i + 2).to_string()]),
            "row {i} pruned"
        );
        assert_eq!(
            s.file(&ours[&(i + 2).to_string()]).await.state,
            Some(wix_media_wire::types::State::Deleted)
        );
    }
    assert_eq!(summary(work.path())["pruned"], 5);
}

/// `--prune` with invalid lines in the snapshot prunes nothing: an invalid line's row would
/// otherwise be taken for one the manifest left out, and its file trashed. `plan --prune`
/// says so too; once the line is fixed, rows really left out are pruned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_skips_while_manifest_lines_are_invalid() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let lines = rows(&src, 0..10, 2);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(live_files(&s).await.len(), 10);

    // Row 3's source broken by an export (same key), row 9 really left out.
    let mut snapshot = lines[..9].to_vec();
    snapshot[3] = snapshot[3].replacen("http://", "ftp://", 1);
    write(&m, &snapshot);
    let mut plan = std::process::Command::new(crate::support::bin());
    plan.current_dir(work.path())
        .args(["plan", "m.csv", "--prune", "--journal", "j.sqlite"]);
    let (code, out) = run_to_end(plan).await;
    assert_eq!(code, 3, "an invalid line makes plan's 3: {out}");
    assert!(out.contains("would prune nothing"), "{out}");
    let plan_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("plan/plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan_json["prune"]["wouldSkipForInvalid"], true);

    let flags = ["--prune", "--max-prune", "50"];
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 3, "the invalid line makes a 3: {out}");
    assert!(out.contains("not pruning this run"), "{out}");
    assert_eq!(live_files(&s).await.len(), 10, "nothing trashed");
    assert_eq!(summary(work.path())["pruned"], 0);
    assert_eq!(summary(work.path())["pruneSkippedForInvalid"], true);

    write(&m, &lines[..9]);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(work.path())["pruned"], 1);
    assert_eq!(summary(work.path())["pruneSkippedForInvalid"], false);
    assert_eq!(
        live_files(&s).await.len(),
        9,
        "only the row left out is pruned"
    );
}

/// A manifest that grew at its end is read from where the last read ended (rows read = the
/// new ones, line numbers right); one edited in the middle is read whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_manifest_read_from_its_tail_edited_one_whole() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let mut lines = rows(&src, 0..30, 3);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(work.path())["ingest"]["rowsRead"], 30);

    lines.extend(rows(&src, 30..38, 3));
    lines.push(lines[2].clone()); // a duplicate of line 4 in the tail
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let sum = summary(work.path());
    assert_eq!(sum["ingest"]["rowsRead"], 9, "{sum}");
    assert_eq!(sum["ingest"]["rows"], 39);
    assert_eq!(sum["ingest"]["new"], 8);
    assert_eq!(sum["ingest"]["duplicate"], 1);
    let r = report(work.path());
    assert_eq!(r.len(), 39);
    for (i, row) in r.iter().enumerate() {
        assert_eq!(row["line"], (i + 2).to_string());
    }
    assert_eq!(r[38]["status"], "duplicate");
    assert_eq!(live_files(&s).await.len(), 38);

    lines[5] = lines[5].replace("item-5.png", "item-5b.png");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(work.path())["ingest"]["rowsRead"], 39, "read whole");
}

/// Killed while adopting (the journal lost, many folders to look at), then resumed: every row
/// ends adopted, no file made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_adoption_then_resume_exactly_once() {
    let s = target(|c| c.faults.latency = Some("40..60".parse().unwrap())).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let m = work.path().join("m.csv");
    write(&m, &rows(&src, 0..60, 30));
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    std::fs::remove_file(work.path().join("j.sqlite")).expect("journal deleted");
    let mut child = run(&s, work.path(), &m, Some("j.sqlite"), &[])
        .spawn()
        .expect("spawn");
    let (adopted, unchecked) = kill_when(
        &mut child,
        &work.path().join("j.sqlite"),
        "rows adopted and rows still to look for",
        |c| {
            let (adopted, unchecked): (i64, i64) = c.query_row(
                "SELECT (SELECT COUNT(*) FROM rows WHERE origin = 'adopted'),
                        (SELECT COUNT(*) FROM rows WHERE adopt_check = 1)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((adopted > 0 && unchecked > 0).then_some((adopted, unchecked)))
        },
    )
    .await;
    assert!(
        adopted < 60,
        "{adopted} rows adopted, {unchecked} to look for"
    );
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(live_files(&s).await.len(), 60, "no new file");
    let r = report(work.path());
    assert!(
        r.iter()
            .all(|r| r["status"] == "ready" && r["origin"] == "adopted"),
        "{r:?}"
    );
    let ids: std::collections::HashSet<&String> = r.iter().map(|r| &r["file_id"]).collect();
    assert_eq!(ids.len(), 60, "each file adopted by one row");
}

/// Killed while pruning (files marked for the trash, the call under way), then resumed: every
/// pruned file in the trash once, every kept one live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_prune_then_resume_exactly_once() {
    let s = target(|c| c.faults.latency = Some("300..400".parse().unwrap())).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let m = work.path().join("m.csv");
    let lines = rows(&src, 0..20, 2);
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    write(&m, &lines[..12]);
    let prune = ["--prune", "--max-prune", "50"];
    let mut child = run(&s, work.path(), &m, Some("j.sqlite"), &prune)
        .spawn()
        .expect("spawn");
    let trashing = kill_when(
        &mut child,
        &work.path().join("j.sqlite"),
        "rows marked for the trash",
        |c| positive(c, "SELECT COUNT(*) FROM rows WHERE prune_step = 'trashing'"),
    )
    .await;
    assert!(trashing <= 8, "{trashing} rows marked for the trash");
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &prune)).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(live_files(&s).await.len(), 12);
    let pruned = read_csv(&work.path().join("reports/pruned.csv"));
    assert_eq!(pruned.len(), 8, "{pruned:?}");
    let conn = rusqlite::Connection::open(work.path().join("j.sqlite")).expect("journal");
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM rows WHERE prune_step = 'trashing'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}
