//! The json manifest reader on arbitrary bytes.
#![no_main]

mod manifest_common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| manifest_common::read_manifest(data, "json"));
