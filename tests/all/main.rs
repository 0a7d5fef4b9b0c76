//! All integration tests, in one binary to keep link times down.

mod cli;
mod data_file;
mod elf;
mod elf_malformed;
mod engines;
mod interpreter;
mod maps;
mod packets;
mod plugin;
mod sandbox;
mod spawn;
#[path = "../../isa/tests/common/mod.rs"]
mod strategies;
mod tail_calls;
