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

/// For each of `n` rows in `/shop/f0` named `item-<i>.png`: a READY file of that name from
/// another URL, and a FAILED file of that name from the row's own URL (imported while the
/// source answered 404); then the row's source answers with its image.
async fn plant(s: &TestServer, src: &SourceServer, n: usize) -> Planted {
    let mut gone = Source::bytes("text/plain", b"not yet".to_vec());
    gone.status = 404;
    let mut requests = Vec::new();
    let mut sources = Vec::new();
    for i in 0..n {
        let own = src.add(&format!("/s/{i}.png"), gone.clone());
        let other = src.add(
            &format!("/other/{i}.png"),
            Source::bytes("image/png", png(7, 3 + i as u32)),
        );
        let name = format!("item-{i}.png");
        requests.push(json!({"url": other, "filePath": "/shop/f0", "displayName": name}));
        requests.push(json!({"url": own, "filePath": "/shop/f0", "displayName": name}));
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
            .unwrap_or(0);
        let id = result["item"]["id"].as_str().expect("planted file id");
        let file = s.wait_processed(id).await;
        // Even requests are the foreign files, odd ones the rows' own sources, still 404.
        let want = if k % 2 == 0 { "READY" } else { "FAILED" };
        assert_eq!(
            serde_json::to_value(file.operation_status).expect("status"),
            want,
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
async fn assert_own_files(s: &TestServer, work: &std::path::Path, planted: &Planted) {
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
        "the planted files and one file per row: {live:?}"
    );
}

/// Adoption: a foreign file of the row's name is not the row's, a FAILED one of its name and
/// source is not adopted; each row is imported afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_takes_no_foreign_file_and_no_failed_one() {
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let planted = plant(&s, &src, 4).await;
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
    assert_own_files(&s, work.path(), &planted).await;
}

/// Settling: Bulk Import answers lost (adoption off, so only settling looks), the rows in doubt
/// are resolved by looking at the folder — where a foreign file and a FAILED file of each
/// row's name wait — and each ends with the file its own import made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_takes_no_foreign_file_and_no_failed_one() {
    const ROWS: usize = 30;
    let s = target(|_| {}).await;
    let src = SourceServer::start().await;
    let planted = plant(&s, &src, ROWS).await;
    // A quarter of the calls lose their answers: with one file per Bulk Import, some surely do
    // (seeded); reads are resent.
    let s = s
        .restart(|c| {
            c.api_keys = vec![KEY.to_string()];
            c.site_id = SITE.to_string();
            c.faults.seed = 23;
            c.faults.lost_response_rate = 0.25;
        })
        .await;
    let work = tempfile::tempdir().expect("work");
    let m = work.path().join("m.csv");
    write(&m, &planted.lines);
    let flags = ["--no-adopt", "--batch-size", "1"];
    let (code, out) = run_to_end(run(&s, work.path(), &m, Some("j.sqlite"), &flags)).await;
    assert_eq!(code, 0, "{out}");
    let stats = s.stats().await;
    assert!(
        stats["faults"]["lostResponse"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
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
        assert_own_files(&s, work.path(), &planted),
    )
    .await
    .expect("the target answers");
}
