//! `media-migrate export`: a site's live files written as a manifest in this tool's own format
//! (folder path, display name, media type, labels, private flag, the file id as
//! `external_id`, size and hash as `expected_size`/`expected_md5`), so another site can import
//! it. The files are read with Search Files, 100 a call, the folders with Search Folders — about
//! one call per 100 files — a page at a time: memory holds one page and the folder paths, never
//! the site. A public file's `source` is its static URL; with `--download` every file's bytes
//! go into a local tree ([`download`]) and `source` names the local copy. Resumable from the
//! last complete page ([`state`]).

pub mod download;
pub mod names;
pub mod state;
pub mod tree;

use std::collections::{BTreeMap, HashSet};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;

use self::download::{DownloadError, Downloader, Placement};
use self::state::{ExportCounts, ExportState, StateError};
use self::tree::FolderTree;
use crate::api::client::{CallError, MediaClient};
use crate::manifest::FIELDS;
use wix_media_wire::types::{FileDescriptor, MediaType, OperationStatus, State};

#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// The manifest written.
    pub out: PathBuf,
    /// `--folder`: the folder exported with everything below it (`""`: the whole site).
    pub folder: String,
    /// `--download DIR`.
    pub download: Option<PathBuf>,
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// A download that sends nothing for this long is abandoned (and tried again).
    pub read_timeout: Duration,
    /// The target, named without secrets (a state file belongs to one target).
    pub target_identity: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the site")]
    Target(#[source] Box<CallError>),
    #[error("the site has no folder {0}")]
    NoFolder(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("writing the manifest {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("building the HTTP client for --download")]
    Http(#[source] reqwest::Error),
    #[error("a blocking task stopped unexpectedly")]
    Task(#[source] tokio::task::JoinError),
}

impl From<CallError> for ExportError {
    fn from(e: CallError) -> Self {
        ExportError::Target(Box::new(e))
    }
}

/// What an export did (printed, and returned to the caller).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    pub manifest: String,
    pub folder: String,
    pub download: Option<String>,
    /// Went on from an earlier, interrupted start.
    pub resumed: bool,
    pub folders: u64,
    pub counts: ExportCounts,
    pub api_calls: BTreeMap<String, u64>,
    pub api_calls_total: u64,
}

impl ExportSummary {
    /// Every live file of the scope is in the manifest.
    pub fn complete(&self) -> bool {
        let c = &self.counts;
        c.private_skipped == 0 && c.not_ready == 0 && c.download_failed == 0
    }
}

/// Exports the site behind `client` as `config` says.
pub async fn export(
    config: &ExportConfig,
    client: &MediaClient,
) -> Result<ExportSummary, ExportError> {
    let identity = format!(
        "{} folder={:?} download={:?}",
        config.target_identity,
        tree::normalize(&config.folder),
        config
            .download
            .as_deref()
            .map(Path::display)
            .map(|d| d.to_string())
    );
    let state_path = state::path_for(&config.out);
    let saved = ExportState::load(&state_path, &identity)?;
    let resumed = saved.is_some();
    let mut state = saved.unwrap_or_else(|| ExportState::new(identity));
    let tree = FolderTree::read(client, &config.folder)
        .await?
        .ok_or_else(|| ExportError::NoFolder(tree::normalize(&config.folder)))?;
    let mut out = Manifest::open(&config.out, resumed.then_some(state.bytes))?;
    if !resumed {
        state.bytes = out.append(&header())?;
        state.save(&state_path)?;
    }
    let downloads = match &config.download {
        Some(dir) => Some(Arc::new(
            Downloader::new(absolute(dir)?, config.read_timeout).map_err(ExportError::Http)?,
        )),
        None => None,
    };
    loop {
        let page = client.search_files(state.cursor.as_deref()).await?;
        let rows = export_page(
            config,
            client,
            &tree,
            downloads.as_ref(),
            page.files,
            &out.dir,
            &mut state.counts,
        )
        .await?;
        state.bytes = out.append(&rows)?;
        let next = page.next_cursor.next_cursor().map(str::to_string);
        let done = next.is_none() || next == state.cursor;
        state.cursor = next;
        state.save(&state_path)?;
        if done {
            break;
        }
    }
    // Done: a new start is a new export.
    let _ = std::fs::remove_file(&state_path);
    let calls = client.counters().snapshot();
    Ok(ExportSummary {
        manifest: config.out.display().to_string(),
        folder: tree::normalize(&config.folder),
        download: config.download.as_ref().map(|d| d.display().to_string()),
        resumed,
        folders: tree.len() as u64,
        counts: state.counts,
        api_calls_total: calls.calls.values().sum(),
        api_calls: calls
            .calls
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
    })
}

/// One page of files: which to export, their bytes when downloading, their manifest lines.
async fn export_page(
    config: &ExportConfig,
    client: &MediaClient,
    tree: &FolderTree,
    downloads: Option<&Arc<Downloader>>,
    files: Vec<FileDescriptor>,
    manifest_dir: &Path,
    counts: &mut ExportCounts,
) -> Result<Vec<u8>, ExportError> {
    let mut chosen: Vec<(String, FileDescriptor)> = Vec::new();
    for file in files {
        if file.state == Some(State::Deleted) {
            continue;
        }
        let parent = file
            .parent_folder_id
            .as_deref()
            .unwrap_or(wix_media_wire::types::MEDIA_ROOT);
        let Some(folder) = tree.path(parent) else {
            counts.out_of_scope += 1;
            continue;
        };
        if file.operation_status != Some(OperationStatus::Ready) {
            counts.not_ready += 1;
        } else if file.private == Some(true) && downloads.is_none() {
            counts.private_skipped += 1;
            tracing::warn!(
                file_id = file.id.as_deref().unwrap_or_default(),
                "a private file needs --download; left out"
            );
        } else {
            chosen.push((folder.to_string(), file));
        }
    }
    let sources: Vec<Option<String>> = match downloads {
        None => chosen.iter().map(|(_, f)| f.url.clone()).collect(),
        Some(d) => fetch_page(config, client, d, &chosen, manifest_dir, counts).await?,
    };
    let mut csv = csv::Writer::from_writer(Vec::new());
    for ((folder, file), source) in chosen.iter().zip(sources) {
        let Some(source) = source else { continue };
        counts.exported += 1;
        csv.write_record(row(&source, folder, file))
            .expect("writing to memory");
    }
    Ok(csv.into_inner().expect("writing to memory"))
}

/// Downloads a page's files (those not already complete on disk); returns each one's local
/// source, or `None` for a file that could not be fetched whole.
async fn fetch_page(
    config: &ExportConfig,
    client: &MediaClient,
    downloads: &Arc<Downloader>,
    chosen: &[(String, FileDescriptor)],
    manifest_dir: &Path,
    counts: &mut ExportCounts,
) -> Result<Vec<Option<String>>, ExportError> {
    let placements: Vec<Placement> = {
        let (d, chosen) = (downloads.clone(), chosen.to_vec());
        tokio::task::spawn_blocking(move || {
            let mut taken = HashSet::new();
            chosen
                .iter()
                .map(|(folder, file)| d.place(folder, file, &mut taken))
                .collect()
        })
        .await
        .map_err(ExportError::Task)?
    };
    let results: Vec<(usize, Result<(), DownloadError>)> =
        futures_util::stream::iter(placements.iter().enumerate().filter(|(_, p)| !p.complete))
            .map(|(i, p)| async move { (i, downloads.fetch(client, &chosen[i].1, &p.path).await) })
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
    let mut failed = HashSet::new();
    for (i, result) in results {
        match result {
            Ok(()) => counts.downloaded += 1,
            Err(e @ DownloadError::Write { .. }) => {
                return Err(ExportError::Write {
                    path: placements[i].path.clone(),
                    source: std::io::Error::other(format!("{e:#}")),
                });
            }
            Err(e) => {
                counts.download_failed += 1;
                failed.insert(i);
                let id = chosen[i].1.id.as_deref().unwrap_or_default();
                eprintln!(
                    "media-migrate: export: file {id} left out: {}",
                    error_chain(&e)
                );
            }
        }
    }
    Ok(placements
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if failed.contains(&i) {
                return None;
            }
            if p.complete {
                counts.already_complete += 1;
            }
            let local = p.path.strip_prefix(manifest_dir).unwrap_or(&p.path);
            Some(local.to_string_lossy().into_owned())
        })
        .collect())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn header() -> Vec<u8> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(FIELDS).expect("writing to memory");
    csv.into_inner().expect("writing to memory")
}

/// A file's manifest line, in the order of [`FIELDS`].
fn row(source: &str, folder: &str, file: &FileDescriptor) -> [String; 10] {
    let media_type = match file.media_type {
        Some(MediaType::Unknown | MediaType::Other) | None => "",
        Some(t) => t.as_str(),
    };
    [
        source.to_string(),
        if folder.is_empty() {
            "/".to_string()
        } else {
            folder.to_string()
        },
        file.display_name.clone().unwrap_or_default(),
        String::new(),
        media_type.to_string(),
        file.labels.as_deref().unwrap_or_default().join("|"),
        file.private.unwrap_or(false).to_string(),
        file.id.clone().unwrap_or_default(),
        file.size_in_bytes
            .map(|s| s.to_string())
            .unwrap_or_default(),
        file.hash.clone().unwrap_or_default(),
    ]
}

/// `dir` made absolute (created first) against the current directory.
fn absolute(dir: &Path) -> Result<PathBuf, ExportError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| dir.canonicalize())
        .map_err(|source| ExportError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

/// The manifest file, appended to page by page.
struct Manifest {
    path: PathBuf,
    file: std::fs::File,
    /// Its folder, absolute: local sources are written relative to it.
    dir: PathBuf,
}

impl Manifest {
    /// Creates `path` afresh, or (resuming) cuts it back to the `keep` bytes of complete pages.
    fn open(path: &Path, keep: Option<u64>) -> Result<Self, ExportError> {
        let err = |source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(err)?;
        let dir = parent.canonicalize().map_err(err)?;
        let mut file = match keep {
            Some(bytes) => {
                let mut options = std::fs::File::options();
                options.write(true);
                let file = options.open(path).map_err(err)?;
                file.set_len(bytes).map_err(err)?;
                file
            }
            None => crate::create_private_file(path).map_err(err)?,
        };
        file.seek(std::io::SeekFrom::End(0)).map_err(err)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            dir,
        })
    }

    /// Appends `bytes`, synced; returns the manifest's length.
    fn append(&mut self, bytes: &[u8]) -> Result<u64, ExportError> {
        let err = |source| ExportError::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(bytes).map_err(err)?;
        self.file.sync_data().map_err(err)?;
        self.file.stream_position().map_err(err)
    }
}
