//! media-migrate moves media into a Wix site's Media Manager at scale.
//!
//! The workspace: this crate (the migration), `wix-media-wire` (`crates/wire`: the API's wire
//! contract, shared) and `wix-media-manager` (`crates/media-manager`: the local Media Manager,
//! which this crate embeds as the default target and runs as `media-migrate serve`).
//!
//! The map of the crate:
//! - [`api`]: the client of the Media Manager API (budget, dispositions, upload URLs, the
//!   folder walker), with the wire contract and media type rules re-exported from
//!   `wix-media-wire`.
//! - [`control`]: request budget (token bucket) and retry control.
//! - [`manifest`]: streamed manifest readers (CSV, JSON, JSON Lines) and row validation.
//! - [`journal`]: the SQLite journal, single source of truth of a migration.
//! - [`pipeline`]: the stages (import, upload, settle, readiness) and their orchestrator.
//! - [`plan`]: the dry-run audit of a manifest (validity, duplicates, folders, calls, probes).
//! - [`metrics`]: a run's metrics in Prometheus text format, for a file or a Pushgateway.
//! - [`reconcile`]: a manifest checked against what the target holds (present, missing, extra).
//! - [`export`]: a site's files as a manifest another site can import (and `--download`).
//! - [`report`]: reconciliation, failures, URL map and summary writers.
//! - [`sources`]: what the tool knows of source hosts (the headers a private source needs).
//! - [`fleet`]: many sites — the sites file, shards (rendezvous hashing), the fleet summary.
//! - [`cli`]: command-line arguments and one module per subcommand.

pub mod api;
pub mod cli;
pub mod control;
pub mod export;
pub mod fleet;
pub mod journal;
pub mod manifest;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub mod reconcile;
pub mod report;
pub mod sources;

/// Installs the `ring` TLS provider for rustls once per process (idempotent). Called before
/// any HTTP client is built, so library users need not know about it.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Creates (or truncates) a file only its owner can read and write (0600 on unix, whatever the
/// umask): journals and reports name a site's sources, and the journal its private ones.
pub fn create_private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(true);
    open_private(&mut options, path)
}

/// Opens with `options`, creating the file 0600 on unix and narrowing an existing one to that.
fn open_private(
    options: &mut std::fs::OpenOptions,
    path: &std::path::Path,
) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = options.mode(0o600).open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// Makes sure `path` exists as a file only its owner can read and write, keeping its content
/// (the journal, before SQLite opens it: its `-wal` and `-shm` files take its mode).
pub fn ensure_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(false);
    open_private(&mut options, path).map(drop)
}
