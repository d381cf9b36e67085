//! What makes `export` resumable: after each page of files is written (and its downloads are
//! complete and verified), the manifest's length and the next page's cursor are saved in a
//! small JSON file beside it (written to a temporary name, then renamed). A new start with the
//! same target, folder and download dir cuts the manifest back to that length and goes on
//! from the cursor; the state file is removed when the export is done.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const VERSION: u32 = 1;

/// Counts of an export so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportCounts {
    /// Files written to the manifest.
    pub exported: u64,
    /// Files whose bytes were downloaded (and verified) in this export.
    pub downloaded: u64,
    /// Downloaded files found complete on disk, verified, not downloaded again.
    pub already_complete: u64,
    /// Private files left out: they need `--download`.
    pub private_skipped: u64,
    /// Files not READY (still PENDING, or FAILED: no content to export).
    pub not_ready: u64,
    /// Downloads that failed or did not match the file's size and hash.
    pub download_failed: u64,
    /// Files in folders outside `--folder`.
    #[serde(default)]
    pub out_of_scope: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportState {
    pub version: u32,
    /// Which export this is: target, folder and download dir.
    pub identity: String,
    /// The cursor of the next page of files (none: the first).
    pub cursor: Option<String>,
    /// Bytes of the manifest written for complete pages.
    pub bytes: u64,
    pub counts: ExportCounts,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("reading the export state {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the export state {} is not one this version writes: {message}; delete it to start over", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "the export state {} is of another export ({theirs}), not of this one ({ours}): give another --out, or delete it to start over",
        path.display()
    )]
    Other {
        path: PathBuf,
        theirs: String,
        ours: String,
    },
    #[error("writing the export state {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The state file of the manifest `out`.
pub fn path_for(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".export-state.json");
    out.with_file_name(name)
}

impl ExportState {
    pub fn new(identity: String) -> Self {
        Self {
            version: VERSION,
            identity,
            cursor: None,
            bytes: 0,
            counts: ExportCounts::default(),
        }
    }

    /// The saved state of the export `identity`, if one was left by an earlier start.
    pub fn load(path: &Path, identity: &str) -> Result<Option<Self>, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let state: Self = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if state.version != VERSION {
            return Err(StateError::Corrupt {
                path: path.to_path_buf(),
                message: format!("version {}", state.version),
            });
        }
        if state.identity != identity {
            return Err(StateError::Other {
                path: path.to_path_buf(),
                theirs: state.identity,
                ours: identity.to_string(),
            });
        }
        Ok(Some(state))
    }

    /// Saves the state: a temporary file, synced, renamed over the last one.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let write = || -> std::io::Result<()> {
            let tmp = path.with_extension("json.tmp");
            let mut file = crate::create_private_file(&tmp)?;
            std::io::Write::write_all(
                &mut file,
                &serde_json::to_vec_pretty(self).expect("state serialises"),
            )?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|source| StateError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}
