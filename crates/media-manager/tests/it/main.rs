//! The local Media Manager's integration tests: every endpoint, the guard and its faults,
//! uploads, downloads and processing, driven over real HTTP on 127.0.0.1 as a client would.

mod support;

mod conns;
mod contract;
mod downloads;
mod files;
mod folders;
mod guard;
mod hosts;
mod limits;
mod media_kinds;
mod openapi;
mod processing;
mod quota;
mod rules;
mod sites;
mod sparse;
mod uploads;
