//! The Wix Media Manager API as media-migrate sees it: the [`client`] of its calls (budget,
//! counters, what a failure means for the work), the [`transfer`] of local files to upload URLs,
//! and — from `wix-media-wire` — the wire contract and the media type rules.

pub mod client;
pub mod error;
pub mod folder_path;
pub mod listing;
pub mod preflight;
pub mod transfer;

pub use wix_media_wire::{media, types};
