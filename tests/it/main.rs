//! The one integration-test binary: the local Media Manager and the CLI driven over real HTTP
//! on 127.0.0.1.

mod support;

mod cli;
mod downloads;
mod faults;
mod files;
mod folders;
mod guard;
mod hostile;
mod journal_props;
mod manifest_props;
mod openapi;
mod pipeline;
mod plan;
mod processing;
mod reconcile;
mod secrets;
mod uploads;
