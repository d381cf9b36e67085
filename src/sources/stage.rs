//! `run --stage URL`: local files staged in object storage (S3 or S3-compatible, Google Cloud
//! Storage, Azure Blob Storage, through `object_store`) so they ride Bulk Import from presigned
//! GET URLs. An object is named by its content (`prefix/<sha256>.ext`), so the same bytes are
//! stored once and a staging cut short resumes with a HEAD, not an upload. This module owns the
//! stage's location, its errors and the row → object map of a run; the store's calls are
//! [`store`], uploads [`upload`] (paced by [`bandwidth`]); when rows are staged and objects
//! deleted is `pipeline::stage`.

pub mod bandwidth;
pub mod store;
pub mod upload;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

pub use store::Store;
use upload::Uploader;

/// The longest a presigned URL may live: S3's limit, the shortest of the three stores'.
pub const MAX_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The kind of store a stage URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// `s3://`: AWS S3, or an S3-compatible store at `--stage-endpoint`.
    S3,
    /// `gs://`: Google Cloud Storage.
    Gcs,
    /// `az://`: Azure Blob Storage (the account from the environment).
    Azure,
}

impl StoreKind {
    fn scheme(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Gcs => "gs",
            Self::Azure => "az",
        }
    }
}

/// Where objects are staged: `s3://bucket/prefix`, `gs://bucket/prefix` or
/// `az://container/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLocation {
    pub kind: StoreKind,
    /// The bucket (the container on Azure).
    pub bucket: String,
    pub prefix: String,
}

impl std::fmt::Display for StageLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.kind.scheme(), self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl StageLocation {
    /// Parses `s3://bucket[/prefix]`, `gs://bucket[/prefix]` or `az://container[/prefix]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, rest) = [StoreKind::S3, StoreKind::Gcs, StoreKind::Azure]
            .into_iter()
            .find_map(|k| {
                text.strip_prefix(k.scheme())
                    .and_then(|r| r.strip_prefix("://"))
                    .map(|r| (k, r))
            })
            .ok_or_else(|| {
                format!(
                    "--stage takes s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX, not {text:?}"
                )
            })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // The names all three stores accept: 3 to 63 of a-z, 0-9, '-' (and '.' but on Azure),
        // starting and ending with a letter or digit.
        let dots = kind != StoreKind::Azure;
        let edges =
            |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let valid = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.')
            })
            && edges(bucket.as_bytes().first())
            && edges(bucket.as_bytes().last());
        if !valid {
            let what = if dots { "bucket" } else { "container" };
            return Err(format!(
                "--stage: {bucket:?} is not a {what} name (3 to 63 of a-z, 0-9, '-'{}, starting and ending with a letter or digit)",
                if dots { ", '.'" } else { "" }
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
            && !prefix.is_empty()
        {
            return Err(format!(
                "--stage: the prefix {prefix:?} has an empty, '.' or '..' segment"
            ));
        }
        Ok(Self {
            kind,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
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

/// The content hash an object key or URL path ends with (`…/<sha256>[.ext]`), if any.
fn hash_of_last_segment(last: &str) -> Option<String> {
    let hash = last.split_once('.').map_or(last, |(h, _)| h);
    (hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| hash.to_string())
}

/// The content hash of a staged object's URL (`…/<sha256>[.ext]?…`), if `url` is one.
pub fn staged_hash(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    hash_of_last_segment(parsed.path_segments()?.next_back()?)
}

/// The content hash of a staged object's key (`prefix/<sha256>[.ext]`).
pub fn object_hash(object: &str) -> Option<String> {
    hash_of_last_segment(object.rsplit('/').next()?)
}

/// A failed call to the store, or a local file that can't be staged. Never carries a
/// signature or a secret: the store's own messages are cut of their query strings.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(
        "the stage {stage} refused the credentials: check them (the environment's AWS_*, GOOGLE_* or AZURE_* settings, or the machine's role) and their rights to list, read, write and delete there"
    )]
    Refused { stage: String },
    #[error("the stage {stage} does not exist (no such bucket or container)")]
    NoBucket { stage: String },
    #[error("the stage {stage} could not be used: {message}")]
    Unusable { stage: String, message: String },
    #[error("the stage failed to {op} {key}: {message}")]
    Store {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("reading {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} changed after it was hashed (still being written?)")]
    Changed { path: String },
}

impl StageError {
    /// The store refused the credentials or has no such bucket: the run can't stage at all.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::NoBucket { .. })
    }
}

fn local(path: &Path, source: std::io::Error) -> StageError {
    StageError::Local {
        path: path.display().to_string(),
        source,
    }
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

/// How a run stages: how long presigned URLs live, whether objects are kept after their rows
/// are READY, and the upload rate's cap (bytes/s) if any.
#[derive(Debug, Clone, Copy)]
pub struct StagingOptions {
    pub url_lifetime: Duration,
    pub keep: bool,
    pub bandwidth: Option<u64>,
}

/// A run's stage: the store, its uploader, the options, and the object each row was staged
/// as in this run. Cloning shares it.
#[derive(Clone)]
pub struct Staging {
    inner: Arc<StagingInner>,
}

struct StagingInner {
    store: Store,
    uploader: Uploader,
    options: StagingOptions,
    staged: RwLock<HashMap<String, String>>,
}

impl std::fmt::Debug for Staging {
    /// The location and options; never the store's configuration (it holds credentials).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staging")
            .field("location", self.inner.store.location())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Staging {
    pub fn new(store: Store, options: StagingOptions) -> Self {
        let uploader = Uploader::new(store.clone(), options.bandwidth);
        Self {
            inner: Arc::new(StagingInner {
                store,
                uploader,
                options,
                staged: RwLock::new(HashMap::new()),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn uploader(&self) -> &Uploader {
        &self.inner.uploader
    }

    /// Keep staged objects after their rows are READY (`--keep-staged`).
    pub fn keep(&self) -> bool {
        self.inner.options.keep
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

    /// Fresh presigned URLs of the objects of the rows `keys` staged in this run (others are
    /// left out), signed now for the run's URL lifetime: a batch signs its URLs as it is sent,
    /// so a row imported again later (re-imported after a failure, retried, resumed on another
    /// day) never carries an expired URL. One signature per object.
    pub async fn urls_for<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<HashMap<String, String>, StageError> {
        let wanted: Vec<(String, String)> = {
            let staged = self.inner.staged.read().unwrap_or_else(|p| p.into_inner());
            keys.into_iter()
                .filter_map(|k| staged.get(k).map(|o| (k.to_string(), o.clone())))
                .collect()
        };
        let lifetime = self.inner.options.url_lifetime.min(MAX_URL_LIFETIME);
        let mut by_object: HashMap<String, String> = HashMap::new();
        let mut urls = HashMap::with_capacity(wanted.len());
        for (key, object) in wanted {
            let url = match by_object.get(&object) {
                Some(u) => u.clone(),
                None => {
                    let u = self.inner.store.presign_get(&object, lifetime).await?;
                    by_object.insert(object, u.clone());
                    u
                }
            };
            urls.insert(key, url);
        }
        Ok(urls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `s3://`, `gs://` and `az://` locations parse, other schemes and bad bucket or container
    /// names are refused, and an object is named by its hash and extension under the prefix.
    #[test]
    fn locations_and_object_keys() {
        let l = StageLocation::parse("s3://media-in/run/1/").unwrap();
        assert_eq!((l.kind, l.bucket.as_str()), (StoreKind::S3, "media-in"));
        assert_eq!(l.prefix, "run/1");
        assert_eq!(l.to_string(), "s3://media-in/run/1");
        assert_eq!(
            l.object_key(&"a".repeat(64), Path::new("x/Photo.JPG")),
            format!("run/1/{}.jpg", "a".repeat(64))
        );
        let g = StageLocation::parse("gs://my.bucket/p").unwrap();
        assert_eq!(
            (g.kind, g.to_string().as_str()),
            (StoreKind::Gcs, "gs://my.bucket/p")
        );
        let a = StageLocation::parse("az://media").unwrap();
        assert_eq!((a.kind, a.prefix.as_str()), (StoreKind::Azure, ""));
        assert!(StageLocation::parse("az://my.container/p").is_err());
        assert!(StageLocation::parse("ftp://b/p").is_err());
        assert!(StageLocation::parse("s3://B_ad/p").is_err());
        assert!(StageLocation::parse("s3://-bad/p").is_err());
        assert!(StageLocation::parse("s3://bucket/a/../b").is_err());
        let bare = StageLocation::parse("s3://bucket").unwrap();
        assert_eq!(bare.object_key("ff", Path::new("noext")), "ff");
        let url = format!(
            "http://127.0.0.1:9/b/p/{}.png?X-Amz-Signature=x",
            "0".repeat(64)
        );
        assert_eq!(staged_hash(&url), Some("0".repeat(64)));
        assert_eq!(staged_hash("http://h/s/abc"), None);
        assert_eq!(
            object_hash(&format!("p/q/{}.png", "b".repeat(64))),
            Some("b".repeat(64))
        );
        assert_eq!(object_hash("p/q/short.png"), None);
    }
}
