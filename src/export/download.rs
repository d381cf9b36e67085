//! `export --download DIR`: a file's bytes into DIR as the folder tree. Each file gets a safe
//! name, numbered when its folder already has that name for another file; a file already on
//! disk with the right size and MD5 (a resumed export) is kept, not fetched again. Bytes are
//! streamed into `NAME.part`, hashed on the way, checked against the descriptor's size and
//! hash, and only then renamed to NAME — so a complete name always holds a verified file.
//! Public files come from their static URL (no API call); private ones from a temporary
//! download URL (one call each), never logged.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Digest;
use tokio::io::AsyncWriteExt;

use super::names::{numbered, safe_component};
use crate::api::client::{CallError, MediaClient};
use crate::sources::probe::SourceDigest;
use wix_media_wire::types::FileDescriptor;

/// Attempts at one file's bytes (a transfer that broke, or bytes that did not verify).
const ATTEMPTS: u32 = 3;

/// Where a file goes, and whether it is already there.
#[derive(Debug, Clone)]
pub struct Placement {
    pub path: PathBuf,
    pub complete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("asking for a download URL")]
    Url(#[source] CallError),
    #[error("downloading: {0}")]
    Transfer(String),
    #[error("the download does not match the file: {0}")]
    Corrupt(String),
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Downloader {
    http: reqwest::Client,
    root: PathBuf,
}

impl Downloader {
    pub fn new(root: PathBuf, timeout: Duration) -> Result<Self, reqwest::Error> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(timeout)
            .user_agent(concat!(
                "media-migrate/",
                env!("CARGO_PKG_VERSION"),
                " (export)"
            ))
            .build()?;
        Ok(Self { http, root })
    }

    /// Chooses the local path of `file` in `folder_path`: its safe name, or the first
    /// numbered variant that neither `taken` (this page's choices) holds nor another file's
    /// bytes occupy on disk. Blocking: it may hash a file on disk.
    pub fn place(
        &self,
        folder_path: &str,
        file: &FileDescriptor,
        taken: &mut HashSet<PathBuf>,
    ) -> Placement {
        let dir = folder_path
            .split('/')
            .filter(|s| !s.is_empty())
            .fold(self.root.clone(), |d, s| d.join(safe_component(s)));
        let name = file
            .display_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(file.id.as_deref())
            .unwrap_or("file");
        let safe = safe_component(name);
        let mut n = 1;
        loop {
            let path = dir.join(numbered(&safe, n));
            n += 1;
            if taken.contains(&path) {
                continue;
            }
            let complete = match std::fs::metadata(&path) {
                Err(_) => false,
                Ok(meta) if !meta.is_file() => continue,
                Ok(meta) if !holds(&path, meta.len(), file) => continue,
                Ok(_) => true,
            };
            taken.insert(path.clone());
            return Placement { path, complete };
        }
    }

    /// Fetches `file` into `path`, verified; retried a few times.
    pub async fn fetch(
        &self,
        client: &MediaClient,
        file: &FileDescriptor,
        path: &Path,
    ) -> Result<(), DownloadError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            match self.fetch_once(client, file, path).await {
                Ok(()) => return Ok(()),
                Err(e @ DownloadError::Write { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    async fn fetch_once(
        &self,
        client: &MediaClient,
        file: &FileDescriptor,
        path: &Path,
    ) -> Result<(), DownloadError> {
        let id = file.id.as_deref().unwrap_or_default();
        let url = match (file.private, &file.url) {
            (Some(false) | None, Some(url)) if !url.is_empty() => url.clone(),
            _ => client
                .file_download_url(id)
                .await
                .map_err(DownloadError::Url)?,
        };
        let mut response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| DownloadError::Transfer(describe(&e)))?;
        if !response.status().is_success() {
            return Err(DownloadError::Transfer(format!(
                "the file's URL answered {}",
                response.status()
            )));
        }
        let part = part_path(path);
        let write_err = |source| DownloadError::Write {
            path: part.clone(),
            source,
        };
        if let Some(dir) = part.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(write_err)?;
        }
        let mut out = tokio::fs::File::create(&part).await.map_err(write_err)?;
        let mut md5 = md5::Md5::new();
        let mut size = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DownloadError::Transfer(describe(&e)))?
        {
            size += chunk.len() as u64;
            md5.update(&chunk);
            out.write_all(&chunk).await.map_err(write_err)?;
        }
        out.sync_all().await.map_err(write_err)?;
        drop(out);
        let md5 = hex::encode(md5.finalize());
        if let Some(why) = mismatch(file, size, &md5) {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(DownloadError::Corrupt(why));
        }
        tokio::fs::rename(&part, path)
            .await
            .map_err(|source| DownloadError::Write {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// Whether the file at `path` (of `len` bytes) holds `file`'s bytes.
fn holds(path: &Path, len: u64, file: &FileDescriptor) -> bool {
    if file.size_in_bytes.is_some_and(|s| s != len) {
        return false;
    }
    match SourceDigest::of_file(path) {
        Ok(d) => mismatch(file, d.size, &d.md5).is_none(),
        Err(_) => false,
    }
}

/// How bytes of `size` and `md5` depart from the descriptor's size and hash, if they do.
fn mismatch(file: &FileDescriptor, size: u64, md5: &str) -> Option<String> {
    let mut out = Vec::new();
    if let Some(expected) = file.size_in_bytes
        && expected != size
    {
        out.push(format!("size {size}, expected {expected}"));
    }
    if let Some(hash) = &file.hash
        && !hash.eq_ignore_ascii_case(md5)
    {
        out.push(format!("md5 {md5}, expected {hash}"));
    }
    (!out.is_empty()).then(|| out.join("; "))
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

/// A transfer error without its URL (a signed URL's signature is a secret).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the body broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}
