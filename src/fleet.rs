//! Many sites in one command (`media-migrate fleet`): the sites file (`sites`), which sites a
//! shard of a fleet takes (`shard`: rendezvous hashing, stable when sites are appended), and
//! the fleet summary with the fleet's exit status (`summary`). Running one site is the
//! ordinary run, done per site by `cli/fleet.rs`; this module reads no environment and calls
//! no API.

pub mod shard;
pub mod sites;
pub mod summary;

pub use shard::Shard;
pub use sites::{KeySource, SiteEntry, SitesError, read_sites};
pub use summary::{FleetSummary, SiteOutcome, SiteReport, SiteStatus};
