//! Content-addressed blob storage on disk: `blobs/ab/cd/<sha256>`. Bytes are written to a
//! temporary file while being hashed (SHA-256 for the address, MD5 for the descriptor's `hash`)
//! and renamed into place once complete, so a crash never leaves a half blob at an address.

use std::io;
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// What a stored blob is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub sha256: String,
    pub md5: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("content is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("blobs");
        crate::private::create_dir(&root)?;
        crate::private::create_dir(&root.join("tmp"))?;
        Ok(Self { root })
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        let (a, b) = (
            &sha256[..2.min(sha256.len())],
            &sha256[2.min(sha256.len())..4.min(sha256.len())],
        );
        self.root.join(a).join(b).join(sha256)
    }

    /// A fresh path in the store's scratch folder (same file system, so renames are atomic).
    pub fn scratch_path(&self, prefix: &str) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
    }

    /// Starts a blob written piece by piece, refusing more than `limit` bytes.
    pub async fn writer(&self, limit: u64) -> io::Result<BlobWriter> {
        let tmp = self.scratch_path("blob");
        let file = crate::private::create_file(&tmp).await?;
        Ok(BlobWriter {
            store: self.clone(),
            tmp,
            file: Some(file),
            sha256: Sha256::new(),
            md5: Md5::new(),
            size: 0,
            limit,
        })
    }

    /// Moves an already complete scratch file (e.g. a finished tus upload) into the store.
    pub async fn adopt(&self, scratch: &Path) -> io::Result<BlobInfo> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(scratch).await?;
        let (mut sha, mut md5, mut size) = (Sha256::new(), Md5::new(), 0u64);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
            md5.update(&buf[..n]);
            size += n as u64;
        }
        let info = BlobInfo {
            sha256: hex::encode(sha.finalize()),
            md5: hex::encode(md5.finalize()),
            size,
        };
        self.place(scratch, &info.sha256).await?;
        Ok(info)
    }

    /// Stores small in-memory bytes (thumbnails).
    pub async fn put_bytes(&self, bytes: &[u8]) -> io::Result<BlobInfo> {
        let mut w = self.writer(u64::MAX).await?;
        w.write(bytes).await.map_err(|e| match e {
            BlobError::Io(e) => e,
            BlobError::TooLarge { .. } => unreachable!("no limit"),
        })?;
        w.finish().await
    }

    async fn place(&self, scratch: &Path, sha256: &str) -> io::Result<()> {
        let dest = self.path(sha256);
        if tokio::fs::try_exists(&dest).await? {
            // Same content already stored: keep the existing copy.
            tokio::fs::remove_file(scratch).await?;
            return Ok(());
        }
        let parent = dest
            .parent()
            .expect("blob paths have parents")
            .to_path_buf();
        tokio::task::spawn_blocking(move || {
            // Both levels (`ab/` and `ab/cd/`), so no folder of the store is wider than 0700.
            if let Some(grand) = parent.parent() {
                crate::private::create_dir(grand)?;
            }
            crate::private::create_dir(&parent)
        })
        .await
        .map_err(io::Error::other)??;
        tokio::fs::rename(scratch, &dest).await
    }

    /// Deletes scratch files nothing has written to for an hour: a crash's leftovers (a live
    /// writer writes at least every idle timeout, or is dropped, which deletes its file).
    pub async fn reap_scratch(&self) -> io::Result<usize> {
        const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);
        let mut entries = tokio::fs::read_dir(self.root.join("tmp")).await?;
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let stale = entry
                .metadata()
                .await?
                .modified()?
                .elapsed()
                .is_ok_and(|age| age >= ABANDONED_AFTER);
            if stale && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub async fn remove(&self, sha256: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A blob being written; dropped without `finish`, its scratch file is removed.
pub struct BlobWriter {
    store: BlobStore,
    tmp: PathBuf,
    file: Option<tokio::fs::File>,
    sha256: Sha256,
    md5: Md5,
    size: u64,
    limit: u64,
}

impl BlobWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        if self.size + chunk.len() as u64 > self.limit {
            return Err(BlobError::TooLarge { limit: self.limit });
        }
        self.sha256.update(chunk);
        self.md5.update(chunk);
        self.size += chunk.len() as u64;
        self.file
            .as_mut()
            .expect("file present until finish")
            .write_all(chunk)
            .await?;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn finish(mut self) -> io::Result<BlobInfo> {
        let mut file = self.file.take().expect("finish is called once");
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let info = BlobInfo {
            sha256: hex::encode(self.sha256.clone().finalize()),
            md5: hex::encode(self.md5.clone().finalize()),
            size: self.size,
        };
        self.store.place(&self.tmp, &info.sha256).await?;
        Ok(info)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
