//! The Media Manager client: every call spends the shared [`Budget`], reports throttling to
//! it, is counted per endpoint, and fails with a [`CallError`] that says what the failure means
//! for the work (not done, in doubt, permanent). Reads are retried here; writes only when the
//! connection was refused (nothing was sent) — whether to resend an import the target may
//! have seen, after a lost answer or any 5xx, is the pipeline's decision.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use super::error::{ApiError, CallError, parse_retry_after};
use super::error::{transport_error, without_url};
use crate::control::budget::Budget;
use crate::control::retry::{Backoff, Disposition};
use wix_media_wire::types::*;

/// An API key that never shows itself in logs, errors or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the client sends its calls.
#[derive(Debug, Clone)]
pub struct Target {
    /// e.g. `https://www.wixapis.com`, without a trailing slash.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub site_id: Option<String>,
}

/// Calls made, by endpoint, plus throttles and retries: the client's own account of what it spent.
#[derive(Debug)]
pub struct CallCounters {
    inner: Mutex<CounterState>,
    /// Minute 0 of [`CounterState::per_minute`].
    started: std::time::Instant,
}

impl Default for CallCounters {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            started: std::time::Instant::now(),
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterState {
    pub calls: BTreeMap<&'static str, u64>,
    pub throttled: u64,
    pub retries: u64,
    /// Bytes of local files the target took (a `PUT` it answered, each tus chunk it stored).
    pub uploaded_bytes: u64,
    /// Calls and 429s per minute since the client was made (the report's timeline): one
    /// entry a minute, so a day's run holds 1,440.
    #[serde(skip)]
    pub per_minute: Vec<MinuteCalls>,
}

/// One minute of [`CounterState::per_minute`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCalls {
    pub calls: u64,
    pub throttled: u64,
}

impl CounterState {
    fn minute(&mut self, index: usize) -> &mut MinuteCalls {
        if self.per_minute.len() <= index {
            self.per_minute.resize(index + 1, MinuteCalls::default());
        }
        &mut self.per_minute[index]
    }
}

impl CallCounters {
    fn bump(&self, f: impl FnOnce(&mut CounterState)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Counts bytes of a local file the target took.
    pub fn add_uploaded(&self, bytes: u64) {
        self.bump(|c| c.uploaded_bytes += bytes);
    }

    /// The minute of the timeline a call made now falls in.
    fn minute_now(&self) -> usize {
        (self.started.elapsed().as_secs() / 60) as usize
    }

    /// When minute 0 of the timeline began.
    pub fn started(&self) -> std::time::Instant {
        self.started
    }

    pub fn snapshot(&self) -> CounterState {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[derive(Clone)]
pub struct MediaClient {
    http: reqwest::Client,
    target: Arc<Target>,
    budget: Arc<Budget>,
    counters: Arc<CallCounters>,
    read_retries: u32,
    backoff: Backoff,
    timeout: Duration,
    clock: Arc<TargetClock>,
}

/// What the answers' `Date` headers say of the target's clock against ours: a lower bound of
/// (target's clock − ours), in milliseconds. `Date` is stamped while the answer is made, in
/// whole seconds rounded down, and read here after it arrived, so `Date − now` never exceeds
/// the true offset (it is within a second and a round trip of it). The newest reading is kept,
/// not the largest: a client clock stepped forward mid-run (NTP) lowers the true offset, and a
/// bound kept from before the step would then exceed it. Measured, not assumed: a client clock
/// minutes off moves the bound with it.
#[derive(Debug)]
struct TargetClock {
    /// `i64::MIN` until an answer with a `Date` came.
    floor_ms: AtomicI64,
}

impl Default for TargetClock {
    fn default() -> Self {
        Self {
            floor_ms: AtomicI64::new(i64::MIN),
        }
    }
}

impl TargetClock {
    fn observe(&self, date: &reqwest::header::HeaderValue) {
        let Some(at) = date
            .to_str()
            .ok()
            .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        else {
            return;
        };
        let (Ok(at), Ok(now)) = (
            jiff::Timestamp::try_from(at),
            jiff::Timestamp::try_from(std::time::SystemTime::now()),
        ) else {
            return;
        };
        self.floor_ms.store(
            at.as_millisecond() - now.as_millisecond(),
            Ordering::Relaxed,
        );
    }
}

impl MediaClient {
    pub fn new(
        target: Target,
        budget: Arc<Budget>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            // Below the local server's 20 s keep-alive limit, so the client lets an idle
            // connection go before the server closes it under a request.
            .pool_idle_timeout(Duration::from_secs(15))
            .user_agent(concat!("media-migrate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            target: Arc::new(target),
            budget,
            counters: Arc::default(),
            read_retries: 6,
            backoff: Backoff::default(),
            timeout,
            clock: Arc::default(),
        })
    }

    pub fn counters(&self) -> &CallCounters {
        &self.counters
    }

    /// Counts a call the caller sends again (after looking at the target), as the client
    /// counts its own resends.
    pub fn count_retry(&self) {
        self.counters.bump(|c| c.retries += 1);
    }

    /// The backoff between resends, for callers that resend on their own.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The time limit of one request.
    pub fn request_timeout(&self) -> Duration {
        self.timeout
    }

    /// How many times a call is resent before its failure is returned.
    pub fn resends(&self) -> u32 {
        self.read_retries
    }

    /// A lower bound of the target's clock minus ours, in milliseconds, from the `Date` of
    /// the answers so far ([`TargetClock`]); `None` before the first.
    pub fn target_clock_floor(&self) -> Option<i64> {
        Some(self.clock.floor_ms.load(Ordering::Relaxed)).filter(|&v| v != i64::MIN)
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The HTTP client, for upload and download URLs (which carry their own authorisation).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// One call: spends a token, sends once, and reports a 429 to the budget.
    async fn call_once<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let _permit = self.budget.acquire().await;
        let minute = self.counters.minute_now();
        self.counters.bump(|c| {
            *c.calls.entry(endpoint).or_default() += 1;
            c.minute(minute).calls += 1;
        });
        let url = format!("{}/site-media{path_and_query}", self.target.base_url);
        let mut rb = self.http.request(method, url);
        if let Some(key) = &self.target.api_key {
            rb = rb.header(reqwest::header::AUTHORIZATION, key.expose());
        }
        if let Some(site) = &self.target.site_id {
            rb = rb.header("wix-site-id", site);
        }
        if let Some(body) = body {
            rb = rb.json(body);
        }
        let response = rb.send().await.map_err(|e| transport_error(endpoint, &e))?;
        let status = response.status();
        if let Some(date) = response.headers().get(reqwest::header::DATE) {
            self.clock.observe(date);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(|e| CallError::NoAnswer {
            endpoint,
            message: without_url(&e),
        })?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes).map_err(|e| CallError::Decode {
                endpoint,
                message: e.to_string(),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let minute = self.counters.minute_now();
            self.counters.bump(|c| {
                c.throttled += 1;
                c.minute(minute).throttled += 1;
            });
            self.budget.on_throttled(retry_after);
        }
        Err(CallError::Api(ApiError::from_body(
            endpoint,
            status,
            &bytes,
            retry_after,
        )))
    }

    /// A read: retried while the failure is transient (reads are safe to repeat).
    async fn read<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let mut rng = fastrand::Rng::new();
        let mut attempt = 0;
        loop {
            match self
                .call_once(endpoint, method.clone(), path_and_query, body)
                .await
            {
                Err(e)
                    if e.disposition() != Disposition::Permanent && attempt < self.read_retries =>
                {
                    self.counters.bump(|c| c.retries += 1);
                    // After a 429 the budget already pauses everyone; don't add a second wait.
                    if !matches!(&e, CallError::Api(a) if a.status == 429) {
                        tokio::time::sleep(self.backoff.delay(attempt, &mut rng)).await;
                    }
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A write: resent, with the reads' backoff, only while the target certainly did nothing —
    /// no connection could be made (a 429 is the budget's to pause for). Resending those can't
    /// duplicate; and a target that is restarting would otherwise see each row's attempts spent
    /// in a burst of refusals. A 5xx may follow the work (a gateway that lost the answer), so
    /// it goes back to the caller, which looks at the target before resending.
    async fn write<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        let mut rng = fastrand::Rng::new();
        let mut attempt = 0;
        loop {
            match self
                .call_once(endpoint, Method::POST, path, Some(body))
                .await
            {
                Err(e @ CallError::Refused { .. }) if attempt < self.read_retries => {
                    tracing::debug!(error = %e, "resending a write that never reached the target");
                    self.counters.bump(|c| c.retries += 1);
                    tokio::time::sleep(self.backoff.delay(attempt, &mut rng)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Bulk Import File (v2), sent until it reaches the target, then once: the caller decides
    /// what a failure means.
    pub async fn bulk_import(
        &self,
        items: &[ImportFileRequest],
    ) -> Result<BulkImportFileResponse, CallError> {
        let body = BulkImportFileRequest {
            import_file_requests: items.to_vec(),
            return_entity: Some(true),
        };
        self.write("bulkImportFile", "/v1/bulk/files/import-v2", &body)
            .await
    }

    /// Bulk Delete Files to the trash (not permanently). Trashing is idempotent — a trashed or
    /// unknown id is no error — so it is resent like a read.
    pub async fn trash_files(&self, ids: &[String]) -> Result<(), CallError> {
        let body = BulkDeleteFilesRequest {
            file_ids: ids.to_vec(),
            permanent: Some(false),
        };
        let _: serde_json::Value = self
            .read(
                "bulkDeleteFiles",
                Method::POST,
                "/v1/bulk/files/delete",
                Some(&body),
            )
            .await?;
        Ok(())
    }

    /// Get File Descriptors of `ids`, leaving out those the site doesn't hold. Wix answers the
    /// whole call `RESOURCE_NOT_FOUND` when one id is unknown: the call is made again without
    /// the ids the error names, or, when it names none, for each half of the ids, until every
    /// known id is answered — so a file deleted mid-run costs a few calls, never the run.
    pub async fn get_files(&self, ids: &[String]) -> Result<Vec<FileDescriptor>, CallError> {
        let mut files = Vec::with_capacity(ids.len());
        let mut asks = vec![ids.to_vec()];
        while let Some(ask) = asks.pop() {
            if ask.is_empty() {
                continue;
            }
            let error = match self.get_files_once(&ask).await {
                Ok(found) => {
                    files.extend(found);
                    continue;
                }
                Err(e) => e,
            };
            let Some(named) = error.unknown_ids(&ask) else {
                return Err(error);
            };
            if !named.is_empty() {
                let named: HashSet<&String> = named.into_iter().collect();
                asks.push(
                    ask.iter()
                        .filter(|id| !named.contains(id))
                        .cloned()
                        .collect(),
                );
            } else if ask.len() > 1 {
                let (a, b) = ask.split_at(ask.len() / 2);
                asks.extend([a.to_vec(), b.to_vec()]);
            }
            // One id, refused alone: the site doesn't hold it, and the answer leaves it out.
        }
        Ok(files)
    }

    async fn get_files_once(&self, ids: &[String]) -> Result<Vec<FileDescriptor>, CallError> {
        let body = GetFileDescriptorsRequest {
            file_ids: ids.to_vec(),
        };
        let r: FilesResponse = self
            .read(
                "getFileDescriptors",
                Method::POST,
                "/v1/files/get-files",
                Some(&body),
            )
            .await?;
        Ok(r.files)
    }

    /// One page of a folder's files (at most 100).
    pub async fn list_files(
        &self,
        parent: &str,
        cursor: Option<&str>,
    ) -> Result<ListFilesResponse, CallError> {
        let q = page_query(parent, cursor);
        self.read::<(), _>("listFiles", Method::GET, &format!("/v1/files?{q}"), None)
            .await
    }

    /// The cheapest authenticated call (one folder of the root, or none), sent once: whether
    /// the target answers and accepts the key for the site.
    pub async fn check_access(&self) -> Result<(), CallError> {
        self.call_once::<(), ListFoldersResponse>(
            "listFolders",
            Method::GET,
            "/v1/folders?parentFolderId=media-root&paging.limit=1",
            None,
        )
        .await
        .map(drop)
    }

    /// One page of a folder's subfolders (at most 100).
    pub async fn list_folders(
        &self,
        parent: &str,
        cursor: Option<&str>,
    ) -> Result<ListFoldersResponse, CallError> {
        let q = page_query(parent, cursor);
        self.read::<(), _>(
            "listFolders",
            Method::GET,
            &format!("/v1/folders?{q}"),
            None,
        )
        .await
    }

    /// Create Folder, sent until it reaches the target, then once (creating is not
    /// idempotent).
    pub async fn create_folder(&self, name: &str, parent: &str) -> Result<Folder, CallError> {
        let body = CreateFolderRequest {
            display_name: name.to_string(),
            parent_folder_id: Some(parent.to_string()),
        };
        let r: FolderResponse = self.write("createFolder", "/v1/folders", &body).await?;
        Ok(r.folder)
    }

    pub async fn generate_upload_url(
        &self,
        req: &GenerateFileUploadUrlRequest,
    ) -> Result<String, CallError> {
        let r: GenerateFileUploadUrlResponse = self
            .read(
                "generateFileUploadUrl",
                Method::POST,
                "/v1/files/generate-upload-url",
                Some(req),
            )
            .await?;
        Ok(r.upload_url)
    }

    pub async fn generate_resumable_upload_url(
        &self,
        req: &GenerateFileResumableUploadUrlRequest,
    ) -> Result<GenerateFileResumableUploadUrlResponse, CallError> {
        self.read(
            "generateFileResumableUploadUrl",
            Method::POST,
            "/v1/files/generate-resumable-upload-url",
            Some(req),
        )
        .await
    }
}

impl MediaClient {
    /// One page (at most 100) of every live file under the root, all levels (Search Files
    /// with no search text).
    pub async fn search_files(&self, cursor: Option<&str>) -> Result<ListFilesResponse, CallError> {
        let body = SearchFilesRequest {
            root_folder: Some(RootFolder::MediaRoot),
            paging: Some(CursorPaging {
                limit: Some(100),
                cursor: cursor.map(str::to_string),
            }),
            ..Default::default()
        };
        self.read("searchFiles", Method::POST, "/v1/files/search", Some(&body))
            .await
    }

    /// One page (at most 100) of every folder under the root, all levels.
    pub async fn search_folders(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListFoldersResponse, CallError> {
        let body = SearchFoldersRequest {
            root_folder: Some(RootFolder::MediaRoot),
            paging: Some(CursorPaging {
                limit: Some(100),
                cursor: cursor.map(str::to_string),
            }),
            ..Default::default()
        };
        self.read(
            "searchFolders",
            Method::POST,
            "/v1/folders/search",
            Some(&body),
        )
        .await
    }

    /// A temporary, signed URL of a file's original (private files included). The URL is a
    /// secret: it must not be logged.
    pub async fn file_download_url(&self, file_id: &str) -> Result<String, CallError> {
        let body = GenerateFileDownloadUrlRequest {
            file_id: file_id.to_string(),
            ..Default::default()
        };
        let r: GenerateFileDownloadUrlResponse = self
            .read(
                "generateFileDownloadUrl",
                Method::POST,
                "/v1/files/generate-file-download-url",
                Some(&body),
            )
            .await?;
        r.download_urls
            .into_iter()
            .next()
            .map(|u| u.url)
            .ok_or_else(|| CallError::Decode {
                endpoint: "generateFileDownloadUrl",
                message: "the answer holds no download URL".to_string(),
            })
    }
}

fn page_query(parent: &str, cursor: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("parentFolderId", parent)
        .append_pair("paging.limit", "100");
    if let Some(c) = cursor {
        q.append_pair("paging.cursor", c);
    }
    q.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    use serde_json::{Value, json};

    use super::*;
    use crate::control::budget::BudgetConfig;

    /// A Get File Descriptors that answers `RESOURCE_NOT_FOUND` for the whole call when any id
    /// is unknown (an id starting `gone`), naming none of them — as terse as Wix may be.
    async fn terse_target(calls: Arc<AtomicU32>) -> String {
        let app = axum::Router::new().route(
            "/site-media/v1/files/get-files",
            post(move |Json(body): Json<Value>| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::Relaxed);
                    let ids: Vec<String> =
                        serde_json::from_value(body["fileIds"].clone()).expect("ids");
                    if ids.iter().any(|id| id.starts_with("gone")) {
                        let body = json!({"message": "not found", "details": {"validationError": {
                            "fieldViolations": [{"field": "fileIds", "description": "not found",
                                                 "violatedRule": "OTHER", "ruleName": "RESOURCE_NOT_FOUND"}]}}});
                        return (StatusCode::BAD_REQUEST, Json(body));
                    }
                    let files: Vec<Value> = ids
                        .iter()
                        .map(|id| json!({"id": id, "operationStatus": "READY"}))
                        .collect();
                    (StatusCode::OK, Json(json!({"files": files})))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// Unknown ids that the error doesn't name are found by halves: every known id is
    /// answered, the unknown ones are left out, in a few calls.
    #[tokio::test]
    async fn unknown_ids_named_by_no_one_are_found_by_halves() {
        let calls = Arc::new(AtomicU32::new(0));
        let base_url = terse_target(calls.clone()).await;
        let budget = Arc::new(Budget::new(BudgetConfig {
            per_minute: 60_000,
            ..BudgetConfig::default()
        }));
        let target = Target {
            base_url,
            api_key: None,
            site_id: None,
        };
        let client = MediaClient::new(target, budget, Duration::from_secs(10)).expect("client");
        let mut ids: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        ids[7] = "gone-7".to_string();
        ids[31] = "gone-31".to_string();
        let found = client
            .get_files(&ids)
            .await
            .expect("the known ids are answered");
        let mut got: Vec<String> = found.into_iter().filter_map(|f| f.id).collect();
        got.sort();
        let mut want: Vec<String> = ids
            .iter()
            .filter(|i| !i.starts_with("gone"))
            .cloned()
            .collect();
        want.sort();
        assert_eq!(got, want);
        // Two unknown ids among 40: at most 1 + 2·2·⌈log2 40⌉ calls, below one per id.
        let spent = calls.load(Ordering::Relaxed);
        assert!(spent <= 25, "{spent} calls");
    }
}
