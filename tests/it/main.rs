//! The one integration-test binary of the migration: the CLI, the pipeline and the journal
//! driven over real HTTP against the local Media Manager on 127.0.0.1 (whose own endpoints are
//! tested in `crates/media-manager/tests`).

mod support;
mod tools;

mod architecture;
mod claims;
mod cli;
mod contract;
mod exit_codes;
mod export;
mod faults;
mod fleet;
mod fleet_props;
mod hostile;
mod journal_props;
mod manifest_props;
mod metrics;
mod pipeline;
mod plan;
mod prune;
mod recipes;
mod reconcile;
mod report_html;
mod scheduled;
mod secrets;
mod serve_sources;
mod sources;
mod stage;
mod target;
mod throttle;
