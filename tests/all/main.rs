//! All integration tests, in one binary to keep link times down.

mod cli;
mod data_file;
mod engines;
mod interpreter;
mod maps;
mod packets;
mod plugin;
mod spawn;
