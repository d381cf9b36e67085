//! The adopt stage: before a row new to the journal is imported, its folder on the target is
//! looked at for a file that already stands for it — by `sourceUrl` and name (uploads: name and
//! size), the matching settling uses, each file taken by one row at most — and that file is
//! adopted instead of importing another. Each folder is listed once per run (one call per
//! 100 files there, plus the folder lookups of its path); a folder the journal found absent
//! before costs nothing, since every file in it came from this journal's imports. A FAILED
//! file is not adopted: the row is imported afresh, and that file, like any other standing for
//! a row that no row took, is recorded as not the journal's (`foreign_files`), so settling
//! never takes it for a row's own. Looking only reads the target, and each
//! folder's adoptions are one journal transaction, so a crash at any point leaves rows either
//! adopted or still to be looked for.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::settle::{local_size, matches};
use super::{PipelineError, RunContext};
use crate::api::listing::{self, FolderResolver};
use crate::journal::{FileFacts, Journal, JournalError, JournalRow};
use wix_media_wire::types::{FileDescriptor, MEDIA_ROOT, OperationStatus};

/// Rows matched against a folder's files per journal transaction.
const ROWS_PER_CHUNK: usize = 5_000;

/// What the adopt stage did in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AdoptStats {
    /// Rows adopted: the target already held their files.
    pub adopted: u64,
    /// Folders listed.
    pub listed: u64,
    /// Rows not looked for: their folders are new.
    pub in_new_folders: u64,
}

/// Looks for every row new to the journal at the target, folder by folder. What the journal
/// knows is read in one call and the folders that need no look (known new, or found absent)
/// are recorded in one more, so a first run into a new tree costs its imports no more than the
/// lookups of the tree's top.
pub(crate) async fn adopt_new_rows(ctx: &Arc<RunContext>) -> Result<AdoptStats, PipelineError> {
    let folders = ctx.journal.with(|j| j.adoption_plan()).await?;
    let mut stats = AdoptStats::default();
    let mut resolver = FolderResolver::new(&ctx.client);
    // Folders whose rows need no look, and whether each was just found absent.
    let mut skipped: Vec<(String, bool)> = Vec::new();
    let looked = look_in_folders(ctx, folders, &mut resolver, &mut skipped, &mut stats).await;
    // Recorded whatever ended the looks: what was learned before an error still holds.
    stats.in_new_folders += ctx
        .journal
        .with(move |j| j.skip_adoption_in_all(&skipped))
        .await?;
    looked?;
    Ok(stats)
}

/// Looks in each folder of `folders` (path, known new, id), adopting what stands for its rows;
/// folders that need no look go to `skipped`.
async fn look_in_folders(
    ctx: &Arc<RunContext>,
    folders: Vec<(String, bool, Option<String>)>,
    resolver: &mut FolderResolver<'_>,
    skipped: &mut Vec<(String, bool)>,
    stats: &mut AdoptStats,
) -> Result<(), PipelineError> {
    for (path, is_new, known) in folders {
        if ctx.stop.is_stopped() {
            break;
        }
        if is_new {
            skipped.push((path, false));
            continue;
        }
        let folder = match known {
            Some(id) => Some(id),
            None if path.is_empty() => Some(MEDIA_ROOT.to_string()),
            None => resolver
                .resolve(&path)
                .await
                .map_err(PipelineError::of_call)?,
        };
        let Some(folder) = folder else {
            skipped.push((path, true));
            continue;
        };
        let files = listing::list_all_files(&ctx.client, &folder)
            .await
            .map_err(PipelineError::of_call)?;
        stats.listed += 1;
        // FAILED files are kept in the list, to be recorded foreign, never adopted.
        let files: Arc<Vec<FileDescriptor>> = Arc::new(files);
        loop {
            let (p, id, files) = (path.clone(), folder.clone(), files.clone());
            let (checked, adopted) = ctx
                .journal
                .with(move |j| adopt_chunk(j, &p, &id, &files))
                .await?;
            stats.adopted += adopted;
            if checked < ROWS_PER_CHUNK || ctx.stop.is_stopped() {
                break;
            }
        }
    }
    Ok(())
}

/// Matches the next chunk of the folder's rows against its files and records the result;
/// returns (rows looked for, rows adopted).
fn adopt_chunk(
    j: &mut Journal,
    path: &str,
    folder_id: &str,
    files: &[FileDescriptor],
) -> Result<(usize, u64), JournalError> {
    let rows = j.unchecked_rows(path, ROWS_PER_CHUNK)?;
    let (found, foreign) = claim_indexed(j, &rows, files)?;
    let adopted: Vec<(String, FileFacts)> = rows
        .iter()
        .zip(&found)
        .filter_map(|(row, f)| {
            let f = (*f)?;
            Some((
                row.key.clone(),
                FileFacts::from_descriptor(f, f.id.as_deref().unwrap_or_default()),
            ))
        })
        .collect();
    let checked: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    j.record_adoption(Some((path, folder_id)), &adopted, &checked, &foreign)?;
    Ok((rows.len(), adopted.len() as u64))
}

/// For each row, the first of `files` that stands for it, is not FAILED and no row holds yet
/// — as settling's `claim`, with the files indexed by name, since a folder may hold many —
/// and the ids of the files that stand for a row but no row took (FAILED, or one too many):
/// they were in the folder before any of these rows was sent, so settling must never take
/// them for a row's own (a listing settling could not take later: it would see its sends'
/// files too).
#[allow(clippy::type_complexity)]
fn claim_indexed<'f>(
    j: &Journal,
    rows: &[JournalRow],
    files: &'f [FileDescriptor],
) -> Result<(Vec<Option<&'f FileDescriptor>>, Vec<String>), JournalError> {
    let mut by_name: HashMap<&str, Vec<&FileDescriptor>> = HashMap::new();
    for f in files {
        if let Some(name) = f.display_name.as_deref() {
            by_name.entry(name).or_default().push(f);
        }
    }
    let mut claimed_now = HashSet::new();
    let mut standing: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let size = local_size(row);
        let mut found = None;
        let candidates = by_name.get(row.display_name.as_str());
        for f in candidates.into_iter().flatten() {
            // A row new to the journal was never staged: any staged copy of its name and
            // size stands for it, as an upload would.
            if !matches(f, row, size, None) {
                continue;
            }
            let Some(id) = f.id.as_deref() else { continue };
            standing.insert(id);
            if found.is_none()
                && f.operation_status != Some(OperationStatus::Failed)
                && !claimed_now.contains(id)
                && !j.file_claimed(id, &row.key)?
            {
                claimed_now.insert(id);
                found = Some(*f);
            }
        }
        out.push(found);
    }
    let mut foreign = Vec::new();
    for id in standing {
        if !claimed_now.contains(id) && !j.file_claimed(id, "")? {
            foreign.push(id.to_string());
        }
    }
    foreign.sort();
    Ok((out, foreign))
}
