//! `run --stage s3://bucket/prefix`: local files staged in an S3-compatible bucket so they ride
//! Bulk Import from presigned GET URLs. An object is named by its content (`prefix/<sha256>.ext`),
//! so the same bytes are stored once and a staging cut short resumes with a HEAD, not an
//! upload. This module owns the store's calls (SigV4, [`sigv4`]) and the row → object map of a
//! run; when rows are staged and objects deleted is `pipeline::stage`.

pub mod sigv4;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

pub use sigv4::Credentials;

/// The SHA-256 of the empty payload (HEAD, DELETE).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Where objects are staged: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLocation {
    pub bucket: String,
    pub prefix: String,
}

impl StageLocation {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| {
            format!(
                "--stage takes s3://bucket/prefix (only S3 and S3-compatible stores), not {text:?}"
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'));
        if !valid {
            return Err(format!(
                "--stage: {bucket:?} is not an S3 bucket name (3 to 63 of a-z, 0-9, '-', '.')"
            ));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of content hashed `sha256`, keeping the file's extension (lower case).
    pub fn object_key(&self, sha256: &str, path: &Path) -> String {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| e.len() <= 10 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|e| format!(".{}", e.to_ascii_lowercase()))
            .unwrap_or_default();
        if self.prefix.is_empty() {
            format!("{sha256}{ext}")
        } else {
            format!("{}/{sha256}{ext}", self.prefix)
        }
    }
}

/// The content hash of a staged object's URL (`…/<sha256>[.ext]?…`), if `url` is one.
pub fn staged_hash(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let last = parsed.path_segments()?.next_back()?;
    let hash = last.split_once('.').map_or(last, |(h, _)| h);
    (hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| hash.to_string())
}

/// A failed call to the store. Never carries a signature or a secret.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(
        "the stage refused the credentials ({status} on bucket {bucket}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION"
    )]
    Refused { status: u16, bucket: String },
    #[error("the stage bucket {bucket} does not exist (404)")]
    NoBucket { bucket: String },
    #[error("the stage answered {status} to {method} {key}")]
    Status {
        method: &'static str,
        key: String,
        status: u16,
    },
    #[error("the stage could not be reached ({method} {key}): {message}")]
    Transport {
        method: &'static str,
        key: String,
        message: String,
    },
    #[error("reading {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
}

impl StageError {
    /// A failure of the local file rather than of the store: the row fails for good.
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local { .. })
    }

    /// The store refused the credentials or has no such bucket: the run can't stage at all.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::NoBucket { .. })
    }
}

/// An S3-compatible bucket: HEAD, PUT and DELETE of objects, presigned GET URLs.
pub struct S3Store {
    http: reqwest::Client,
    location: StageLocation,
    /// `scheme://host[:port]` and the path the bucket is at (`/bucket` path-style on a custom
    /// endpoint, empty on AWS's virtual-hosted `bucket.s3.region.amazonaws.com`).
    origin: String,
    host: String,
    bucket_path: String,
    creds: Credentials,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .field("origin", &self.origin)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// The bucket of `location` at `endpoint` (path-style), or on AWS S3 in the credentials'
    /// region (virtual-hosted) without one.
    pub fn new(
        http: reqwest::Client,
        location: StageLocation,
        endpoint: Option<&url::Url>,
        creds: Credentials,
    ) -> Result<Self, String> {
        let (origin, host, bucket_path) = match endpoint {
            Some(e) => {
                let host = e
                    .host_str()
                    .ok_or_else(|| format!("--stage-endpoint {e} has no host"))?;
                let host = match e.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host.to_string(),
                };
                let base = e.path().trim_end_matches('/');
                (
                    format!("{}://{host}", e.scheme()),
                    host,
                    format!("{base}/{}", location.bucket),
                )
            }
            None => {
                let host = format!("{}.s3.{}.amazonaws.com", location.bucket, creds.region);
                (format!("https://{host}"), host, String::new())
            }
        };
        Ok(Self {
            http,
            location,
            origin,
            host,
            bucket_path,
            creds,
        })
    }

    pub fn location(&self) -> &StageLocation {
        &self.location
    }

    fn path_of(&self, key: &str) -> String {
        format!("{}/{}", self.bucket_path, sigv4::encode(key, false))
    }

    async fn send(
        &self,
        method: &'static str,
        key: &str,
        payload_sha256: &str,
        body: Option<(reqwest::Body, u64)>,
    ) -> Result<StatusCode, StageError> {
        let path = if key.is_empty() {
            format!("{}/", self.bucket_path)
        } else {
            self.path_of(key)
        };
        let req = sigv4::Request {
            method,
            host: &self.host,
            path: &path,
            payload_sha256,
        };
        let headers = sigv4::signed_headers(&self.creds, &req, unix_now());
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("a valid method");
        let mut builder = self.http.request(m, format!("{}{path}", self.origin));
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        if let Some((body, len)) = body {
            builder = builder
                .header(reqwest::header::CONTENT_LENGTH, len)
                .body(body);
        }
        let transport = |e: reqwest::Error| StageError::Transport {
            method,
            key: key.to_string(),
            // reqwest's message carries the URL, which is unsigned here (headers hold the
            // signature); without_url keeps it short anyway.
            message: e.without_url().to_string(),
        };
        let response = builder.send().await.map_err(transport)?;
        Ok(response.status())
    }

    /// Checks that the bucket exists and takes the credentials (one HEAD of the bucket).
    pub async fn check_bucket(&self) -> Result<(), StageError> {
        let status = self.send("HEAD", "", EMPTY_SHA256, None).await?;
        let bucket = self.location.bucket.clone();
        match status.as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(StageError::Refused {
                status: status.as_u16(),
                bucket,
            }),
            404 => Err(StageError::NoBucket { bucket }),
            s => Err(StageError::Status {
                method: "HEAD",
                key: bucket,
                status: s,
            }),
        }
    }

    /// Whether the object `key` is stored.
    pub async fn exists(&self, key: &str) -> Result<bool, StageError> {
        match self.send("HEAD", key, EMPTY_SHA256, None).await?.as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            s => Err(self.status_error("HEAD", key, s)),
        }
    }

    /// Stores the file at `path` (`len` bytes hashed `sha256`) as `key`; the store checks the
    /// bytes against the signed hash.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        sha256: &str,
        len: u64,
    ) -> Result<(), StageError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| local(path, e))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        match self
            .send("PUT", key, sha256, Some((body, len)))
            .await?
            .as_u16()
        {
            200..=299 => Ok(()),
            s => Err(self.status_error("PUT", key, s)),
        }
    }

    /// Deletes the object `key` (already gone is fine).
    pub async fn delete(&self, key: &str) -> Result<(), StageError> {
        match self.send("DELETE", key, EMPTY_SHA256, None).await?.as_u16() {
            200..=299 | 404 => Ok(()),
            s => Err(self.status_error("DELETE", key, s)),
        }
    }

    /// A GET URL of `key` valid for `lifetime` (at most a week, S3's limit).
    pub fn presigned_get(&self, key: &str, lifetime: Duration) -> String {
        let path = self.path_of(key);
        let secs = lifetime.as_secs().clamp(1, 7 * 24 * 3600);
        let query = sigv4::presigned_query(&self.creds, &self.host, &path, unix_now(), secs);
        format!("{}{path}?{query}", self.origin)
    }

    fn status_error(&self, method: &'static str, key: &str, status: u16) -> StageError {
        match status {
            401 | 403 => StageError::Refused {
                status,
                bucket: self.location.bucket.clone(),
            },
            _ => StageError::Status {
                method,
                key: key.to_string(),
                status,
            },
        }
    }
}

fn local(path: &Path, source: std::io::Error) -> StageError {
    StageError::Local {
        path: path.display().to_string(),
        source,
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The SHA-256 (hex) and length of the file at `path`, read in 256 KiB pieces.
pub async fn hash_file(path: &Path) -> Result<(String, u64), StageError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| local(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(|e| local(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// A run's stage: the store, how long presigned URLs live, whether objects are kept after
/// their rows are READY, and the object each row was staged as in this run. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Staging {
    inner: Arc<StagingInner>,
}

#[derive(Debug)]
struct StagingInner {
    store: S3Store,
    lifetime: Duration,
    keep: bool,
    staged: RwLock<HashMap<String, String>>,
}

impl Staging {
    pub fn new(store: S3Store, lifetime: Duration, keep: bool) -> Self {
        Self {
            inner: Arc::new(StagingInner {
                store,
                lifetime,
                keep,
                staged: RwLock::new(HashMap::new()),
            }),
        }
    }

    pub fn store(&self) -> &S3Store {
        &self.inner.store
    }

    /// Keep staged objects after their rows are READY (`--keep-staged`).
    pub fn keep(&self) -> bool {
        self.inner.keep
    }

    /// Notes that row `row_key` is staged as `object` in this run.
    pub fn note(&self, row_key: &str, object: &str) {
        self.inner
            .staged
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row_key.to_string(), object.to_string());
    }

    /// Whether row `row_key` was staged in this run.
    pub fn is_staged(&self, row_key: &str) -> bool {
        self.inner
            .staged
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(row_key)
    }

    /// A fresh presigned URL of the row's object, if it was staged in this run.
    pub fn url_for(&self, row_key: &str) -> Option<String> {
        let staged = self.inner.staged.read().unwrap_or_else(|p| p.into_inner());
        let object = staged.get(row_key)?;
        Some(self.inner.store.presigned_get(object, self.inner.lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `s3://bucket/prefix` parses, other schemes and bad bucket names are refused, and an
    /// object is named by its hash and extension under the prefix.
    #[test]
    fn locations_and_object_keys() {
        let l = StageLocation::parse("s3://media-in/run/1/").unwrap();
        assert_eq!(l.bucket, "media-in");
        assert_eq!(l.prefix, "run/1");
        assert_eq!(
            l.object_key(&"a".repeat(64), Path::new("x/Photo.JPG")),
            format!("run/1/{}.jpg", "a".repeat(64))
        );
        assert!(StageLocation::parse("gs://b/p").is_err());
        assert!(StageLocation::parse("s3://B_ad/p").is_err());
        let bare = StageLocation::parse("s3://bucket").unwrap();
        assert_eq!(bare.object_key("ff", Path::new("noext")), "ff");
        let url = format!(
            "http://127.0.0.1:9/b/p/{}.png?X-Amz-Signature=x",
            "0".repeat(64)
        );
        assert_eq!(staged_hash(&url), Some("0".repeat(64)));
        assert_eq!(staged_hash("http://h/s/abc"), None);
    }
}
