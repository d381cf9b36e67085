//! The contract check: Wix's generated SDK packages (`@wix/auto_sdk_media_files`,
//! `@wix/auto_sdk_media_folders`, pinned in [`wix_media_wire::contract::SDK_PACKAGES`]) against
//! the wire crate's statement of them ([`wix_media_wire::contract::endpoints`]).
//! - [`dts`]: a small reader of the generated `.d.ts` files;
//! - [`sdk`]: the packages on disk (types, validation rules, HTTP bindings, version);
//! - [`check`]: the comparison, which returns the drifts it finds.
//!
//! It installs nothing: `.ci/contract.sh` puts the packages on disk and runs the binary.

pub mod check;
pub mod dts;
pub mod sdk;
