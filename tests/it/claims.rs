//! What a run may take for its own at the target: a file stands for a URL row only with the
//! row's `sourceUrl` and name, and a FAILED file is never adopted. A folder that already holds,
//! for each row, a file of the same name from another source (foreign) and a FAILED file of
//! the same name and source ends with each row holding a new READY file of its own — whether
//! the files were looked for by adoption, or by settling after Bulk Import answers were lost.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::scheduled::{KEY, SITE, report, run, summary, target, write};
use crate::support::{Source, SourceServer, TestServer, png, run_to_end};

/// The files put in the folder before the run.
struct Planted {
    /// The rows' manifest lines.
    lines: Vec<String>,
    /// The rows' source URLs, by row.
    sources: Vec<String>,
    /// Every file planted: foreign and FAILED.
    ids: HashSet<String>,
}

/// A file put in the folder before the run, for each row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plant {
    /// READY, of the row's name, imported from another URL.
    Foreign,
    /// FAILED, of the row's name, imported from the row's own URL while it answered 404.
    Failed,
}

/// For each of `n` rows in `/shop/f0` named `item-<i>.png`, a file of each kind of `kinds`;
/// then the row's source answers with its image.
async fn plant(s: &TestServer, src: &SourceServer, n: usize, kinds: &[Plant]) -> Planted {
    let mut gone = Source::bytes("text/plain", b"not yet".to_vec());
    gone.status = 404;
    let (mut requests, mut wanted, mut sources) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let own = src.add(&format!("/s/{i}.png"), gone.clone());
        let name = format!("item-{i}.png");
        for kind in kinds {
            let (url, want) = match kind {
                Plant::Foreign => (
                    src.add(
                        &format!("/other/{i}.png"),
                        Source::bytes("image/png", png(7, 3 + i as u32)),
                    ),
                    "READY",
                ),
                Plant::Failed => (own.clone(), "FAILED"),
            };
            requests.push(json!({"url": url, "filePath": "/shop/f0", "displayName": name}));
            wanted.push(want);
        }
        sources.push(own);
    }
    let answer = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": requests, "returnEntity": true}),
        )
        .await;
    let mut ids = HashSet::new();
    for result in answer["results"].as_array().expect("results") {
        let k = result["itemMetadata"]["originalIndex"]
            .as_u64()
            .unwrap_or(0) as usize;
        let id = result["item"]["id"].as_str().expect("planted file id");
        let file = s.wait_processed(id).await;
        assert_eq!(
            serde_json::to_value(file.operation_status).expect("status"),
            wanted[k],
            "planted file {k}"
        );
        ids.insert(id.to_string());
    }
    let mut lines = Vec::new();
    for (i, own) in sources.iter().enumerate() {
        src.add(
            &format!("/s/{i}.png"),
            Source::bytes("image/png", png(6, 5 + i as u32)),
        );
        lines.push(format!("{own},/shop/f0,item-{i}.png,ext-{i}"));
    }
    Planted {
        lines,
        sources,
        ids,
    }
}

/// Every row ready with a new file of its own source (none of the planted ones), READY; the
/// site holds the planted files and one file per row, nothing more.
async fn assert_own_files(s: &TestServer, work: &std::path::Path, planted: &Planted, out: &str) {
    let rows = report(work);
    assert_eq!(rows.len(), planted.sources.len());
    let live: Vec<Value> = s
        .files_with_paths()
        .await
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["status"], "ready", "{row:?}");
        assert_ne!(
            row["origin"], "adopted",
            "nothing here is the row's: {row:?}"
        );
        let id = &row["file_id"];
        assert!(
            !planted.ids.contains(id),
            "row {i} claimed a planted file (foreign or FAILED): {row:?}"
        );
        let file = live
            .iter()
            .find(|f| f["id"] == id.as_str())
            .unwrap_or_else(|| panic!("row {i}'s file {id} is not live"));
        assert_eq!(file["sourceUrl"], planted.sources[i].as_str(), "{file}");
        assert_eq!(file["operationStatus"], "READY", "{file}");
    }
    assert_eq!(
        live.len(),
        planted.ids.len() + rows.len(),
        "the planted files and one file per row, every planted file still live: {out}"
    );
}

/// Adoption: a foreign file of the row's name is not the row's, a FAILED one of its name and
/// source is not adopted; each row is imported afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_takes_no_foreign_file_and_no_failed_one() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let planted = plant(&s, &src, 4, &[Plant::Foreign, Plant::Failed]).await;
    let work = tempfile::tempdir().expect("work");
    let m = work.path().join("m.csv");
    write(&m, &planted.lines);
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &[])).await;
    assert_eq!(code, 0, "{out}");
    let sum = summary(work.path());
    assert_eq!(
        sum["adoptionListings"], 1,
        "the folder was looked at: {sum}"
    );
    assert_eq!(sum["counts"]["adopted"], 0, "{sum}");
    assert_own_files(&s, work.path(), &planted, &out).await;
}

/// Settling: Bulk Imports answered 503 or their answers lost, the rows in doubt are resolved
/// by looking at the folder, where `kinds` of files of each row's name wait; each row ends with
/// the file its own import made, and the planted files are left alone. With `adopt` false
/// (`--no-adopt`) only settling looks; with it, adoption lists the folder first and adopts
/// nothing (no file there is a row's), and settling decides as before, from what that listing
/// taught the journal.
async fn settle_among(kinds: &[Plant], adopt: bool) {
    const ROWS: usize = 30;
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let planted = plant(&s, &src, ROWS, kinds).await;
    // A fifth of the calls are answered 503 before anything is done (the import's file doesn't
    // exist when the folder is looked at: only the planted ones can be found), a few more are
    // performed and their answers lost (the file exists). With one file per Bulk Import, both
    // surely meet some imports (seeded); reads are resent.
    let s = s
        .restart(|c| {
            c.api_keys = vec![KEY.to_string()];
            c.site_id = SITE.to_string();
            c.faults.seed = 23;
            c.faults.error_rate = 0.2;
            c.faults.lost_response_rate = 0.05;
        })
        .await;
    let work = tempfile::tempdir().expect("work");
    let m = work.path().join("m.csv");
    write(&m, &planted.lines);
    let flags: &[&str] = if adopt {
        &["--batch-size", "1"]
    } else {
        &["--no-adopt", "--batch-size", "1"]
    };
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), flags)).await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    for fault in ["error503", "lostResponse"] {
        assert!(
            stats["faults"][fault].as_u64().unwrap_or(0) > 0,
            "no {fault}: {stats}"
        );
    }
    let sum = summary(work.path());
    assert!(
        sum["settledInDoubt"].as_u64().unwrap_or(0) > 0,
        "no row was settled: {sum}"
    );
    // Look at the result without faults in the way.
    let s = s
        .restart(|c| {
            c.api_keys = vec![KEY.to_string()];
            c.site_id = SITE.to_string();
        })
        .await;
    tokio::time::timeout(
        Duration::from_secs(60),
        assert_own_files(&s, work.path(), &planted, &out),
    )
    .await
    .expect("the target answers");
}

/// Settling never takes a foreign file of the row's name (another `sourceUrl`) for the row's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_takes_no_foreign_file() {
    settle_among(&[Plant::Foreign], false).await;
}

/// Settling never takes a FAILED file it did not make (of the row's name and source, in the
/// folder before the run) for the row's — nor, having taken it, moves it to the trash to
/// import again.
///
/// After a Bulk Import answered 503 (nothing done), settling's look finds only the planted
/// FAILED file of the row's name and source; claiming it (as `claim` in
/// `src/pipeline/settle.rs` did) lets the heal round move that file — one the tool didn't
/// create — to the trash ("5 FAILED files moved to the trash"). Skipping FAILED files there
/// would leave a run's own FAILED file (answer lost, processing failed) behind unclaimed: what
/// tells them apart is adoption's listing, taken before any send (the planted files are
/// recorded as not the journal's). Adoption is on here: the planted files are a second old at
/// the send, too young for the other test, the creation time (`createdDate` has whole
/// seconds; see `made_before_sent`), to tell apart under `--no-adopt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_takes_no_failed_file_it_did_not_make() {
    settle_among(&[Plant::Failed], true).await;
}
