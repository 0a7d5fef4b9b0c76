//! The format language of `trace_printk` and `trace_vprintk`: the kernel's
//! documented subset of printk conversions, `%d %i %u %x` with optional `l`
//! or `ll`, `%p`, `%s`, and `%%`. No flags, widths or precisions: anything
//! else makes the helper fail with `-EINVAL` and print nothing.

use super::HelperContext;
use bpfbox_abi::errno::{E2BIG, EINVAL};

/// Most bytes a `%s` argument contributes (the string is cut there).
pub(crate) const MAX_STRING: u64 = 512;
/// Most arguments `trace_vprintk` takes.
pub(crate) const MAX_ARGS: usize = 12;

/// Formats `fmt` (the bytes the program passed, NUL-terminated within
/// `fmt_size`) with `args`. Errors are the errno the helper returns.
pub(crate) fn format(
    ctx: &mut HelperContext<'_, '_>,
    fmt: &[u8],
    args: &[u64],
) -> Result<String, i32> {
    // The format must end with a NUL inside the given size.
    let Some(end) = fmt.iter().position(|&b| b == 0) else {
        return Err(EINVAL);
    };
    let fmt = &fmt[..end];
    // Bytes first: the format may hold UTF-8 that spans several bytes.
    let mut out = Vec::new();
    let mut args = args.iter();
    let mut i = 0;
    while i < fmt.len() {
        let byte = fmt[i];
        i += 1;
        if byte != b'%' {
            out.push(byte);
            continue;
        }
        let mut longs = 0;
        while fmt.get(i) == Some(&b'l') && longs < 2 {
            longs += 1;
            i += 1;
        }
        let conversion = *fmt.get(i).ok_or(EINVAL)?;
        i += 1;
        if conversion == b'%' && longs == 0 {
            out.push(b'%');
            continue;
        }
        let value = *args.next().ok_or(E2BIG)?;
        // Without `l`, the argument is a 32-bit int as printk reads it.
        let wide = longs > 0;
        match conversion {
            b'd' | b'i' => {
                let v = if wide {
                    value as i64
                } else {
                    i64::from(value as i32)
                };
                out.extend_from_slice(v.to_string().as_bytes());
            }
            b'u' => {
                let v = if wide { value } else { u64::from(value as u32) };
                out.extend_from_slice(v.to_string().as_bytes());
            }
            b'x' => {
                let v = if wide { value } else { u64::from(value as u32) };
                out.extend_from_slice(format!("{v:x}").as_bytes());
            }
            b'p' if longs == 0 => out.extend_from_slice(format!("{value:#x}").as_bytes()),
            b's' if longs == 0 => out.extend_from_slice(&read_string(ctx, value)),
            _ => return Err(EINVAL),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A NUL-terminated string from the run's memory, cut at [`MAX_STRING`]
/// bytes; memory the run may not read prints as `(efault)`.
fn read_string(ctx: &mut HelperContext<'_, '_>, addr: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for offset in 0..MAX_STRING {
        match ctx.memory().load(addr.wrapping_add(offset), 1) {
            Ok(0) => break,
            Ok(b) => bytes.push(b as u8),
            Err(_) if offset == 0 => return b"(efault)".to_vec(),
            Err(_) => break,
        }
    }
    bytes
}
