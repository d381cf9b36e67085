//! Resume benchmark: the time from starting `media-migrate run` on a journal of 1,000,000 rows,
//! 999,000 of them done, to the first Bulk Import the target receives (the target check before
//! the work and adoption's listings don't count: the runs pass `--no-adopt`, and what is timed is
//! reading the journal and the manifest). Then a nightly append: the same manifest grown by
//! 1,000 rows at its end, read from where the last read ended. Run on demand:
//!
//! ```sh
//! cargo bench --bench resume                  # 1,000,000 rows, 1,000 left
//! cargo bench --bench resume -- --rows 200000 --left 500
//! ```
//! The journal is made by reading the manifest as a first run would and marking all but the
//! last rows READY. The release binary then runs against a local Media Manager in this process;
//! `/_local/stats` is polled every 2 ms until the first import arrives. Three resumes are timed,
//! each on a fresh copy of the journal; the run is killed once its first import is counted.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use media_migrate::journal::Journal;
use media_migrate::manifest::ManifestOptions;
use wix_media_manager::stats::StatsReport;
use wix_media_manager::{LocalServer, ServerConfig};

const API_KEY: &str = "bench-resume-key";
const SITE: &str = "site-resume";

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write_manifest(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create manifest"));
    writeln!(out, "source,folder_path,display_name").expect("write");
    for i in 0..rows {
        writeln!(
            out,
            "http://127.0.0.1:9/catalog/{i}.jpg,/catalog/dept-{},item-{i}.jpg",
            i % 20
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// A journal of `rows` rows whose first `rows - left` are READY, as a first run leaves it.
fn prepare_journal(manifest: &Path, journal: &Path, rows: usize, left: usize) {
    let mut j = Journal::open(journal).expect("journal");
    let run = j.begin_run().expect("run");
    let counts = j
        .ingest_manifest(run, manifest, &ManifestOptions::default())
        .expect("ingest");
    assert_eq!(counts.new as usize, rows);
    drop(j);
    let conn = rusqlite::Connection::open(journal).expect("sqlite");
    let done = conn
        .execute(
            "UPDATE rows SET state = 'ready', operation_status = 'READY', file_id = 'file-' || line,
                 accepted_ms = updated_ms
             WHERE line <= ?1",
            [(rows - left + 1) as i64],
        )
        .expect("mark done");
    assert_eq!(done, rows - left);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
}

fn copy_journal(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let (mut a, mut b) = (from.as_os_str().to_owned(), to.as_os_str().to_owned());
        a.push(suffix);
        b.push(suffix);
        if Path::new(&a).exists() {
            std::fs::copy(&a, &b).expect("copy journal");
        }
    }
}

/// The endpoint timed: the first Bulk Import.
const IMPORT: &str = "POST /site-media/v1/bulk/files/import-v2";

async fn total_calls(http: &reqwest::Client, base: &str) -> u64 {
    let Ok(response) = http
        .get(format!("{base}/_local/stats"))
        .header("Authorization", API_KEY)
        .send()
        .await
    else {
        return 0;
    };
    response
        .json::<StatsReport>()
        .await
        .map_or(0, |s| s.calls.get(IMPORT).copied().unwrap_or(0))
}

/// Starts a resume on a fresh copy of `journal` and returns the seconds until the target
/// counts its first request; the run is then killed.
async fn time_to_first_request(
    server: &LocalServer,
    http: &reqwest::Client,
    dir: &Path,
    manifest: &Path,
    journal: &Path,
    attempt: u32,
) -> f64 {
    let copy = dir.join(format!("resume-{attempt}.sqlite"));
    copy_journal(journal, &copy);
    let before = total_calls(http, &server.url).await;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_media-migrate"))
        .arg("run")
        .arg(manifest)
        .arg("--journal")
        .arg(&copy)
        .arg("--report-dir")
        .arg(dir.join(format!("report-{attempt}")))
        .args(["--base-url", &server.url, "--site-id", SITE, "--no-adopt"])
        .env("WIX_API_KEY", API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start media-migrate");
    let deadline = started + Duration::from_secs(300);
    while total_calls(http, &server.url).await == before {
        assert!(Instant::now() < deadline, "no request within 300 s");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("media-migrate exited ({status}) before its first request");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    secs
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = arg(&args, "--rows", 1_000_000);
    let left = arg(&args, "--left", 1_000).min(rows);
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("manifest.csv");
    let journal = dir.path().join("journal.sqlite");
    let started = Instant::now();
    write_manifest(&manifest, rows);
    prepare_journal(&manifest, &journal, rows, left);
    println!(
        "resume benchmark: {rows} rows, {left} left; journal prepared in {:.1}s ({:.0} MiB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&journal).map_or(0, |m| m.len()) as f64 / 1048576.0
    );

    let mut config = ServerConfig::new(dir.path().join("server"));
    config.api_keys = vec![API_KEY.to_string()];
    config.site_id = SITE.to_string();
    let server = LocalServer::start(config, 0).await.expect("local server");
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for attempt in 1..=3 {
        let secs =
            time_to_first_request(&server, &http, dir.path(), &manifest, &journal, attempt).await;
        println!("resume {attempt}, manifest unchanged: first request after {secs:.3}s");
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "time to first request, manifest unchanged (median of 3): {:.3}s",
        times[times.len() / 2]
    );
    // A nightly append: the manifest grown by 1,000 rows at its end, its first bytes unchanged,
    // is read from where the last read ended.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&manifest)
        .expect("manifest");
    for i in 0..1_000 {
        writeln!(
            file,
            "http://127.0.0.1:9/catalog/extra-{i}.jpg,/catalog/extra,extra-{i}.jpg"
        )
        .expect("append");
    }
    drop(file);
    let secs = time_to_first_request(&server, &http, dir.path(), &manifest, &journal, 4).await;
    println!(
        "time to first request, manifest grown by 1,000 rows at its end (read from its tail): {secs:.3}s"
    );
    // Edited before its end (the first row changed): read whole again.
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replacen("item-0.jpg", "item-0-renamed.jpg", 1),
    )
    .expect("edit");
    let secs = time_to_first_request(&server, &http, dir.path(), &manifest, &journal, 5).await;
    println!("time to first request, manifest edited in its first row (read whole): {secs:.3}s");
    println!("reproduce: cargo bench --bench resume -- --rows {rows} --left {left}");
    let _ = server.stop().await;
}
