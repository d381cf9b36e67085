//! Folder paths longer than the contract's `filePath` (100 characters) are reached in steps
//! (`api::folder_path` says how a path is sent): when no known folder is deep enough, the levels
//! down to the shallowest one that leaves a fitting rest are found or made here — listed first,
//! so a folder an earlier run made is found rather than made twice, then Create Folder, one
//! level a call — one path at a time for the whole run, so two stages never race to make the
//! same folder. The folders made are recorded in the journal as soon as they are known.

use std::collections::HashMap;

use crate::api::client::CallError;
use crate::api::folder_path::{anchor_of, fits, prefixes, step_for};
use crate::api::listing::FolderResolver;
use crate::control::retry::Disposition;
use crate::pipeline::{PipelineError, RunContext};
use wix_media_wire::types::{MEDIA_ROOT, limits::FILE_PATH_MAX_LEN};

/// The folders this run made or found by steps (path → id), behind the lock that keeps their
/// making one path at a time.
#[derive(Default)]
pub(crate) struct FolderSteps {
    made: tokio::sync::Mutex<HashMap<String, String>>,
}

impl FolderSteps {
    /// Makes every path of `paths` reachable (see [`folder_target`]); returns the folders it
    /// found or made (path → id) for the caller to add to what it knows. Costs no call for a
    /// path that fits or whose known ancestors already reach it.
    pub(crate) async fn reach<'a>(
        &self,
        ctx: &RunContext,
        paths: impl IntoIterator<Item = &'a str>,
        known: &HashMap<String, String>,
    ) -> Result<Vec<(String, String)>, PipelineError> {
        let mut wanted: Vec<&str> = paths
            .into_iter()
            .filter(|p| {
                !p.is_empty()
                    && !fits(p)
                    && !known.contains_key(*p)
                    && anchor_of(p, known).is_none()
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut made = self.made.lock().await;
        let mut found = Vec::new();
        let mut resolver = FolderResolver::new(&ctx.client);
        for path in wanted {
            let step = step_for(path);
            if let Some(id) = made.get(step) {
                found.push((step.to_string(), id.clone()));
                continue;
            }
            let start = deepest_known(step, known, &made);
            let levels = make(&mut resolver, step, start)
                .await
                .map_err(PipelineError::of_call)?;
            tracing::info!(
                folder = step,
                "reached a folder path longer than filePath's {FILE_PATH_MAX_LEN} characters in steps"
            );
            let max_attempts = ctx.config.max_attempts;
            let record = levels.clone();
            ctx.journal
                .with(move |j| j.record_found(&record, &[], max_attempts))
                .await?;
            made.extend(levels.iter().cloned());
            found.extend(levels);
        }
        Ok(found)
    }
}

/// The deepest ancestor of `path` (or itself) with a known id: `(path, id)`, or the root.
fn deepest_known(
    path: &str,
    known: &HashMap<String, String>,
    made: &HashMap<String, String>,
) -> (String, String) {
    prefixes(path)
        .rev()
        .find_map(|p| {
            known
                .get(p)
                .or_else(|| made.get(p))
                .map(|id| (p.to_string(), id.clone()))
        })
        .unwrap_or_else(|| (String::new(), MEDIA_ROOT.to_string()))
}

/// The folders down to `path` (path → id, each level), made level by level below `start` (a
/// known ancestor), each level found by listing before it is made. A Create Folder whose
/// answer was lost is settled by listing again: found, it is used; not found, the error stands.
async fn make(
    resolver: &mut FolderResolver<'_>,
    path: &str,
    start: (String, String),
) -> Result<Vec<(String, String)>, CallError> {
    let (start_path, mut parent) = start;
    let mut levels = Vec::new();
    for level in prefixes(path).filter(|p| p.len() > start_path.len()) {
        let segment = &level[level.rfind('/').map_or(0, |i| i + 1)..];
        parent = match resolver.child(&parent, segment).await? {
            Some(id) => id,
            None => match resolver.create(&parent, segment).await {
                Ok(id) => id,
                Err(e) if e.disposition() == Disposition::InDoubt => {
                    resolver.forget(&parent);
                    resolver.child(&parent, segment).await?.ok_or(e)?
                }
                Err(e) => return Err(e),
            },
        };
        levels.push((level.to_string(), parent.clone()));
    }
    Ok(levels)
}
