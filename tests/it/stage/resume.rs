//! `run --stage`: rows sent again get what they need and nothing twice — a row imported again
//! after a FAILED import carries a URL signed then, not the expired first one; a run killed
//! between staging and import resumes without uploading again, every row READY once.

use super::{moto, photos, run};
use crate::support::{TestServer, kill_when, read_csv, run_to_end};

/// The signing time and lifetime of a presigned URL, in seconds.
fn signed_at(url: &str) -> (i64, i64) {
    let url = url::Url::parse(url).expect("a URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} in {url}"))
    };
    let at = jiff::Timestamp::strptime("%Y%m%dT%H%M%SZ%z", format!("{}+0000", param("X-Amz-Date")))
        .expect("X-Amz-Date")
        .as_second();
    (at, param("X-Amz-Expires").parse().expect("X-Amz-Expires"))
}

/// A row whose first import FAILED is imported again from a URL signed then: with URLs living
/// 1 s and the re-import at least 2 s after the failure, the first URL had expired when the
/// second was signed, and the second brings the file in READY.
#[tokio::test]
async fn a_row_imported_again_gets_a_freshly_signed_url() {
    use wix_media_manager::faults::{FaultConfig, FaultKind, Faults};
    // A seed under which the target fails the first processing and not the second.
    let seed = (0..)
        .find(|&seed| {
            let f = Faults::new(FaultConfig {
                seed,
                processing_failure_rate: 0.5,
                ..FaultConfig::default()
            });
            f.strikes(FaultKind::ProcessingFailure) && !f.strikes(FaultKind::ProcessingFailure)
        })
        .expect("a seed");
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start_with(|c| {
        c.faults.seed = seed;
        c.faults.processing_failure_rate = 0.5;
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 1);
    let (code, out) = run_to_end(run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/pfx",
        &["--stage-url-lifetime-secs", "1", "--keep-failed-files"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.stats().await["faults"]["processingFailure"], 1);
    let held = s.files_with_paths().await;
    let url_of = |status: &str| {
        let (_, f) = held
            .iter()
            .find(|(_, f)| f["operationStatus"] == status)
            .unwrap_or_else(|| panic!("a {status} file in {held:?}"));
        f["sourceUrl"].as_str().expect("sourceUrl").to_string()
    };
    let (first, again) = (url_of("FAILED"), url_of("READY"));
    let ((first_at, first_life), (again_at, again_life)) = (signed_at(&first), signed_at(&again));
    assert_eq!((first_life, again_life), (1, 1));
    assert!(
        again_at > first_at + first_life,
        "signed at {first_at} and again at {again_at}"
    );
    assert_eq!(moto.keys("media-in").await, Vec::<String>::new());
}

/// A run killed (SIGKILL) once its rows are staged, with rows `sending` (their import in
/// flight), resumes:
/// every row READY exactly once on the target, each distinct content stored once (the bucket
/// is versioned: one version a key, so nothing was uploaded again), and the objects the killed
/// run left behind deleted once their rows are READY.
#[tokio::test]
async fn a_run_killed_between_staging_and_import_resumes_without_uploading_again() {
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    moto.enable_versioning("media-in").await;
    // Every API call waits 300 ms, so the kill lands while the import is on its way.
    let s = TestServer::start_with(|c| c.faults.latency = Some("300".parse().unwrap())).await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 8);
    let journal = work.path().join("journal.sqlite");
    let journal_flag = ["--journal", journal.to_str().expect("utf-8 path")];
    let mut first = run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/pfx",
        &journal_flag,
    );
    let log = work.path().join("first.log");
    let mut child = first
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("run");
    let (staged, sending) = kill_when(
        &mut child,
        &journal,
        "every row staged, rows sending",
        |c| {
            let (staged, sending): (i64, i64) = c.query_row(
                "SELECT (SELECT COUNT(*) FROM staged),
                        (SELECT COUNT(*) FROM rows WHERE state = 'sending')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((staged >= files.len() as i64 && sending > 0).then_some((staged, sending)))
        },
    )
    .await;
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(staged, files.len() as i64, "{log}");
    assert!(sending <= files.len() as i64, "{sending} rows sending");
    let content = |keys: Vec<String>| -> Vec<String> {
        let mut keys: Vec<String> = keys.into_iter().filter(|k| k.ends_with(".png")).collect();
        keys.sort();
        keys
    };
    let stored = content(moto.keys("media-in").await);
    assert_eq!(
        stored.len(),
        6,
        "8 files, 3 of them the same bytes: {stored:?}"
    );
    let ready_before = s
        .files_with_paths()
        .await
        .iter()
        .filter(|(_, f)| f["operationStatus"] == "READY")
        .count();
    assert!(ready_before < files.len(), "the kill came too late");

    let (code, out) = run_to_end(run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/pfx",
        &journal_flag,
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("deleted 6 staged objects"), "{out}");
    let rows = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), files.len());
    assert!(rows.iter().all(|r| r["status"] == "ready"), "{rows:?}");
    let held = s.files_with_paths().await;
    assert_eq!(held.len(), files.len(), "{held:?}");
    for (name, size) in &files {
        let copies: Vec<_> = held
            .iter()
            .filter(|(_, f)| f["displayName"] == name.as_str())
            .collect();
        assert_eq!(copies.len(), 1, "{name}: {copies:?}");
        assert_eq!(copies[0].1["operationStatus"], "READY");
        assert_eq!(
            copies[0].1["sizeInBytes"].as_str(),
            Some(size.to_string().as_str())
        );
    }
    assert_eq!(
        content(moto.versions("media-in").await),
        stored,
        "uploaded again"
    );
    assert_eq!(content(moto.keys("media-in").await), Vec::<String>::new());
}
