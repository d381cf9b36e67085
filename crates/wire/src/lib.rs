//! The wire contract of the Wix Media Manager REST API (`/site-media/v1`), shared by a client
//! and a server of it:
//! - [`types`]: the requests and answers as serde types, camelCase and int64-as-string as on
//!   the wire, with the API's limits;
//! - [`media`]: media kinds and MIME types of file names;
//! - [`contract`]: the endpoints as the wire crate believes Wix's contract has them, with
//!   fully populated samples, for the contract check to hold against Wix's generated packages;
//! - [`site`]: what a site id may be (it names directories);
//! - [`bucket`]: the token bucket of a site's request budget, which the server's rate limit
//!   and a client's budget both run.

pub mod bucket;
pub mod contract;
pub mod media;
pub mod names;
pub mod site;
pub mod types;
