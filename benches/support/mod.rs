//! What the budget and adaptation benchmarks share: a local Media Manager with a rate limit,
//! latency and processing time (on its own runtime, standing in for a remote site), a source
//! server for the imports, a generated manifest, and one in-process migration whose calls are
//! sampled every few milliseconds, so the figures can say where the budget went.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media_migrate::api::client::{MediaClient, Target};
use media_migrate::control::budget::{Budget, BudgetConfig};
use media_migrate::journal::{Journal, RowState};
use media_migrate::manifest::ManifestOptions;
use media_migrate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use media_migrate::server::stats::StatsReport;
use media_migrate::server::{LocalServer, ServerConfig};
use tokio::time::Instant;

/// Files per Bulk Import call and ids per Get File Descriptors call: the floor is two calls per
/// 100 files, so a budget of R calls a minute confirms at most 50·R files READY a minute.
pub const FILES_PER_CALL_AT_FLOOR: f64 = 50.0;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub rows: usize,
    /// Rows per folder, in manifest order (`None`: every row in one folder).
    pub files_per_folder: Option<usize>,
    /// The server's limit (requests per minute) and burst.
    pub limit: u32,
    pub burst: u32,
    /// The client's `--rate` and `--concurrency`.
    pub rate: u32,
    pub concurrency: usize,
    /// Server latency and processing time, `MS..MS`.
    pub latency: String,
    pub processing: String,
    pub seed: u64,
    /// Whether the server's 429s carry `Retry-After`.
    pub retry_after: bool,
}

impl Scenario {
    pub fn args(&self) -> String {
        let folders = self
            .files_per_folder
            .map_or("one".to_string(), |n| n.to_string());
        format!(
            "--rows {} --files-per-folder {folders} --limit {} --burst {} --rate {} --concurrency {} --latency {} --processing {} --seed {} --retry-after {}",
            self.rows,
            self.limit,
            self.burst,
            self.rate,
            self.concurrency,
            self.latency,
            self.processing,
            self.seed,
            if self.retry_after { "yes" } else { "no" }
        )
    }

    /// Reads `--flag value` pairs over the defaults.
    pub fn parse(mut self, args: &[String]) -> Self {
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let Some(value) = it.next() else { break };
            let num = || value.parse::<u64>().expect("a number");
            match flag.as_str() {
                "--rows" => self.rows = num() as usize,
                "--files-per-folder" => {
                    self.files_per_folder = (value != "one").then(|| num() as usize)
                }
                "--limit" => self.limit = num() as u32,
                "--burst" => self.burst = num() as u32,
                "--rate" => self.rate = num() as u32,
                "--concurrency" => self.concurrency = num() as usize,
                "--latency" => self.latency = value.clone(),
                "--processing" => self.processing = value.clone(),
                "--seed" => self.seed = num(),
                "--retry-after" => self.retry_after = value != "no",
                _ => {}
            }
        }
        self
    }

    fn folder_of(&self, i: usize) -> String {
        match self.files_per_folder {
            None => "/catalog".to_string(),
            // 20 shelves per department, rows grouped by shelf as exports usually are.
            Some(n) => {
                let f = i / n.max(1);
                format!("/catalog/dept-{}/shelf-{}", f / 20, f % 20)
            }
        }
    }

    pub fn folders(&self) -> usize {
        self.files_per_folder
            .map_or(1, |n| self.rows.div_ceil(n.max(1)))
    }
}

/// One sample of the client's own account, taken every few milliseconds.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Duration,
    pub calls: BTreeMap<&'static str, u64>,
    pub throttled: u64,
    pub rate: f64,
    /// Files READY on the server (sampled less often: it is a query of the server's database).
    pub server_ready: u64,
}

impl Sample {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
    pub fn of(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }
}

pub struct Measured {
    /// From the first API call to the end of the run (the poll that confirmed the last file).
    pub duration: Duration,
    pub ready: u64,
    pub rows: u64,
    pub server: StatsReport,
    pub samples: Vec<Sample>,
}

impl Measured {
    pub fn ready_per_minute(&self) -> f64 {
        self.ready as f64 / self.duration.as_secs_f64() * 60.0
    }

    /// Calls the server answered other than with 429.
    pub fn admitted(&self) -> u64 {
        self.server.total_calls - self.server.throttled
    }

    pub fn endpoint(&self, name: &str) -> u64 {
        self.server
            .calls
            .iter()
            .filter(|(k, _)| k.contains(name))
            .map(|(_, v)| *v)
            .sum()
    }

    /// When (since the first call) an endpoint's count last grew.
    pub fn last_call_of(&self, endpoint: &str) -> Duration {
        let end = self.samples.last().map_or(0, |s| s.of(endpoint));
        self.samples
            .iter()
            .find(|s| s.of(endpoint) == end)
            .map_or(Duration::ZERO, |s| s.at)
    }

    /// When (since the first call) the server had `n` files READY, as sampled.
    pub fn server_ready_at(&self, n: u64) -> Option<Duration> {
        self.samples
            .iter()
            .find(|s| s.server_ready >= n)
            .map(|s| s.at)
    }

    pub fn first_call_of(&self, endpoint: &str) -> Duration {
        self.samples
            .iter()
            .find(|s| s.of(endpoint) > 0)
            .map_or(Duration::ZERO, |s| s.at)
    }

    /// Calls (all endpoints, 429s included) and 429s in `[from, to)`.
    pub fn calls_between(&self, from: Duration, to: Duration) -> (u64, u64) {
        let at = |t: Duration| {
            self.samples
                .iter()
                .take_while(|s| s.at <= t)
                .last()
                .map_or((0, 0), |s| (s.total(), s.throttled))
        };
        let (a, b) = (at(from), at(to));
        (b.0 - a.0, b.1 - a.1)
    }
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A web server answering every path with the same small PNG.
async fn start_sources() -> String {
    let body = bytes::Bytes::from(png());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sources");
    let addr = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "image/png")], body) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn write_manifest(dir: &Path, scenario: &Scenario, sources: &str) -> PathBuf {
    use std::io::Write;
    let path = dir.join("manifest.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("manifest"));
    writeln!(out, "source,folder_path,display_name").expect("write");
    for i in 0..scenario.rows {
        writeln!(
            out,
            "{sources}/img/{i}.png,{},item-{i}.png",
            scenario.folder_of(i)
        )
        .expect("write");
    }
    out.flush().expect("flush");
    path
}

/// The server side, on a runtime of its own, as a remote site would be.
struct Site {
    runtime: tokio::runtime::Runtime,
    server: Option<LocalServer>,
    sources: String,
}

impl Site {
    fn start(scenario: &Scenario, data: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let (server, sources) = runtime.block_on(async {
            media_migrate::install_crypto_provider();
            let mut config = ServerConfig::new(data);
            config.rate_limit_per_minute = Some(scenario.limit);
            config.rate_limit_burst = scenario.burst;
            config.faults.seed = scenario.seed;
            config.faults.omit_retry_after = !scenario.retry_after;
            config.faults.latency = Some(scenario.latency.parse().expect("latency range"));
            config.faults.processing_time =
                Some(scenario.processing.parse().expect("processing range"));
            config.processing.concurrency = 32;
            let server = LocalServer::start(config, 0).await.expect("server starts");
            (server, start_sources().await)
        });
        Self {
            runtime,
            server: Some(server),
            sources,
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

/// Runs the migration of a generated manifest against a fresh site; returns what it measured.
pub fn migrate(scenario: &Scenario) -> Measured {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = Site::start(scenario, &dir.path().join("site"));
    let url = site.server.as_ref().expect("running").url.clone();
    let manifest = write_manifest(dir.path(), scenario, &site.sources);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let measured = client_rt.block_on(async {
        let budget = Arc::new(Budget::new(BudgetConfig {
            per_minute: scenario.rate,
            concurrency: scenario.concurrency,
            ..BudgetConfig::default()
        }));
        let target = Target {
            base_url: url.clone(),
            api_key: None,
            site_id: None,
        };
        let client =
            MediaClient::new(target, budget.clone(), Duration::from_secs(60)).expect("client");
        let journal =
            SharedJournal::new(Journal::open(&dir.path().join("journal.sqlite")).expect("journal"));
        let config = RunConfig {
            manifest,
            manifest_options: ManifestOptions::default(),
            batch_size: 100,
            max_attempts: 10,
            wait: true,
            wait_timeout: Duration::from_secs(600),
            resumable_threshold: u64::MAX,
            import_concurrency: scenario.concurrency.div_ceil(2).max(1),
        };
        let samples: Arc<Mutex<Vec<(Instant, Sample)>>> = Arc::default();
        let sampler = {
            let (client, budget, samples) = (client.clone(), budget.clone(), samples.clone());
            let url = url.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let http = reqwest::Client::new();
                let (mut server_ready, mut n) = (0, 0u64);
                loop {
                    tick.tick().await;
                    n += 1;
                    if n % 25 == 0
                        && let Ok(r) = http.get(format!("{url}/_local/stats")).send().await
                        && let Ok(stats) = r.json::<StatsReport>().await
                    {
                        server_ready = stats.files.get("READY").copied().unwrap_or(0);
                    }
                    let c = client.counters().snapshot();
                    let sample = Sample {
                        at: Duration::ZERO,
                        calls: c.calls,
                        throttled: c.throttled,
                        rate: budget.current_rate(),
                        server_ready,
                    };
                    samples
                        .lock()
                        .expect("samples")
                        .push((Instant::now(), sample));
                }
            })
        };
        let (_tx, stop) = StopSignal::new();
        let result = pipeline::run(config, client.clone(), journal.clone(), stop, &|_| {})
            .await
            .expect("the run completes");
        let ended = Instant::now();
        sampler.abort();
        let mut raw = std::mem::take(&mut *samples.lock().expect("samples"));
        // The last sample is the final count, at the end of the run.
        let c = client.counters().snapshot();
        raw.push((
            ended,
            Sample {
                at: Duration::ZERO,
                calls: c.calls,
                throttled: c.throttled,
                rate: budget.current_rate(),
                server_ready: 0,
            },
        ));
        let first = raw
            .iter()
            .find(|(_, s)| s.total() > 0)
            .map(|(t, _)| *t)
            .expect("the run made calls");
        if let Some(n) = raw.len().checked_sub(2) {
            raw[n + 1].1.server_ready = raw[n].1.server_ready;
        }
        let samples: Vec<Sample> = raw
            .into_iter()
            .filter(|(t, _)| *t >= first)
            .map(|(t, mut s)| {
                s.at = t - first;
                s
            })
            .collect();
        let run = result.run;
        let counts = journal
            .with(move |j| j.state_counts(Some(run)))
            .await
            .expect("counts");
        let server: StatsReport = reqwest::get(format!("{url}/_local/stats"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json");
        Measured {
            duration: ended - first,
            ready: counts.get(&RowState::Ready).copied().unwrap_or(0),
            rows: counts.values().sum(),
            server,
            samples,
        }
    });
    drop(site);
    measured
}

pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}
