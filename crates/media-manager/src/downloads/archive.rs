//! Zip archives of several files or of a folder tree: what an archive holds (resolved when it
//! is downloaded, so files trashed since are left out) and the zip itself, streamed with
//! `Stored` entries (media is already compressed) from a blocking thread through a bounded
//! channel, so memory stays flat whatever the archive's size. Archive records are the store's.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;
use rusqlite::{Connection, params};
use tokio::sync::mpsc;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::names::EntryNames;
use crate::blobs::BlobStore;
use crate::error::WixResult;
use crate::store::files::{self, FileRow};
use crate::store::sessions::ArchiveRow;
use wix_media_wire::types::{OperationStatus, limits};

/// One file in an archive: the folder it is in, its name, and where its bytes are. Its entry
/// path is made only when the entry is written.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The folder of the archived tree it is in (`None`: the archive's top).
    pub folder: Option<usize>,
    pub display_name: String,
    pub path: PathBuf,
    pub size: u64,
    pub modified_ms: i64,
}

/// A folder of an archived tree: its name and its parent's place in the list (the tree's top
/// has none). Paths are rebuilt from these links one entry at a time, so memory grows with the
/// number of folders, not with folders × depth.
#[derive(Debug, Clone)]
pub struct TreeFolder {
    pub name: String,
    pub parent: Option<usize>,
}

/// What an archive holds: the folders below its top, and the files.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub tree: Vec<TreeFolder>,
    pub entries: Vec<Entry>,
}

impl Contents {
    /// The folder names from the top down to `folder` (the top itself not included).
    fn dirs_of<'a>(&'a self, folder: Option<usize>, out: &mut Vec<&'a str>) {
        out.clear();
        let mut up = folder;
        // The tree is no deeper than the depth limit, so neither is this walk.
        while let Some(i) = up.filter(|&i| self.tree[i].parent.is_some()) {
            out.push(&self.tree[i].name);
            up = self.tree[i].parent;
        }
        out.reverse();
    }
}

/// Whether a file may go into a (permanent, unsigned) archive.
pub fn archivable(f: &FileRow) -> bool {
    f.is_live() && f.status == OperationStatus::Ready && !f.private && f.blob.is_some()
}

/// The contents of `archive` as things stand now.
pub fn resolve(conn: &Connection, archive: &ArchiveRow, blobs: &BlobStore) -> WixResult<Contents> {
    let mut contents = Contents::default();
    match (&archive.file_ids, &archive.folder_id) {
        (Some(ids), _) => {
            for f in files::get_files(conn, ids)? {
                contents.entries.extend(entry(blobs, None, &f));
            }
        }
        (None, Some(folder)) => folder_contents(conn, folder, blobs, &mut contents)?,
        (None, None) => {}
    }
    Ok(contents)
}

fn entry(blobs: &BlobStore, folder: Option<usize>, f: &FileRow) -> Option<Entry> {
    let blob = f.blob.as_deref().filter(|_| archivable(f))?;
    Some(Entry {
        folder,
        display_name: f.display_name.clone(),
        path: blobs.path(blob),
        size: f.size.unwrap_or(0),
        modified_ms: f.updated_ms,
    })
}

/// The live folder tree under `folder_id` and its files.
fn folder_contents(
    conn: &Connection,
    folder_id: &str,
    blobs: &BlobStore,
    contents: &mut Contents,
) -> WixResult<()> {
    // Breadth first, parents before children; no deeper than the depth limit allows, whatever
    // chain an older server may have left in the database.
    let mut stmt = conn.prepare(
        "WITH RECURSIVE sub(id, parent, name, depth) AS (
             SELECT id, '', '', 0 FROM folders WHERE id = ?1 AND trashed = 0
             UNION ALL SELECT f.id, f.parent_id, f.display_name, sub.depth + 1
                 FROM folders f JOIN sub ON f.parent_id = sub.id
                 WHERE f.trashed = 0 AND sub.depth < ?2)
         SELECT id, parent, name FROM sub ORDER BY depth, name, id",
    )?;
    let rows = stmt.query_map(params![folder_id, limits::FOLDER_MAX_DEPTH as i64], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut ids: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let (id, parent, name) = row?;
        let parent = index.get(&parent).copied();
        index.insert(id.clone(), ids.len());
        ids.push(id);
        contents.tree.push(TreeFolder { name, parent });
    }
    drop(index);
    let mut in_folder = conn.prepare_cached(
        "SELECT id FROM files WHERE parent_id = ?1 AND trashed = 0 ORDER BY display_name, id",
    )?;
    for (at, folder) in ids.iter().enumerate() {
        let file_ids: Vec<String> = in_folder
            .query_map([folder], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for f in files::get_files(conn, &file_ids)? {
            contents.entries.extend(entry(blobs, Some(at), &f));
        }
    }
    Ok(())
}

/// Bytes handed to the response at once; the channel holds a few of these at most.
const CHUNK: usize = 64 * 1024;
const CHANNEL_CHUNKS: usize = 4;

/// A `Write` that forwards full chunks to the response body, blocking while the client is slow.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Starts writing the zip of `entries` on a blocking thread; the stream ends early, with an
/// error, if a blob can't be read, so a client never takes a truncated zip for a whole one.
pub fn stream(contents: Contents) -> axum::body::Body {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let errors = tx.clone();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        // A broken pipe is the client leaving; anything else ends the body with an error.
        if let Err(e) = write_zip(writer, &contents)
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            tracing::error!(error = %e, "writing a zip archive failed");
            let _ = errors.blocking_send(Err(e));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    axum::body::Body::from_stream(body)
}

fn write_zip(writer: ChannelWriter, contents: &Contents) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(writer);
    let mut names = EntryNames::default();
    let mut dirs = Vec::new();
    for entry in &contents.entries {
        contents.dirs_of(entry.folder, &mut dirs);
        let name = names.claim(&dirs, &entry.display_name);
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(entry.size >= u64::from(u32::MAX))
            .last_modified_time(zip_time(entry.modified_ms));
        zip.start_file(name, options)?;
        let mut file = std::fs::File::open(&entry.path)?;
        io::copy(&mut file, &mut zip)?;
    }
    let mut writer = zip.finish()?.into_inner();
    writer.flush()
}

/// The zip (MS-DOS) timestamp of a moment, in UTC; the zip epoch (1980) when out of range.
fn zip_time(ms: i64) -> zip::DateTime {
    let civil = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH));
    zip::DateTime::from_date_and_time(
        u16::try_from(civil.year()).unwrap_or(1980),
        civil.month() as u8,
        civil.day() as u8,
        civil.hour() as u8,
        civil.minute() as u8,
        civil.second() as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn streamed_zip_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.path().join("a"), b"hello").unwrap();
        std::fs::write(dir.path().join("b"), &big).unwrap();
        let contents = Contents {
            tree: vec![
                TreeFolder {
                    name: String::new(),
                    parent: None,
                },
                TreeFolder {
                    name: "sub".into(),
                    parent: Some(0),
                },
            ],
            entries: vec![
                Entry {
                    folder: None,
                    display_name: "a.txt".into(),
                    path: dir.path().join("a"),
                    size: 5,
                    modified_ms: 1_700_000_000_000,
                },
                Entry {
                    folder: Some(1),
                    display_name: "b.bin".into(),
                    path: dir.path().join("b"),
                    size: big.len() as u64,
                    modified_ms: 0,
                },
            ],
        };
        let bytes = axum::body::to_bytes(stream(contents), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let mut zip = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(zip.len(), 2);
        let mut read = |name: &str| {
            let mut out = Vec::new();
            io::copy(&mut zip.by_name(name).unwrap(), &mut out).unwrap();
            out
        };
        assert_eq!(read("a.txt"), b"hello");
        assert_eq!(read("sub/b.bin"), big);
    }

    #[test]
    fn zip_time_is_utc_civil_time() {
        let t = zip_time(1_700_000_000_000);
        assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
        assert_eq!((t.hour(), t.minute(), t.second()), (22, 13, 20));
        assert_eq!(zip_time(0).year(), 1980);
    }
}
