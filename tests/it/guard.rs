//! Tests of the guard endpoints.
