//! The verifier crate's integration tests, one binary: soundness property
//! tests of the scalar domain against the concrete semantics, and precision
//! tests with exact expected values.

mod gen;
mod precision;
mod soundness;
