//! Tests of the files endpoints.
