//! The interpreter: [`compile`] predecodes a program once; [`exec`] runs it.
//!
//! The split keeps the hot loop in one small module (`exec`), with every
//! decision that can be made ahead of time made in `compile`.

pub(crate) mod compile;
pub(crate) mod exec;

pub use exec::Tracer;
