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
        let mut reader = Reader::open(path, len, self.bandwidth.as_ref()).await?;
        let mut body = Vec::with_capacity(len as usize);
        while let Some(chunk) = reader.next().await? {
            body.extend_from_slice(&chunk);
        }
        reader.finish(sha256)?;
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
        let mut reader = Reader::open(path, len, self.bandwidth.as_ref()).await?;
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
            reader.finish(sha256)
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

/// A local file read in paced chunks and hashed as it goes; a file grown past the length it
/// was hashed at is cut off there (its memory was held for that length), and found changed.
struct Reader<'a> {
    path: &'a Path,
    len: u64,
    file: tokio::fs::File,
    bandwidth: Option<&'a Bandwidth>,
    hasher: Sha256,
    read: u64,
}

impl<'a> Reader<'a> {
    async fn open(
        path: &'a Path,
        len: u64,
        bandwidth: Option<&'a Bandwidth>,
    ) -> Result<Self, StageError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| local(path, e))?;
        Ok(Self {
            path,
            len,
            file,
            bandwidth,
            hasher: Sha256::new(),
            read: 0,
        })
    }

    /// The next chunk, once the bandwidth allows it; `None` at the end of the file.
    async fn next(&mut self) -> Result<Option<Bytes>, StageError> {
        // One byte past the length tells a grown file without holding more of it.
        let left = (self.len + 1).saturating_sub(self.read);
        let mut buf = vec![0u8; READ_CHUNK.min(left as usize)];
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
        if self.read + filled as u64 > self.len {
            return Err(self.changed());
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
    fn finish(self, sha256: &str) -> Result<(), StageError> {
        let changed = self.changed();
        if self.read == self.len && hex::encode(self.hasher.finalize()) == sha256 {
            Ok(())
        } else {
            Err(changed)
        }
    }

    fn changed(&self) -> StageError {
        StageError::Changed {
            path: self.path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::sources::stage::hash_file;
    use crate::sources::stage::store::tests::{in_memory, stored};

    /// An uploader to an in-memory store.
    fn uploader() -> (Uploader, Arc<InMemory>) {
        let (store, memory) = in_memory();
        (Uploader::new(store, None), memory)
    }

    /// A small file goes in one PUT and a file of more than a part in parts; both are stored
    /// byte for byte.
    #[tokio::test]
    async fn files_are_stored_whole_or_in_parts() {
        let dir = tempfile::tempdir().expect("dir");
        let (up, memory) = uploader();
        let mut rng = fastrand::Rng::with_seed(7);
        for (name, len) in [("small.bin", 1000), ("large.bin", PART_SIZE * 2 + 3)] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            let (sha, n) = hash_file(&path).await.expect("hash");
            up.put_file(name, &path, &sha, n).await.expect("stored");
            assert!(stored(&memory, name).await == Some(bytes), "{name}");
        }
    }

    /// A file changed since it was hashed — other bytes of the same length, or grown — is never
    /// stored under the old hash's name, whole or in parts.
    #[tokio::test]
    async fn a_file_changed_after_hashing_is_not_stored() {
        let dir = tempfile::tempdir().expect("dir");
        let (up, memory) = uploader();
        for len in [1000, PART_SIZE + 10] {
            let path = dir.path().join("f.bin");
            std::fs::write(&path, vec![1u8; len]).expect("write");
            let (sha, n) = hash_file(&path).await.expect("hash");
            std::fs::write(&path, vec![2u8; len]).expect("rewrite");
            let e = up.put_file("same", &path, &sha, n).await.unwrap_err();
            assert!(matches!(e, StageError::Changed { .. }), "{e}");
            std::fs::write(&path, vec![1u8; len + PART_SIZE]).expect("grow");
            let e = up.put_file("grown", &path, &sha, n).await.unwrap_err();
            assert!(matches!(e, StageError::Changed { .. }), "{e}");
            assert_eq!(stored(&memory, "same").await, None);
            assert_eq!(stored(&memory, "grown").await, None);
        }
    }

    /// Uploads are paced by the bandwidth cap: 3 MB at 1 MB/s take 2 s after the burst of one
    /// second's worth (on tokio's paused clock).
    #[tokio::test(start_paused = true)]
    async fn uploads_keep_to_the_bandwidth_cap() {
        let dir = tempfile::tempdir().expect("dir");
        let (up, memory) = uploader();
        let up = Uploader::new(up.store.clone(), Some(1_000_000));
        let path = dir.path().join("f.bin");
        std::fs::write(&path, vec![3u8; 3_000_000]).expect("write");
        let (sha, n) = hash_file(&path).await.expect("hash");
        let t0 = tokio::time::Instant::now();
        up.put_file("f", &path, &sha, n).await.expect("stored");
        let took = t0.elapsed();
        assert!(
            took >= std::time::Duration::from_millis(1990)
                && took < std::time::Duration::from_millis(2100),
            "{took:?}"
        );
        assert_eq!(stored(&memory, "f").await.map(|b| b.len()), Some(3_000_000));
    }
}
