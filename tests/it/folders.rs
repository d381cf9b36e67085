//! Tests of the folders endpoints.
