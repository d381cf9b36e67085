//! The stage's store: one `object_store` backend (S3, GCS or Azure, opened by the CLI from
//! the environment's credential chain; both its object calls and its URL signer) seen through
//! the few calls staging makes — a check
//! that the bucket is there and takes the credentials, HEAD, PUT (see [`super::upload`]),
//! DELETE and presigned GET URLs — with its errors turned into [`StageError`]s that carry no
//! secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::PutPayload;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt};

use super::{StageError, StageLocation};

/// The object stored and deleted under the prefix to check the stage before any import.
const PROBE: &str = ".media-migrate-check";

/// The bucket of a stage. Cloning shares the backend and its connections.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn ObjectStore>,
    signer: Arc<dyn Signer>,
    location: StageLocation,
}

impl Store {
    /// The store at `location`: `backend` for its objects, `signer` for URLs of them (the same
    /// backend, as each of S3, GCS and Azure is both).
    pub fn new(
        backend: Arc<dyn ObjectStore>,
        signer: Arc<dyn Signer>,
        location: StageLocation,
    ) -> Self {
        Self {
            backend,
            signer,
            location,
        }
    }

    pub fn location(&self) -> &StageLocation {
        &self.location
    }

    pub(super) fn backend(&self) -> &dyn ObjectStore {
        self.backend.as_ref()
    }

    /// Checks that the bucket exists and takes the credentials for what staging does — store
    /// and delete — by storing a tiny probe object under the prefix and deleting it. (A listing
    /// would need a right staging doesn't, and its errors don't tell a missing bucket apart;
    /// a HEAD can't tell a missing bucket from a missing object.) Any failure is fatal.
    pub async fn check(&self) -> Result<(), StageError> {
        let probe = match self.location.prefix.as_str() {
            "" => PROBE.to_string(),
            prefix => format!("{prefix}/{PROBE}"),
        };
        let path = ObjectPath::from(probe.as_str());
        let stored = self
            .backend
            .put(
                &path,
                PutPayload::from_static(b"media-migrate --stage check\n"),
            )
            .await;
        let stored = match stored {
            Ok(_) => self.backend.delete(&path).await,
            Err(e) => Err(e),
        };
        let stage = self.location.to_string();
        match stored {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Err(StageError::NoBucket { stage }),
            Err(
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. },
            ) => Err(StageError::Refused { stage }),
            Err(e) => Err(StageError::Unusable {
                stage,
                message: scrub(&e.to_string()),
            }),
        }
    }

    /// Whether the object `key` is stored.
    pub async fn exists(&self, key: &str) -> Result<bool, StageError> {
        match self.backend.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("look up", key, e)),
        }
    }

    /// Deletes the objects `keys` (already gone is fine) through the store's bulk deletes
    /// where it has them (S3's DeleteObjects takes 1,000 a call); returns the keys deleted.
    /// A failure is logged, without secrets, and its object left for a later run.
    pub async fn delete_all(&self, keys: &[String]) -> Vec<String> {
        let by_path: HashMap<String, String> = keys
            .iter()
            .map(|k| (ObjectPath::from(k.as_str()).to_string(), k.clone()))
            .collect();
        let paths: Vec<object_store::Result<ObjectPath>> = keys
            .iter()
            .map(|k| Ok(ObjectPath::from(k.as_str())))
            .collect();
        let mut results = self
            .backend
            .delete_stream(futures_util::stream::iter(paths).boxed());
        let mut deleted = Vec::with_capacity(keys.len());
        while let Some(result) = results.next().await {
            let gone = match result {
                Ok(path) => path.to_string(),
                Err(object_store::Error::NotFound { path, .. }) => path,
                Err(e) => {
                    let e = self.error("delete", "staged objects", e);
                    tracing::warn!(error = %e, "a staged object could not be deleted");
                    continue;
                }
            };
            deleted.extend(by_path.get(&gone).cloned());
        }
        deleted
    }

    /// A GET URL of `key` valid for `lifetime`, signed now.
    pub async fn presign_get(&self, key: &str, lifetime: Duration) -> Result<String, StageError> {
        let url = self
            .signer
            .signed_url(Method::GET, &ObjectPath::from(key), lifetime)
            .await
            .map_err(|e| self.error("sign a URL of", key, e))?;
        Ok(url.to_string())
    }

    /// The error of `op` on `key`: refused credentials and a missing bucket are told apart
    /// (they stop the run); anything else is the store's message without query strings.
    pub(super) fn error(&self, op: &'static str, key: &str, e: object_store::Error) -> StageError {
        let stage = self.location.to_string();
        match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StageError::Refused { stage },
            e => StageError::Store {
                op,
                key: key.to_string(),
                message: scrub(&e.to_string()),
            },
        }
    }
}

/// `text` with the query string of every URL in it cut: a SAS token or a signature rides
/// there, never in the path.
pub(crate) fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, url) = rest.split_at(at);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '>')
            .unwrap_or(url.len());
        let (link, after) = url.split_at(end);
        match link.find('?') {
            Some(q) => {
                out.push_str(&link[..q]);
                out.push_str("?…");
            }
            None => out.push_str(link),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
pub(super) mod tests {
    use object_store::aws::AmazonS3Builder;
    use object_store::memory::InMemory;

    use super::*;

    /// A store in memory, its URLs signed by an S3 signer that never calls out.
    pub(in crate::sources::stage) fn in_memory() -> (Store, Arc<InMemory>) {
        crate::install_crypto_provider();
        let memory = Arc::new(InMemory::new());
        let signer = AmazonS3Builder::new()
            .with_bucket_name("media-in")
            .with_region("us-east-1")
            .with_access_key_id("id")
            .with_secret_access_key("secret")
            .build()
            .expect("an S3 signer");
        let location = StageLocation::parse("s3://media-in/p").expect("location");
        (
            Store::new(memory.clone(), Arc::new(signer), location),
            memory,
        )
    }

    /// The bytes stored as `key`, if any.
    pub(in crate::sources::stage) async fn stored(memory: &InMemory, key: &str) -> Option<Vec<u8>> {
        match memory.get(&ObjectPath::from(key)).await {
            Ok(r) => Some(r.bytes().await.expect("bytes").to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// Deleting staged objects deletes those stored and takes a missing one as deleted.
    #[tokio::test]
    async fn staged_objects_are_deleted_in_bulk() {
        let (store, memory) = in_memory();
        for key in ["p/a.png", "p/b.png"] {
            memory
                .put(&ObjectPath::from(key), PutPayload::from_static(b"x"))
                .await
                .expect("put");
        }
        let keys: Vec<String> = ["p/a.png", "p/b.png", "p/never.png"]
            .map(String::from)
            .to_vec();
        let mut gone = store.delete_all(&keys).await;
        gone.sort();
        assert_eq!(gone, keys);
        assert_eq!(stored(&memory, "p/a.png").await, None);
    }

    /// A presigned URL names the object and lives as long as asked.
    #[tokio::test]
    async fn presigned_urls_name_the_object_and_their_lifetime() {
        let (store, _) = in_memory();
        let url = store
            .presign_get("p/abc.png", std::time::Duration::from_secs(90))
            .await
            .expect("signed");
        assert!(url.contains("/p/abc.png?"), "{url}");
        assert!(url.contains("X-Amz-Expires=90"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("secret"), "{url}");
    }

    /// Query strings (SAS tokens, signatures) are cut from a store's messages; the rest stays.
    #[test]
    fn scrub_cuts_query_strings() {
        let msg = "Error performing PUT https://acct.blob.core.windows.net/c/k?sv=2022&sig=SECRET in 1s, \
                   then http://h/x ok; see <https://a/b?token=T>";
        let s = scrub(msg);
        assert!(!s.contains("SECRET") && !s.contains("token=T"), "{s}");
        assert!(
            s.contains("https://acct.blob.core.windows.net/c/k?… in 1s"),
            "{s}"
        );
        assert!(s.contains("then http://h/x ok"), "{s}");
        assert_eq!(scrub("no urls here"), "no urls here");
    }
}
