//! Bytes and numbers as the command line writes them.

use std::fmt::Write;

/// Bytes given in hex on the command line.
#[derive(Clone, Debug)]
pub struct HexBytes(pub Vec<u8>);

/// Hex bytes separated by white space; each token holds one or more whole
/// bytes, so both `00 01 ff` and `0001ff` work.
pub fn parse(text: &str) -> Result<HexBytes, String> {
    let mut bytes = Vec::new();
    for token in text.split_whitespace() {
        if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            let shown: String = token.chars().take(16).collect();
            return Err(format!(
                "`{shown}` is not a sequence of two-digit hex bytes"
            ));
        }
        // All ASCII hex digits, so every pair is a char boundary and parses.
        for start in (0..token.len()).step_by(2) {
            let byte =
                u8::from_str_radix(&token[start..start + 2], 16).map_err(|e| e.to_string())?;
            bytes.push(byte);
        }
    }
    Ok(HexBytes(bytes))
}

/// `bytes` as lower-case hex digits, two per byte, nothing between them.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// A 32-bit number in decimal (`42`) or hex (`0x2a`).
pub fn parse_u32(text: &str) -> Option<u32> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // `from_str_radix` accepts a leading sign; a number here has none.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// A text line for the line-oriented output: control characters escaped
/// (`\n`, `\t`, `\r`, `\xNN`) and `\` doubled, so one record is one line.
pub fn escape_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_bytes() {
        assert_eq!(parse_u32("42"), Some(42));
        assert_eq!(parse_u32("0x2A"), Some(42));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        for bad in ["", "0x", "+1", "-1", "4294967296", "1.5", "0x+1", "x1"] {
            assert_eq!(parse_u32(bad), None, "{bad}");
        }
        assert_eq!(parse("00 01ff").unwrap().0, [0, 1, 0xff]);
        assert!(parse("0g").is_err());
        assert!(parse("é1").is_err());
        assert_eq!(encode(&[0, 0xab, 7]), "00ab07");
        assert_eq!(escape_line("a\tb\\c\n\u{1}é"), "a\\tb\\\\c\\n\\x01é");
    }
}
