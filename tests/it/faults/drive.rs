//! Running one case of the matrix: its manifest and sources, the real `media-migrate run`,
//! and the side events around it (a neighbour spending the site's budget, a server outage),
//! plus the server stats summed over a restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use wix_media_manager::faults::{FaultConfig, FaultKind, Faults, Scope};

use super::{Case, KEY, SITE};
use crate::support::{Source, SourceServer, TestServer, bin, png, run_to_end};

const URL_ROWS: usize = 200;
/// Local files: the even ones small (one `PUT`), the odd ones past the run's resumable
/// threshold (tus: creation, `PATCH`, finalize).
const FILE_ROWS: usize = 8;
/// The run's `--resumable-threshold-mib`, and the bytes a large local file has at least.
const TUS_THRESHOLD_MIB: u64 = 1;
const IMPORT_CALLS: &str = "POST /site-media/v1/bulk/files/import-v2";
/// The calls that start a `PUT` upload and a tus upload.
pub const PUT_URL_CALLS: &str = "POST /site-media/v1/files/generate-upload-url";
pub const TUS_URL_CALLS: &str = "POST /site-media/v1/files/generate-resumable-upload-url";
/// What the neighbour calls: an endpoint the migration never uses, so its calls can be told
/// apart in the server's stats.
const NEIGHBOUR_CALL: &str = "/v1/files/search";
/// Flags of every run: small batches (more calls, so more of them meet a fault), a rate far
/// above Wix's so the matrix runs in seconds.
const RUN_FLAGS: &[&str] = &[
    "--rate",
    "6000",
    "--batch-size",
    "10",
    "--concurrency",
    "8",
    "--wait-timeout-secs",
    "90",
    "--resumable-threshold-mib",
    "1",
];

/// How a manifest row's source behaves, and so how the row must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Healthy,
    Hangs,
    Html,
}

/// One manifest row as written, with what the test expects of it.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    /// The source as the manifest has it.
    pub source: String,
    /// The source as the report has it (local paths resolved against the manifest's folder).
    pub resolved: String,
    pub folder: String,
    pub name: String,
    /// Bytes of a local file (None for URL rows).
    pub local_size: Option<u64>,
    pub fate: Fate,
}

/// `manifest.csv` in `work`: URL rows over twelve nested folders (every 41st hanging, every
/// 31st an HTML page when the case says so), then local files in two folders of their own.
pub fn write_manifest(work: &Path, tag: &str, case: &Case, src: &SourceServer) -> Vec<Row> {
    let image = png(8, 6);
    let mut rows = Vec::new();
    for i in 0..URL_ROWS {
        let fate = match i {
            _ if case.hanging_sources && i % 41 == 3 => Fate::Hangs,
            _ if case.html_sources && i % 31 == 11 => Fate::Html,
            _ => Fate::Healthy,
        };
        let source = match fate {
            Fate::Healthy => Source::bytes("image/png", image.clone()),
            Fate::Hangs => Source::hanging(),
            Fate::Html => Source::html_page(),
        };
        let url = src.add(&format!("/{tag}/img/{i}.png"), source);
        rows.push(Row {
            line: rows.len() + 2,
            resolved: url.clone(),
            source: url,
            folder: format!("/catalog/dept-{}/shelf-{}", i % 4, i % 3),
            name: format!("item-{i}.png"),
            local_size: None,
            fate,
        });
    }
    std::fs::create_dir_all(work.join("files")).expect("files dir");
    for j in 0..if case.uploads { FILE_ROWS } else { 0 } {
        let bytes = if j % 2 == 0 {
            png(4 + j as u32, 4)
        } else {
            large_png(j as u64)
        };
        let rel = format!("files/local-{j}.png");
        std::fs::write(work.join(&rel), &bytes).expect("local file");
        rows.push(Row {
            line: rows.len() + 2,
            resolved: work.join(&rel).display().to_string(),
            source: rel,
            folder: format!("/uploads/batch-{}", j % 2),
            name: format!("local-{j}.png"),
            local_size: Some(bytes.len() as u64),
            fate: Fate::Healthy,
        });
    }
    let mut csv = String::from("source,folder_path,display_name\n");
    for r in &rows {
        csv.push_str(&format!("{},{},{}\n", r.source, r.folder, r.name));
    }
    std::fs::write(work.join("manifest.csv"), csv).expect("manifest");
    rows
}

/// A PNG of noise a little over the tus threshold (noise doesn't compress), different for
/// each `seed`.
fn large_png(seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let side = 620 + seed as u32;
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        image::Rgb([rng.u8(..), rng.u8(..), rng.u8(..)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    let bytes = out.into_inner();
    assert!(bytes.len() as u64 > TUS_THRESHOLD_MIB * 1024 * 1024);
    bytes
}

pub fn run_cmd(s: &TestServer, work: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .arg("--quiet")
        .arg("run")
        .arg("manifest.csv")
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", SITE])
        .args(["--report-dir", "reports", "--journal", "journal.sqlite"])
        .args(RUN_FLAGS)
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

/// How a run went: its exit code and output, and the stats of the server's first life when
/// it was restarted.
pub struct Drive {
    pub code: i32,
    pub out: String,
    pub first_life: Option<Value>,
}

/// Runs `cmd` to its end alongside the case's side events: a neighbour spending the site's
/// budget until the run is throttled, and a server stopped once the run has sent a few
/// imports, kept down for the outage, and started again on the same port.
pub async fn drive(case: &Case, s: &mut TestServer, cmd: Command) -> Drive {
    let done = AtomicBool::new(false);
    let (url, done) = (s.url.clone(), &done);
    let run = async {
        let result = run_to_end(cmd).await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let neighbour = async {
        if case.neighbour {
            spend_site_budget(&url, done).await;
        }
    };
    let bounce = async {
        let outage = case.outage?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let imports = s.stats().await["calls"][IMPORT_CALLS].as_u64().unwrap_or(0);
            if imports >= 4 {
                let before = s.bounce(outage).await;
                assert!(
                    !done.load(Ordering::SeqCst),
                    "the run ended during the outage"
                );
                return Some(before);
            }
            assert!(
                !done.load(Ordering::SeqCst),
                "the run ended before the server could be stopped"
            );
            assert!(Instant::now() < deadline, "the run never got importing");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let ((code, out), (), first_life) = tokio::join!(run, neighbour, bounce);
    Drive {
        code,
        out,
        first_life,
    }
}

/// Another client of the same site, spending its budget until the server has answered one
/// of the migration's calls 429, so a throttling case is throttled at once rather than by
/// luck. It spends in rounds of several calls at once, each given little time (a slow answer
/// has spent its token already), so it outpaces the server's rate however loaded the machine.
async fn spend_site_budget(url: &str, run_done: &AtomicBool) {
    const ROUND: usize = 8;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !run_done.load(Ordering::SeqCst) {
        let round = (0..ROUND).map(|_| {
            http.post(format!("{url}/site-media{NEIGHBOUR_CALL}"))
                .header("Authorization", KEY)
                .header("wix-site-id", SITE)
                .json(&json!({"paging": {"limit": 1}}))
                .send()
        });
        let answers = futures_util::future::join_all(round).await;
        let stats: Value = match http
            .get(format!("{url}/_local/stats"))
            .header("Authorization", KEY)
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        let migration_throttled = stats["throttledCalls"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(endpoint, n)| !endpoint.ends_with(NEIGHBOUR_CALL) && n.as_u64() > Some(0));
        if migration_throttled {
            return;
        }
        assert!(Instant::now() < deadline, "the run was never throttled");
        if answers.iter().all(Result::is_err) {
            // Nothing answered: the server is restarting.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The first seed under which each fault the config injects strikes within the first few
/// decisions of its kind, on the API and (for the faults of a route) on the upload URLs. The
/// server draws every kind and scope from a stream of its own, so the case then meets each of
/// its faults, on both, however its calls happen to interleave.
pub fn early_seed(faults: &FaultConfig) -> u64 {
    // Decisions within which each fault must strike: a case makes a few dozen API calls, and
    // its local files at least 16 calls to upload URLs.
    let early = |scope| match scope {
        Scope::Api => 10,
        Scope::Upload => 12,
    };
    // The faults of a call's route strike API calls and upload URLs alike; the rest are the API's.
    let kinds = [
        (FaultKind::Error503, faults.error_rate, true),
        (FaultKind::LostResponse, faults.lost_response_rate, true),
        (FaultKind::SlowResponse, faults.slow_response_rate, true),
        (FaultKind::PerformedError, faults.performed_error_rate, true),
        (FaultKind::ItemFailure, faults.item_failure_rate, false),
        (
            FaultKind::ProcessingFailure,
            faults.processing_failure_rate,
            false,
        ),
    ];
    (0..100_000)
        .find(|&seed| {
            let f = Faults::new(FaultConfig {
                seed,
                ..faults.clone()
            });
            kinds
                .iter()
                .filter(|(_, rate, _)| *rate > 0.0)
                .all(|(kind, _, route)| {
                    let scopes: &[Scope] = if *route {
                        &[Scope::Api, Scope::Upload]
                    } else {
                        &[Scope::Api]
                    };
                    scopes
                        .iter()
                        .all(|scope| (0..early(*scope)).any(|_| f.strikes_in(*kind, *scope)))
                })
        })
        .expect("some seed strikes early")
}

/// Adds a server's stats to `total`: the migration's calls (the neighbour's left out), 429s
/// and faults by kind (`faults.<kind>`), so both lives of a restarted server add up.
pub fn add_stats(total: &mut BTreeMap<String, u64>, stats: &Value) {
    let mut add = |key: &str, n: u64| *total.entry(key.to_string()).or_default() += n;
    let neighbour = stats["calls"][format!("POST /site-media{NEIGHBOUR_CALL}")]
        .as_u64()
        .unwrap_or(0);
    add(
        "calls",
        stats["totalCalls"].as_u64().unwrap_or(0) - neighbour,
    );
    add("throttled", stats["throttled"].as_u64().unwrap_or(0));
    for (kind, n) in stats["faults"].as_object().expect("faults") {
        add(&format!("faults.{kind}"), n.as_u64().unwrap_or(0));
    }
    for (kind, n) in stats["uploadFaults"].as_object().expect("upload faults") {
        add(&format!("uploadFaults.{kind}"), n.as_u64().unwrap_or(0));
    }
    for endpoint in [PUT_URL_CALLS, TUS_URL_CALLS] {
        add(endpoint, stats["calls"][endpoint].as_u64().unwrap_or(0));
    }
}
