//! What the budget and adaptation benchmarks share: a local Media Manager with a rate limit,
//! latency and processing time (on its own runtime, standing in for a remote site), a source
//! server for the imports, a generated manifest, and one in-process migration.
//!
//! The figures come from the server's side: its `/_local/stats` (calls and 429s by endpoint,
//! files by status) and, with `?timeline=true`, the instant each call arrived and each 429 was
//! sent on the server's clock; files READY on the server are sampled every 250 ms with the
//! server's clock beside them. The client's own account (its call counters, its journal, its
//! rate) is sampled every 10 ms too, and [`migrate`] panics if the client's counts and the
//! server's disagree.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media_migrate::api::client::{CounterState, MediaClient, Target};
use media_migrate::control::budget::{Budget, BudgetConfig};
use media_migrate::journal::{Journal, RowState};
use media_migrate::manifest::ManifestOptions;
use media_migrate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use tokio::time::Instant;
use wix_media_manager::stats::{StatsReport, Timeline};
use wix_media_manager::{LocalServer, ServerConfig};

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
    /// Share of sources whose first GET answers 503 (a flaky host), in per mille.
    pub flaky_per_mille: u32,
    /// The source host answers 503 to a GET that finds this many in flight already (an
    /// overloaded host); `None`: it bears any load.
    pub overload_at: Option<usize>,
    /// How long the source host takes over every GET, in milliseconds.
    pub source_latency_ms: u64,
    /// The client's `--source-host-limit` (`None`: adaptive windows).
    pub source_host_limit: Option<usize>,
    /// The client's `--max-processing-attempts`.
    pub max_processing_attempts: u32,
    /// Check the target first, as `media-migrate run` does (its call is the run's first).
    pub preflight: bool,
    /// Share of API calls the server answers 503 before doing anything, and share it performs
    /// and then answers 502/503 (a gateway that lost the answer), in per mille.
    pub error_per_mille: u32,
    pub performed_error_per_mille: u32,
}

impl Default for Scenario {
    /// 12,000 rows in one folder against a limit of 240/min that the client's rate matches,
    /// with 20–80 ms of latency, 0.5–1.5 s of processing and healthy sources.
    fn default() -> Self {
        Self {
            rows: 12_000,
            files_per_folder: None,
            limit: 240,
            burst: 10,
            rate: 240,
            concurrency: 8,
            latency: "20..80".to_string(),
            processing: "500..1500".to_string(),
            seed: 1,
            retry_after: true,
            flaky_per_mille: 0,
            overload_at: None,
            source_latency_ms: 0,
            source_host_limit: None,
            max_processing_attempts: 3,
            preflight: false,
            error_per_mille: 0,
            performed_error_per_mille: 0,
        }
    }
}

impl Scenario {
    pub fn args(&self) -> String {
        let folders = self
            .files_per_folder
            .map_or("one".to_string(), |n| n.to_string());
        let opt = |v: Option<usize>| v.map_or("none".to_string(), |n| n.to_string());
        format!(
            "--rows {} --files-per-folder {folders} --limit {} --burst {} --rate {} --concurrency {} --latency {} --processing {} --seed {} --retry-after {} --flaky-per-mille {} --overload-at {} --source-latency {} --source-host-limit {} --max-processing-attempts {} --preflight {} --error-per-mille {} --performed-error-per-mille {}",
            self.rows,
            self.limit,
            self.burst,
            self.rate,
            self.concurrency,
            self.latency,
            self.processing,
            self.seed,
            if self.retry_after { "yes" } else { "no" },
            self.flaky_per_mille,
            opt(self.overload_at),
            self.source_latency_ms,
            opt(self.source_host_limit),
            self.max_processing_attempts,
            if self.preflight { "yes" } else { "no" },
            self.error_per_mille,
            self.performed_error_per_mille
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
                "--flaky-per-mille" => self.flaky_per_mille = num() as u32,
                "--overload-at" => self.overload_at = (value != "none").then(|| num() as usize),
                "--source-latency" => self.source_latency_ms = num(),
                "--source-host-limit" => {
                    self.source_host_limit = (value != "none").then(|| num() as usize)
                }
                "--max-processing-attempts" => self.max_processing_attempts = num() as u32,
                "--preflight" => self.preflight = value != "no",
                "--error-per-mille" => self.error_per_mille = num() as u32,
                "--performed-error-per-mille" => self.performed_error_per_mille = num() as u32,
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
    /// Client clock: from the client's first API call to the end of the run (the poll that
    /// confirmed the last file came back).
    pub duration: Duration,
    /// Rows READY in the client's journal (checked equal to the server's READY files).
    pub ready: u64,
    pub rows: u64,
    /// The server's final `/_local/stats`, timeline included.
    pub server: StatsReport,
    /// The client's final counters (checked equal to the server's calls and 429s).
    pub client: CounterState,
    /// The client's own account every 10 ms (client clock, since its first call).
    pub samples: Vec<Sample>,
    /// Server clock, since the first call arrived: arrivals of every call (429s included) and
    /// every 429 sent, sorted.
    pub received: Vec<Duration>,
    pub refused: Vec<Duration>,
    /// Server clock, since the first call arrived: files READY on the server, sampled every
    /// 250 ms (the last entry is the final count at the last call).
    pub server_ready: Vec<(Duration, u64)>,
    /// Server clock: microseconds from the server's start to the first call's arrival.
    first_us: u64,
    /// What the source host bore.
    pub source: Arc<SourceLoad>,
}

impl Measured {
    /// Files READY on the server at the end (equal to the client's `ready`, or `migrate`
    /// panicked).
    pub fn server_ready_files(&self) -> u64 {
        self.server.files.get("READY").copied().unwrap_or(0)
    }

    /// Server clock: from the first call's arrival to the last call's (the poll that confirmed
    /// the last file).
    pub fn window(&self) -> Duration {
        self.received.last().copied().unwrap_or_default()
    }

    /// Files READY on the server per minute of the server's window.
    pub fn ready_per_minute(&self) -> f64 {
        self.server_ready_files() as f64 / self.window().as_secs_f64() * 60.0
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

    fn timeline(&self) -> &Timeline {
        self.server.timeline.as_ref().expect("timeline")
    }

    fn since_first(&self, us: u64) -> Duration {
        Duration::from_micros(us.saturating_sub(self.first_us))
    }

    /// Server clock: the first and last arrival of the endpoints whose route contains `name`.
    pub fn first_call_of(&self, name: &str) -> Duration {
        self.timeline()
            .endpoints
            .iter()
            .filter(|(k, _)| k.contains(name))
            .map(|(_, [first, _])| self.since_first(*first))
            .min()
            .unwrap_or_default()
    }

    pub fn last_call_of(&self, name: &str) -> Duration {
        self.timeline()
            .endpoints
            .iter()
            .filter(|(k, _)| k.contains(name))
            .map(|(_, [_, last])| self.since_first(*last))
            .max()
            .unwrap_or_default()
    }

    /// Server clock: calls that arrived (429s included) and 429s sent in `[from, to)`; the
    /// last call is counted in any window that ends at or after it.
    pub fn calls_between(&self, from: Duration, to: Duration) -> (u64, u64) {
        let count = |v: &[Duration]| {
            let end = if to >= self.window() {
                v.len()
            } else {
                v.partition_point(|t| *t < to)
            };
            end.saturating_sub(v.partition_point(|t| *t < from)) as u64
        };
        (count(&self.received), count(&self.refused))
    }

    /// Server clock: files READY on the server at `t`, as last sampled at or before it.
    pub fn server_ready_at_time(&self, t: Duration) -> u64 {
        self.server_ready
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(0, |(_, n)| *n)
    }

    /// Server clock: when the server had `n` files READY, as sampled.
    pub fn server_ready_at(&self, n: u64) -> Option<Duration> {
        self.server_ready
            .iter()
            .find(|(_, ready)| *ready >= n)
            .map(|(at, _)| *at)
    }

    /// The budget the limit allowed over the server's window, its burst included (the bucket
    /// is full when the first call arrives: nothing spent it before).
    pub fn allowed(&self, limit: u32, burst: u32) -> f64 {
        f64::from(limit) * self.window().as_secs_f64() / 60.0 + f64::from(burst)
    }

    /// Panics unless the client's account and the server's agree: files READY, calls, 429s,
    /// and every call and 429 present in the timeline.
    fn check_agreement(&self) {
        let mut disagree = Vec::new();
        if self.ready != self.server_ready_files() {
            disagree.push(format!(
                "files READY: client journal {} vs server {}",
                self.ready,
                self.server_ready_files()
            ));
        }
        let client_calls: u64 = self.client.calls.values().sum();
        if client_calls != self.server.total_calls {
            disagree.push(format!(
                "calls: client {client_calls} vs server {}",
                self.server.total_calls
            ));
        }
        if self.client.throttled != self.server.throttled {
            disagree.push(format!(
                "429s: client {} vs server {}",
                self.client.throttled, self.server.throttled
            ));
        }
        let t = self.timeline();
        if t.dropped != 0
            || self.received.len() as u64 != self.server.total_calls
            || self.refused.len() as u64 != self.server.throttled
        {
            disagree.push(format!(
                "server timeline: {} arrivals and {} 429s ({} dropped) vs counters {} and {}",
                self.received.len(),
                self.refused.len(),
                t.dropped,
                self.server.total_calls,
                self.server.throttled
            ));
        }
        assert!(
            disagree.is_empty(),
            "the client's and the server's counts disagree: {}",
            disagree.join("; ")
        );
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

/// A web server answering every path with the same small PNG — but the first GET of
/// `flaky_per_mille` of the paths (chosen by a hash of the path) with a 503, and, when it is
/// overloaded (`overload_at`), any GET that finds that many in flight already with a 503. Every
/// GET takes `latency_ms`.
async fn start_sources(scenario: &Scenario, load: Arc<SourceLoad>) -> String {
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    use std::sync::atomic::Ordering;
    let (flaky_per_mille, overload_at) = (scenario.flaky_per_mille, scenario.overload_at);
    let latency = Duration::from_millis(scenario.source_latency_ms);
    let body = bytes::Bytes::from(png());
    let blipped: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sources");
    let addr = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri| {
        let body = body.clone();
        let blipped = blipped.clone();
        let load = load.clone();
        async move {
            /// Counts a request in flight while it lives.
            struct Held(Arc<SourceLoad>);
            impl Drop for Held {
                fn drop(&mut self) {
                    self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let before = load.in_flight.fetch_add(1, Ordering::SeqCst);
            load.peak.fetch_max(before + 1, Ordering::SeqCst);
            load.requests.fetch_add(1, Ordering::SeqCst);
            let _held = Held(load.clone());
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            if method == Method::GET && overload_at.is_some_and(|n| before >= n) {
                load.overloaded.fetch_add(1, Ordering::SeqCst);
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            let path = uri.path().to_string();
            let flaky = fastrand::Rng::with_seed(fxhash(&path)).u32(0..1000) < flaky_per_mille;
            if flaky && method == Method::GET && blipped.lock().expect("set").insert(path) {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            ([(axum::http::header::CONTENT_TYPE, "image/png")], body).into_response()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// What the source host bore: requests, the most in flight at once, and the 503s it answered
/// for being overloaded.
#[derive(Debug, Default)]
pub struct SourceLoad {
    in_flight: std::sync::atomic::AtomicUsize,
    pub peak: std::sync::atomic::AtomicUsize,
    pub requests: std::sync::atomic::AtomicUsize,
    pub overloaded: std::sync::atomic::AtomicUsize,
}

/// A stable hash of a path (FNV-1a), to pick the flaky sources the same way every run.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
    source_load: Arc<SourceLoad>,
}

impl Site {
    fn start(scenario: &Scenario, data: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let source_load = Arc::new(SourceLoad::default());
        let (server, sources) = runtime.block_on(async {
            media_migrate::install_crypto_provider();
            let mut config = ServerConfig::new(data);
            config.rate_limit_per_minute = Some(scenario.limit);
            config.rate_limit_burst = scenario.burst;
            config.faults.seed = scenario.seed;
            config.faults.omit_retry_after = !scenario.retry_after;
            config.faults.error_rate = f64::from(scenario.error_per_mille) / 1000.0;
            config.faults.performed_error_rate =
                f64::from(scenario.performed_error_per_mille) / 1000.0;
            config.faults.latency = Some(scenario.latency.parse().expect("latency range"));
            config.faults.processing_time =
                Some(scenario.processing.parse().expect("processing range"));
            config.processing.concurrency = 32;
            let server = LocalServer::start(config, 0).await.expect("server starts");
            (server, start_sources(scenario, source_load.clone()).await)
        });
        Self {
            runtime,
            server: Some(server),
            sources,
            source_load,
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
            source_headers: Default::default(),
            source_host_limit: scenario.source_host_limit,
            retry_failed: false,
            keep_failed_files: false,
            max_processing_attempts: scenario.max_processing_attempts,
            adopt: true,
            replace: false,
            prune_max_percent: None,
            serve_sources: None,
            stage: None,
            // As `media-migrate run` does: the check goes out while the manifest is read.
            check_target: scenario.preflight.then_some(Duration::from_secs(30)),
        };
        let samples: Arc<Mutex<Vec<(Instant, Sample)>>> = Arc::default();
        // (server clock µs, files READY on the server), every 250 ms.
        let ready_series: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
        let sampler = {
            let (client, budget, samples) = (client.clone(), budget.clone(), samples.clone());
            let ready_series = ready_series.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let http = reqwest::Client::new();
                let mut n = 0u64;
                loop {
                    tick.tick().await;
                    n += 1;
                    if n.is_multiple_of(25)
                        && let Ok(r) = http
                            .get(format!("{url}/_local/stats?timeline=true"))
                            .send()
                            .await
                        && let Ok(stats) = r.json::<StatsReport>().await
                        && let Some(t) = &stats.timeline
                    {
                        let ready = stats.files.get("READY").copied().unwrap_or(0);
                        ready_series.lock().expect("series").push((t.now_us, ready));
                    }
                    let c = client.counters().snapshot();
                    let sample = Sample {
                        at: Duration::ZERO,
                        calls: c.calls,
                        throttled: c.throttled,
                        rate: budget.current_rate(),
                    };
                    samples
                        .lock()
                        .expect("samples")
                        .push((Instant::now(), sample));
                }
            })
        };
        let (_tx, stop) = StopSignal::new();
        let result = pipeline::migrate(config, client.clone(), journal.clone(), stop, &|_| {})
            .await
            .expect("the run completes");
        let ended = Instant::now();
        sampler.abort();
        let mut raw = std::mem::take(&mut *samples.lock().expect("samples"));
        // The last sample is the final count, at the end of the run.
        let final_counts = client.counters().snapshot();
        raw.push((
            ended,
            Sample {
                at: Duration::ZERO,
                calls: final_counts.calls.clone(),
                throttled: final_counts.throttled,
                rate: budget.current_rate(),
            },
        ));
        let first = raw
            .iter()
            .find(|(_, s)| s.total() > 0)
            .map(|(t, _)| *t)
            .expect("the run made calls");
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
        let server: StatsReport = reqwest::get(format!("{url}/_local/stats?timeline=true"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json");
        let timeline = server
            .timeline
            .clone()
            .expect("the server sends its timeline");
        let first_us = timeline
            .received_us
            .iter()
            .copied()
            .min()
            .expect("the server saw calls");
        let since = |us: &u64| Duration::from_micros(us.saturating_sub(first_us));
        let mut received: Vec<Duration> = timeline.received_us.iter().map(since).collect();
        let mut refused: Vec<Duration> = timeline.throttled_us.iter().map(since).collect();
        received.sort();
        refused.sort();
        let last = received.last().copied().unwrap_or_default();
        let mut server_ready: Vec<(Duration, u64)> =
            std::mem::take(&mut *ready_series.lock().expect("series"))
                .iter()
                .filter(|(us, _)| *us >= first_us)
                .map(|(us, n)| (since(us), *n))
                .filter(|(at, _)| *at < last)
                .collect();
        server_ready.push((last, server.files.get("READY").copied().unwrap_or(0)));
        let m = Measured {
            duration: ended - first,
            ready: counts.get(&RowState::Ready).copied().unwrap_or(0),
            rows: counts.values().sum(),
            server,
            client: final_counts,
            samples,
            received,
            refused,
            server_ready,
            first_us,
            source: site.source_load.clone(),
        };
        m.check_agreement();
        m
    });
    drop(site);
    measured
}

pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}
