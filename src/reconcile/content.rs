//! `reconcile --verify-content=source`: each READY file's size and hash against its source's
//! bytes — a URL source downloaded through the [`Prober`] (polite per host, the
//! `--source-header`s it needs, no API call), a local file read from disk — streamed through
//! MD5, nothing kept. Judged lines pass through in manifest order; `buffered` lets several
//! downloads run side by side.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::verdict::{Status, source_differences};
use crate::sources::probe::{Prober, SourceDigest};

/// What a READY file's source is, to read it again.
#[derive(Debug, Clone)]
pub enum SourceOf {
    Url(url::Url),
    File(PathBuf),
}

/// A READY file to compare with its source.
#[derive(Debug, Clone)]
pub struct ContentCheck {
    pub source: SourceOf,
    pub size: Option<u64>,
    pub hash: Option<String>,
}

/// One `reconcile.csv` line as judged from the manifest and the listing.
#[derive(Debug)]
pub struct Judged {
    pub status: Status,
    /// line, source, folder_path, display_name, status, file_id, size, hash, detail.
    pub cells: Vec<String>,
    /// With `--verify-content=source`: the READY file to compare.
    pub check: Option<ContentCheck>,
    /// The content was compared (with the manifest's values, or with the source's bytes).
    pub verified: bool,
}

const STATUS: usize = 4;
const DETAIL: usize = 8;

impl Judged {
    fn set(&mut self, status: Status, detail: &str) {
        self.status = status;
        self.cells[STATUS] = status.as_str().to_string();
        let cell = &mut self.cells[DETAIL];
        if !cell.is_empty() && !detail.is_empty() {
            cell.push_str("; ");
        }
        cell.push_str(detail);
    }
}

/// The lines of `rx` in order, each READY file checked against its source when `prober` is
/// given, up to `in_flight` at once.
pub fn checked(
    rx: mpsc::Receiver<Judged>,
    prober: Option<Arc<Prober>>,
    in_flight: usize,
) -> impl futures_util::Stream<Item = Judged> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|j| (j, rx)) })
        .map(move |judged| {
            let prober = prober.clone();
            async move {
                match (prober, judged.check.is_some()) {
                    (Some(prober), true) => compare(&prober, judged).await,
                    _ => judged,
                }
            }
        })
        .buffered(in_flight.max(1))
}

async fn compare(prober: &Prober, mut judged: Judged) -> Judged {
    let check = judged.check.take().expect("checked only with a check");
    let digest = match &check.source {
        SourceOf::Url(url) => prober.digest(url).await,
        SourceOf::File(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || SourceDigest::of_file(&path))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        }
    };
    match digest {
        Ok(d) => {
            judged.verified = true;
            let differences = source_differences(check.size, check.hash.as_deref(), d.size, &d.md5);
            if !differences.is_empty() {
                judged.set(Status::Differs, &differences.join("; "));
            }
        }
        Err(why) => {
            judged.verified = false;
            let status = judged.status;
            judged.set(status, &format!("not verified: {why}"));
        }
    }
    judged
}
