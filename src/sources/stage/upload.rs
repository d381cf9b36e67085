//! Uploads of local files to the stage with bounded memory and bandwidth: a file up to one
//! part is read whole and sent in one PUT; a larger one goes as a multipart upload of
//! [`PART_SIZE`] parts, at most [`PARTS_IN_FLIGHT`] sent at once while the next is read. Every
//! byte read is paced by the run's [`Bandwidth`] (all uploads share it) and held against one
//! memory budget, so many concurrent uploads never hold more than [`MEMORY_BUDGET_MIB`]. The
//! bytes are hashed again as they are read: a file changed since it was hashed is never stored
//! under the old hash's name.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::bandwidth::Bandwidth;
use super::{StageError, Store, local};

const MIB: usize = 1024 * 1024;
/// The size of a multipart upload's parts, and the largest file sent in one PUT: above S3's
/// 5 MiB minimum, and 10,000 parts (S3's maximum) make 160 GiB.
pub const PART_SIZE: usize = 16 * MIB;
/// Parts of one upload sent at once while the next is read.
pub const PARTS_IN_FLIGHT: usize = 2;
/// What all uploads together may hold in memory, in MiB.
pub const MEMORY_BUDGET_MIB: usize = 128;
/// The piece read (and paced) at a time.
const READ_CHUNK: usize = MIB;

/// Sends files to the stage's store, sharing one bandwidth cap and one memory budget.
pub struct Uploader {
    store: Store,
    bandwidth: Option<Bandwidth>,
    memory: Arc<Semaphore>,
}

impl Uploader {
    /// An uploader to `store`, capped at `bandwidth` bytes/s when given.
    pub fn new(store: Store, bandwidth: Option<u64>) -> Self {
        Self {
            store,
            bandwidth: bandwidth.map(Bandwidth::new),
            memory: Arc::new(Semaphore::new(MEMORY_BUDGET_MIB)),
        }
    }

    /// Stores the file at `path` (`len` bytes hashed `sha256` when it was hashed) as `key`.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        sha256: &str,
        len: u64,
    ) -> Result<(), StageError> {
        if len <= PART_SIZE as u64 {
            self.put_whole(key, path, sha256, len).await
        } else {
            self.put_parts(key, path, sha256, len).await
        }
    }

    /// Memory for `bytes`, in MiB permits (at least one), held until dropped.
    async fn hold(&self, bytes: usize) -> tokio::sync::SemaphorePermit<'_> {
        let mib = bytes.div_ceil(MIB).clamp(1, MEMORY_BUDGET_MIB) as u32;
        self.memory
            .acquire_many(mib)
            .await
            .expect("the memory budget is never closed")
    }

    async fn put_whole(
        &self,
        key: &str,
        path: &Path,
        sha256: &str,
        len: u64,
    ) -> Result<(), StageError> {
        let _held = self.hold(len as usize).await;
        let mut reader = Reader::open(path, self.bandwidth.as_ref()).await?;
        let mut body = Vec::with_capacity(len as usize);
        while let Some(chunk) = reader.next().await? {
            body.extend_from_slice(&chunk);
        }
        reader.finish(sha256, len)?;
        self.store
            .backend()
            .put(&ObjectPath::from(key), PutPayload::from(body))
            .await
            .map_err(|e| self.store.error("store", key, e))?;
        Ok(())
    }

    async fn put_parts(
        &self,
        key: &str,
        path: &Path,
        sha256: &str,
        len: u64,
    ) -> Result<(), StageError> {
        let _held = self.hold((PARTS_IN_FLIGHT + 1) * PART_SIZE).await;
        let mut reader = Reader::open(path, self.bandwidth.as_ref()).await?;
        let upload = self
            .store
            .backend()
            .put_multipart(&ObjectPath::from(key))
            .await
            .map_err(|e| self.store.error("start a multipart upload of", key, e))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let sent = async {
            while let Some(chunk) = reader.next().await? {
                parts
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.store.error("store a part of", key, e))?;
                parts.put(chunk);
            }
            reader.finish(sha256, len)
        }
        .await;
        match sent {
            Ok(()) => {
                parts
                    .finish()
                    .await
                    .map_err(|e| self.store.error("complete", key, e))?;
                Ok(())
            }
            Err(e) => {
                // Nothing is stored under the name; the parts sent are discarded.
                if let Err(abort) = parts.abort().await {
                    tracing::warn!(key, error = %self.store.error("abort", key, abort), "a multipart upload could not be aborted");
                }
                Err(e)
            }
        }
    }
}

/// A local file read in paced chunks and hashed as it goes.
struct Reader<'a> {
    path: &'a Path,
    file: tokio::fs::File,
    bandwidth: Option<&'a Bandwidth>,
    hasher: Sha256,
    read: u64,
}

impl<'a> Reader<'a> {
    async fn open(path: &'a Path, bandwidth: Option<&'a Bandwidth>) -> Result<Self, StageError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| local(path, e))?;
        Ok(Self {
            path,
            file,
            bandwidth,
            hasher: Sha256::new(),
            read: 0,
        })
    }

    /// The next chunk, once the bandwidth allows it; `None` at the end of the file.
    async fn next(&mut self) -> Result<Option<Bytes>, StageError> {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            let n = self
                .file
                .read(&mut buf[filled..])
                .await
                .map_err(|e| local(self.path, e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(None);
        }
        buf.truncate(filled);
        if let Some(b) = self.bandwidth {
            b.take(filled as u64).await;
        }
        self.hasher.update(&buf);
        self.read += filled as u64;
        Ok(Some(Bytes::from(buf)))
    }

    /// Checks that the bytes read are the ones hashed before.
    fn finish(self, sha256: &str, len: u64) -> Result<(), StageError> {
        if self.read != len || hex::encode(self.hasher.finalize()) != sha256 {
            return Err(StageError::Changed {
                path: self.path.display().to_string(),
            });
        }
        Ok(())
    }
}
