//! The Wix Media Manager API as media-migrate sees it: the [`client`] of its calls (budget,
//! counters, what a failure means for the work), the [`transfer`] of local files to upload URLs.
//! The wire contract and the media type rules are `wix-media-wire`'s, and imported from there
//! by name, so a module that only needs the types doesn't look as if it called the API.

pub mod client;
pub mod error;
pub mod folder_path;
pub mod listing;
pub mod preflight;
pub mod transfer;
