//! # bpfbox-abi
//!
//! The contract between an eBPF program and its runtime, with Linux's
//! numbering: map types and definitions ([`maps`]), errno values
//! ([`errno`]), helper numbers and prototypes, and program types with their
//! context layouts and return codes, and the BPF Type Format ([`btf`]:
//! `.BTF`, `.BTF.ext`, CO-RE relocations) the loader reads them with. The
//! verifier checks programs against it, the JIT and the runtime implement
//! it.
#![deny(missing_docs)]

pub mod btf;
pub mod errno;
pub mod helpers;
pub mod maps;
pub mod program_types;

pub use helpers::{ArgKind, HelperId, HelperProto, RetKind};
pub use maps::{MapDef, MapDefError, MapField, MapType};
pub use program_types::ProgramType;
