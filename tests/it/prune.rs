//! `--prune` at its edges: a file the journal adopted (the site held it before the first run)
//! is never pruned when a snapshot leaves its row out, and `--max-prune` refuses only *more*
//! than its share of the journal's files — exactly the share is pruned.

use std::collections::HashMap;

use serde_json::json;

use crate::scheduled::{live_files, report, rows, run, summary, target, write};
use crate::support::{SourceServer, read_csv, run_to_end};

/// Ids of the files the site holds (trash left out).
async fn live_ids(s: &crate::support::TestServer) -> Vec<String> {
    live_files(s)
        .await
        .iter()
        .map(|(_, f)| f["id"].as_str().expect("id").to_string())
        .collect()
}

/// A row whose file the site held before the first run is adopted; a later snapshot that
/// leaves that row out, run with `--prune`, trashes the imported files left out but never the
/// adopted one (the README: adopted files are never pruned).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_never_trashes_an_adopted_file() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let lines = rows(&src, 0..10, 1);
    // Before the first run, the site already holds row 0's file (same source, folder, name).
    let source0 = lines[0].split(',').next().expect("source").to_string();
    let theirs = s
        .ok_post(
            "/v1/files/import",
            json!({"url": source0, "filePath": "/shop/f0", "displayName": "item-0.png"}),
        )
        .await;
    let adopted_id = theirs["file"]["id"].as_str().expect("id").to_string();
    s.wait_processed(&adopted_id).await;

    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let first: HashMap<String, (String, String)> = report(work.path())
        .into_iter()
        .map(|r| {
            (
                r["line"].clone(),
                (r["file_id"].clone(), r["origin"].clone()),
            )
        })
        .collect();
    assert_eq!(
        first["2"],
        (adopted_id.clone(), "adopted".to_string()),
        "row 0 (line 2) adopted the site's file: {first:?}"
    );
    let imported_9 = first["11"].0.clone();
    assert_eq!(first["11"].1, "imported", "{first:?}");

    // The next snapshot leaves out row 0 (adopted) and row 9 (imported).
    write(&m, &lines[1..9]);
    let flags = ["--prune", "--max-prune", "50"];
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 0, "{out}");
    let pruned: Vec<String> = read_csv(&work.path().join("reports/pruned.csv"))
        .into_iter()
        .map(|r| r["file_id"].clone())
        .collect();
    assert_eq!(pruned, vec![imported_9.clone()], "only the imported file");
    let live = live_ids(&s).await;
    assert!(
        live.contains(&adopted_id),
        "the adopted file was trashed: live {live:?}, pruned {pruned:?}"
    );
    assert!(!live.contains(&imported_9), "{live:?}");
    assert_eq!(live.len(), 9, "{live:?}");
    assert_eq!(summary(work.path())["pruned"], 1);
}

/// `--max-prune P` refuses more than P % of the journal's files and prunes exactly P %: with 20
/// files and P = 25, 6 left out is refused (exit 1, nothing trashed, `plan` says it would
/// refuse), 5 left out is pruned (and `plan` says it would not refuse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_prune_is_exact_at_its_boundary() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let lines = rows(&src, 0..20, 2);
    let m = work.path().join("m.csv");
    write(&m, &lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let plan = || {
        let mut cmd = std::process::Command::new(crate::support::bin());
        cmd.current_dir(work.path()).args([
            "plan",
            "m.csv",
            "--prune",
            "--max-prune",
            "25",
            "--journal",
            "j.sqlite",
        ]);
        cmd
    };
    let plan_json = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(work.path().join("plan/plan.json")).expect("plan"))
            .expect("json")
    };
    let flags = ["--prune", "--max-prune", "25"];

    // 6 of 20 = 30 % > 25 %: refused.
    write(&m, &lines[..14]);
    let (code, out) = run_to_end(plan()).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(plan_json()["prune"]["files"], 6);
    assert_eq!(plan_json()["prune"]["wouldRefuse"], true, "6 of 20 > 25 %");
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 1, "6 of 20 is more than 25 %: {out}");
    assert!(out.contains("--max-prune"), "{out}");
    assert_eq!(live_ids(&s).await.len(), 20, "nothing trashed");

    // 5 of 20 = 25 %, not more: pruned.
    write(&m, &lines[..15]);
    let (code, out) = run_to_end(plan()).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(plan_json()["prune"]["files"], 5);
    assert_eq!(plan_json()["prune"]["wouldRefuse"], false, "5 of 20 = 25 %");
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 0, "5 of 20 is exactly 25 %: {out}");
    assert_eq!(
        read_csv(&work.path().join("reports/pruned.csv")).len(),
        5,
        "{out}"
    );
    assert_eq!(live_ids(&s).await.len(), 15);
}
