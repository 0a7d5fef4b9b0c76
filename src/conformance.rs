//! The conformance program type: what the bpf_conformance suite expects of a
//! runtime (see `shared/reference/conformance.md` in the project notes).
//!
//! One memory region (r1 = its address or 0, r2 = its length), runtime checks
//! on, no verification, and its own helper table: helper 5 returns its first
//! argument, and when that is 0 it ends the program at once with r0 = 0 (the
//! "unwind" helper). This is not Linux's helper 5.

use crate::helpers::{HelperError, HelperRegistry};
use crate::Config;
use bpfbox_abi::ProgramType;

/// Number of the unwind helper in the conformance table.
pub const UNWIND_HELPER: u32 = 5;

/// A [`Config`] for the conformance program type: its helper table, the
/// default budget, no maps.
pub fn config() -> Config {
    Config {
        helpers: helpers(),
        program_type: ProgramType::Conformance,
        ..Config::default()
    }
}

/// The conformance program type's helper table.
pub fn helpers() -> HelperRegistry {
    let mut registry = HelperRegistry::new();
    registry.register(UNWIND_HELPER, |_, args| {
        if args[0] == 0 {
            Err(HelperError::Exit(0))
        } else {
            Ok(args[0])
        }
    });
    registry
}

/// Parses memory in the plugin protocol's form: each byte as two hex digits,
/// separated by white space (`"00  01  ff  "`).
///
/// # Errors
/// The first token that is not exactly two hex digits, with its position.
pub fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, HexError> {
    text.split_whitespace()
        .enumerate()
        .map(|(index, token)| {
            if token.len() == 2 {
                u8::from_str_radix(token, 16).map_err(|_| HexError {
                    index,
                    token: token.to_string(),
                })
            } else {
                Err(HexError {
                    index,
                    token: token.chars().take(16).collect(),
                })
            }
        })
        .collect()
}

/// A token that is not a hex byte.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("byte {index}: `{token}` is not two hex digits")]
pub struct HexError {
    /// Zero-based index of the token.
    pub index: usize,
    /// The token (cut to 16 characters).
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_plugin_memory_form() {
        assert_eq!(parse_hex_bytes("00  01  ff  "), Ok(vec![0, 1, 255]));
        assert_eq!(parse_hex_bytes(""), Ok(vec![]));
        assert_eq!(
            parse_hex_bytes("00 1 ff"),
            Err(HexError {
                index: 1,
                token: "1".into()
            })
        );
        assert_eq!(
            parse_hex_bytes("zz"),
            Err(HexError {
                index: 0,
                token: "zz".into()
            })
        );
    }
}
