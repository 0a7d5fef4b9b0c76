//! The arithmetic of the Linux checksum helpers: the bodies of helpers 28
//! `csum_diff`, 10 `l3_csum_replace` and 11 `l4_csum_replace`, as pure
//! functions on values. The caller does the packet and memory I/O: it reads
//! the `from`/`to` buffers of `csum_diff`, and for the other two reads the
//! two bytes of the checksum field at `offset` and writes back what these
//! functions return. The offset check is the caller's too (Linux: `-EFAULT`
//! when `offset > 0xffff || offset & 1` or past the packet; it comes after
//! the check for flag bits outside those defined, which is `-EINVAL`).
//!
//! # Byte order
//! Everything works on values as bpfbox's little-endian loads produce them
//! from packet bytes: a checksum field holding the network-order bytes
//! `[c0, c1]` is the value `u16::from_le_bytes([c0, c1])`, and a 2- or 4-byte
//! header field is what `ldxh`/`ldxw` of it gives (network-order data in a
//! register, as the kernel's `__be16`/`__be32`). The Internet checksum is a
//! one's-complement sum of 16-bit words and commutes with swapping the bytes
//! of every word (RFC 1071, 2.B), so doing all of it on byte-swapped words
//! and storing the result with the same swap gives exactly the network-order
//! checksum. Only the evenness of a field's position inside the checksummed
//! data matters, and header fields are always at even positions.
//!
//! # Not modelled
//! Linux also keeps `skb->csum` up to date for `CHECKSUM_COMPLETE` packets
//! (that is all `BPF_F_PSEUDO_HDR` and `BPF_F_IPV6` change for a full
//! checksum), and for `CHECKSUM_PARTIAL` packets (transmit offload) updates
//! the field only with `BPF_F_PSEUDO_HDR`, treating it as an uncomplemented
//! pseudo-header sum. bpfbox packets carry no `ip_summed` state: every
//! checksum field is treated as a complete checksum, the case of a received
//! packet without offload, so those two flags are accepted and ignored.

use bpfbox_abi::errno::EINVAL;

/// `BPF_F_HDR_FIELD_MASK`: the low flag bits holding the field size.
const HDR_FIELD_MASK: u64 = 0xf;
/// `BPF_F_PSEUDO_HDR`: the L4 checksum covers a pseudo-header.
const PSEUDO_HDR: u64 = 1 << 4;
/// `BPF_F_MARK_MANGLED_0`: a zero checksum means "none" (UDP).
const MARK_MANGLED_0: u64 = 1 << 5;
/// `BPF_F_MARK_ENFORCE`: with `BPF_F_MARK_MANGLED_0`, update a zero checksum
/// anyway.
const MARK_ENFORCE: u64 = 1 << 6;
/// `BPF_F_IPV6`: the packet is IPv6 (newer kernels; only affects
/// `skb->csum`, which is not modelled).
const IPV6: u64 = 1 << 7;
/// Every flag bit `l4_csum_replace` accepts.
const L4_FLAGS: u64 = HDR_FIELD_MASK | PSEUDO_HDR | MARK_MANGLED_0 | MARK_ENFORCE | IPV6;
/// `CSUM_MANGLED_0`: how a checksum that computes to 0 is written when 0
/// means "no checksum" (RFC 768).
const MANGLED_0: u16 = 0xffff;
/// Most bytes `csum_diff` takes, `from` and `to` together: Linux up to 6.12
/// stages them in a per-CPU scratch buffer of one BPF stack (512 bytes) and
/// fails with `-EINVAL` beyond it.
const MAX_DIFF_BYTES: usize = 512;

/// One's-complement addition of 32-bit words: add, then add the carry back
/// in (end-around carry). The result is 0 only when both operands are 0.
fn add32(a: u32, b: u32) -> u32 {
    let (sum, carry) = a.overflowing_add(b);
    // With a carry, sum <= 2^32 - 2, so adding it back cannot overflow.
    sum + u32::from(carry)
}

/// One's-complement addition of 16-bit words (end-around carry).
fn add16(a: u16, b: u16) -> u16 {
    let (sum, carry) = a.overflowing_add(b);
    sum + u16::from(carry)
}

/// Folds a 32-bit one's-complement sum to 16 bits (adding the halves with
/// end-around carry) and complements it: the checksum of data whose sum is
/// `sum` (the kernel's `csum_fold`). Never 0xffff unless `sum` is 0.
fn fold(sum: u32) -> u16 {
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}

/// RFC 1624 eqn. 3 in 16-bit arithmetic, `HC' = ~(~HC + ~m + m')`: the new
/// checksum after a 16-bit word changed from `from` (m) to `to` (m').
fn replace16(checksum: u16, from: u16, to: u16) -> u16 {
    !add16(add16(!checksum, !from), to)
}

/// RFC 1624 eqn. 3 in 32-bit arithmetic for a changed 32-bit word: the
/// checksum is widened to 32 bits *before* being complemented, so the sum
/// carries an extra 0xffff (a one's-complement zero) in its high half, and
/// the result is never 0xffff (a true result of zero comes out as 0).
fn replace32(checksum: u16, from: u32, to: u32) -> u16 {
    fold(add32(add32(!u32::from(checksum), !from), to))
}

/// Folds a precomputed 32-bit difference (such as `csum_diff` returns) into
/// a checksum: `HC' = fold(diff + ~HC)`, `HC` widened as in [`replace32`].
fn replace_by_diff(checksum: u16, diff: u32) -> u16 {
    fold(add32(diff, !u32::from(checksum)))
}

/// The 32-bit words of `bytes` (a multiple of 4 long) as `ldxw` loads them.
fn words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// The value helper 28, `csum_diff(from, from_size, to, to_size, seed)`,
/// returns in r0, given the bytes of the two buffers (the caller reads
/// `from_size` bytes at `from` and `to_size` at `to`; either may be empty)
/// and the seed (r5 truncated to 32 bits, the kernel's `__wsum`).
///
/// The result is the 32-bit one's-complement partial sum, not folded and
/// not complemented:
///
/// `r0 = seed ⊕ ~f₀ ⊕ ~f₁ ⊕ … ⊕ t₀ ⊕ t₁ ⊕ …`
///
/// where `fᵢ`/`tⱼ` are the buffers' 32-bit words read little-endian (as
/// `ldxw` would), `~` is bitwise NOT (one's-complement negation, so adding
/// `~f` subtracts `f`) and `⊕` is 32-bit addition with end-around carry. As
/// a number it is in `0..=0xffff_ffff`, and 0 only when `seed` and every
/// added word are 0; it is the unique such value congruent to the sum modulo
/// `2^32 - 1`, so it does not depend on the order of the additions. This is
/// what Linux 6.1–6.12 returns on x86-64. Folding it with end-around carry
/// and complementing gives the checksum of `to` when `from` is empty and
/// `seed` is 0; it can be fed to `l3_csum_replace`/`l4_csum_replace` with
/// size 0, or as the seed of another `csum_diff`.
///
/// Errors (the errno to return negated): `EINVAL` when either size is not a
/// multiple of 4, or when together they exceed 512 bytes.
pub(crate) fn csum_diff(from: &[u8], to: &[u8], seed: u32) -> Result<u64, i32> {
    if from.len() % 4 != 0 || to.len() % 4 != 0 || from.len() + to.len() > MAX_DIFF_BYTES {
        return Err(EINVAL);
    }
    let sum = words(from)
        .map(|word| !word)
        .chain(words(to))
        .fold(seed, add32);
    Ok(u64::from(sum))
}

/// The new checksum field helper 10, `l3_csum_replace(skb, offset, from, to,
/// size)`, writes at `offset`, given the field's current two bytes (network
/// order, as in the packet), r3, r4 and r5.
///
/// - `size` 2: a 16-bit field changed from the low 16 bits of `from` to the
///   low 16 bits of `to` (each as `ldxh` loads the field's bytes); RFC 1624
///   in 16-bit arithmetic.
/// - `size` 4: a 32-bit field, the low 32 bits of `from`/`to` (as `ldxw`
///   loads them); RFC 1624 in 32-bit arithmetic.
/// - `size` 0: `to`'s low 32 bits are a precomputed difference (from
///   [`csum_diff`]) folded into the checksum; `from` must be 0.
///
/// Linux reads r5 as flags of which only the size bits are defined, so any
/// other value is `EINVAL`, as is `size` 0 with a non-zero `from`.
pub(crate) fn l3_csum_replace(
    checksum_field: [u8; 2],
    from: u64,
    to: u64,
    size: u64,
) -> Result<[u8; 2], i32> {
    let checksum = u16::from_le_bytes(checksum_field);
    let new = match size {
        0 if from != 0 => return Err(EINVAL),
        0 => replace_by_diff(checksum, to as u32),
        2 => replace16(checksum, from as u16, to as u16),
        4 => replace32(checksum, from as u32, to as u32),
        _ => return Err(EINVAL),
    };
    Ok(new.to_le_bytes())
}

/// The new checksum field helper 11, `l4_csum_replace(skb, offset, from, to,
/// flags)`, writes at `offset`, given the field's current two bytes
/// (network order, as in the packet), r3, r4 and r5.
///
/// `flags & BPF_F_HDR_FIELD_MASK` is the field size, 2, 4 or 0, with the
/// meanings of [`l3_csum_replace`]; a 2-byte field is also updated in 32-bit
/// arithmetic here (the value zero-extended), as Linux does for L4. The
/// other flags:
/// - `BPF_F_PSEUDO_HDR` (the field is part of the pseudo-header, e.g. an IP
///   address) and `BPF_F_IPV6`: accepted, no effect (see the module
///   documentation: they only matter for `skb->csum` state not modelled).
/// - `BPF_F_MARK_MANGLED_0` (UDP): a checksum field of 0 means "no
///   checksum" and is left as it is (with success, before the size is even
///   looked at), unless `BPF_F_MARK_ENFORCE` is set too; and an update whose
///   result is 0 writes 0xffff instead.
///
/// Errors: `EINVAL` for a flag bit outside these, for a size other than 0,
/// 2 or 4, and for size 0 with a non-zero `from`.
pub(crate) fn l4_csum_replace(
    checksum_field: [u8; 2],
    from: u64,
    to: u64,
    flags: u64,
) -> Result<[u8; 2], i32> {
    if flags & !L4_FLAGS != 0 {
        return Err(EINVAL);
    }
    let mark_mangled_0 = flags & MARK_MANGLED_0 != 0;
    if mark_mangled_0 && flags & MARK_ENFORCE == 0 && checksum_field == [0, 0] {
        return Ok(checksum_field);
    }
    let checksum = u16::from_le_bytes(checksum_field);
    let new = match flags & HDR_FIELD_MASK {
        0 if from != 0 => return Err(EINVAL),
        0 => replace_by_diff(checksum, to as u32),
        2 => replace32(checksum, u32::from(from as u16), u32::from(to as u16)),
        4 => replace32(checksum, from as u32, to as u32),
        _ => return Err(EINVAL),
    };
    let new = if mark_mangled_0 && new == 0 {
        MANGLED_0
    } else {
        new
    };
    Ok(new.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference for `csum_diff`: every word (`from` words complemented)
    /// summed in 64 bits without any carry handling, then folded to 32 bits
    /// with end-around carry until it fits.
    fn reference_diff(from: &[u8], to: &[u8], seed: u32) -> u64 {
        let word = |w: &[u8]| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        let mut sum = u64::from(seed);
        for w in from.chunks_exact(4) {
            sum += word(w) ^ 0xffff_ffff;
        }
        for w in to.chunks_exact(4) {
            sum += word(w);
        }
        while sum > 0xffff_ffff {
            sum = (sum & 0xffff_ffff) + (sum >> 32);
        }
        sum
    }

    /// RFC 1071 from scratch: the complement of the one's-complement sum of
    /// the big-endian 16-bit words of `bytes` (the checksum field included
    /// as it is). The number is in network order: store it big-endian.
    fn internet_checksum(bytes: &[u8]) -> u16 {
        let mut sum: u64 = bytes
            .chunks(2)
            .map(|w| u64::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// Equal as one's-complement numbers (0x0000 and 0xffff are both zero).
    fn same_checksum(a: [u8; 2], b: [u8; 2]) -> bool {
        let zero = |x: [u8; 2]| x == [0, 0] || x == [0xff, 0xff];
        a == b || (zero(a) && zero(b))
    }

    /// What `ldxh` of `bytes[at..at + 2]` gives.
    fn ldxh(bytes: &[u8], at: usize) -> u64 {
        u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
    }

    /// What `ldxw` of `bytes[at..at + 4]` gives.
    fn ldxw(bytes: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes([
            bytes[at],
            bytes[at + 1],
            bytes[at + 2],
            bytes[at + 3],
        ]))
    }

    /// A small deterministic generator (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }

        /// `min..=max` random 32-bit words.
        fn words(&mut self, min: u64, max: u64) -> Vec<u8> {
            let n = min + self.next() % (max - min + 1);
            self.bytes(4 * n as usize)
        }
    }

    /// 192.168.0.1 → 192.168.0.199, UDP, TTL 64, 115 bytes: the usual worked
    /// example, whose checksum is 0xb861.
    const IPV4: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    /// Where the IPv4 header checksum is.
    const IP_CHECK: usize = 10;

    /// `header` with its checksum recomputed from scratch.
    fn with_fresh_ip_checksum(mut header: [u8; 20]) -> [u8; 20] {
        header[IP_CHECK..IP_CHECK + 2].copy_from_slice(&[0, 0]);
        let checksum = internet_checksum(&header);
        header[IP_CHECK..IP_CHECK + 2].copy_from_slice(&checksum.to_be_bytes());
        header
    }

    fn ip_field(header: &[u8; 20]) -> [u8; 2] {
        [header[IP_CHECK], header[IP_CHECK + 1]]
    }

    #[test]
    fn reference_checksum_of_the_worked_example() {
        assert_eq!(with_fresh_ip_checksum(IPV4), IPV4);
        assert_eq!(internet_checksum(&IPV4), 0, "a correct header sums to zero");
    }

    #[test]
    fn csum_diff_rejects_sizes_not_multiple_of_4_or_too_large() {
        let b = [0u8; 520];
        for (f, t) in [(1, 0), (2, 0), (3, 4), (0, 6), (4, 7), (5, 5)] {
            assert_eq!(csum_diff(&b[..f], &b[..t], 0), Err(EINVAL), "{f} {t}");
        }
        assert_eq!(csum_diff(&b[..256], &b[..260], 0), Err(EINVAL));
        assert_eq!(csum_diff(&[], &b[..516], 0), Err(EINVAL));
        assert_eq!(csum_diff(&b[..256], &b[..256], 7), Ok(7));
        assert_eq!(csum_diff(&[], &b[..512], 7), Ok(7));
    }

    #[test]
    fn csum_diff_known_values() {
        // Nothing to add: the seed comes back.
        assert_eq!(csum_diff(&[], &[], 0), Ok(0));
        assert_eq!(csum_diff(&[], &[], 0xdead_beef), Ok(0xdead_beef));
        // Removing the word 28: ~28, the x86-64 value Linux quotes
        // (0xffffffe3; 0xffe3 once folded, as Linux 6.13+ returns it).
        assert_eq!(csum_diff(&28u32.to_le_bytes(), &[], 0), Ok(0xffff_ffe3));
        // End-around carry: 0xffffffff + 1 = 1, not 0.
        assert_eq!(csum_diff(&[], &1u32.to_le_bytes(), 0xffff_ffff), Ok(1));
        assert_eq!(csum_diff(&[], &[0xff; 8], 0), Ok(0xffff_ffff));
        // Words are read as ldxw reads them.
        assert_eq!(csum_diff(&[], &[1, 2, 3, 4], 0), Ok(0x0403_0201));
        // Diffing equal non-zero data gives one's-complement "minus zero".
        assert_eq!(csum_diff(&[9; 12], &[9; 12], 0), Ok(0xffff_ffff));
    }

    #[test]
    fn csum_diff_matches_reference() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for i in 0..20_000 {
            let from = rng.words(0, 9);
            let to = rng.words(0, 9);
            let seed = match i % 4 {
                0 => 0,
                1 => 0xffff_ffff,
                _ => rng.next() as u32,
            };
            assert_eq!(
                csum_diff(&from, &to, seed),
                Ok(reference_diff(&from, &to, seed)),
                "{from:?} {to:?} {seed:#x}"
            );
        }
        // Extremes: all-ones and all-zero words on both sides.
        for from in [&[0u8; 16][..], &[0xff; 16][..], &[]] {
            for to in [&[0u8; 16][..], &[0xff; 16][..], &[]] {
                for seed in [0, 1, 0xffff_fffe, 0xffff_ffff] {
                    assert_eq!(
                        csum_diff(from, to, seed),
                        Ok(reference_diff(from, to, seed))
                    );
                }
            }
        }
    }

    #[test]
    fn csum_diff_push_then_pull_restores_the_seed() {
        let mut rng = Rng(42);
        for _ in 0..1000 {
            let data = rng.words(1, 16);
            let seed = (rng.next() as u32).max(1);
            let pushed = csum_diff(&[], &data, seed).unwrap() as u32;
            assert_eq!(csum_diff(&data, &[], pushed), Ok(u64::from(seed)));
        }
    }

    #[test]
    fn csum_diff_computes_a_header_checksum_from_scratch() {
        // The usual program pattern: zero the field, sum the header, fold.
        let mut header = IPV4;
        header[IP_CHECK..IP_CHECK + 2].copy_from_slice(&[0, 0]);
        let sum = csum_diff(&[], &header, 0).unwrap() as u32;
        assert_eq!(fold(sum).to_le_bytes(), ip_field(&IPV4));
    }

    #[test]
    fn l3_ttl_decrement_16_bit_field() {
        // TTL and protocol share the 16-bit word at offset 8.
        let old = IPV4;
        let mut new = old;
        new[8] -= 1;
        let expected = with_fresh_ip_checksum(new);
        let field = l3_csum_replace(ip_field(&old), ldxh(&old, 8), ldxh(&new, 8), 2);
        assert_eq!(field, Ok(ip_field(&expected)));
        assert_eq!(ip_field(&expected), [0xb9, 0x61]);
        // Changing the protocol byte instead (UDP → TCP).
        let mut new = old;
        new[9] = 6;
        let expected = with_fresh_ip_checksum(new);
        let field = l3_csum_replace(ip_field(&old), ldxh(&old, 8), ldxh(&new, 8), 2);
        assert_eq!(field, Ok(ip_field(&expected)));
    }

    #[test]
    fn l3_destination_address_32_bit_field_and_by_diff() {
        let old = IPV4;
        let mut new = old;
        new[16..20].copy_from_slice(&[10, 1, 2, 3]);
        let expected = ip_field(&with_fresh_ip_checksum(new));
        let field = l3_csum_replace(ip_field(&old), ldxw(&old, 16), ldxw(&new, 16), 4);
        assert_eq!(field, Ok(expected));
        // The same through csum_diff and size 0.
        let diff = csum_diff(&old[16..20], &new[16..20], 0).unwrap();
        assert_eq!(l3_csum_replace(ip_field(&old), 0, diff, 0), Ok(expected));
        // Bits above the field's width are ignored.
        let field = l3_csum_replace(
            ip_field(&old),
            ldxw(&old, 16) | 0xffff_ffff_0000_0000,
            ldxw(&new, 16) | 0x1234_0000_0000,
            4,
        );
        assert_eq!(field, Ok(expected));
        let field = l3_csum_replace(
            ip_field(&old),
            ldxh(&old, 18) | 0xabcd_0000,
            ldxh(&new, 18) | 0x1_0000,
            2,
        );
        assert_eq!(
            field,
            Ok(ip_field(&with_fresh_ip_checksum({
                let mut h = old;
                h[18..20].copy_from_slice(&new[18..20]);
                h
            })))
        );
        // Several changes at once through one csum_diff (source and
        // destination swapped: the checksum does not change).
        let mut swapped = old;
        swapped[12..16].copy_from_slice(&old[16..20]);
        swapped[16..20].copy_from_slice(&old[12..16]);
        let diff = csum_diff(&old[12..20], &swapped[12..20], 0).unwrap();
        assert_eq!(
            l3_csum_replace(ip_field(&old), 0, diff, 0),
            Ok(ip_field(&old))
        );
    }

    #[test]
    fn l3_random_headers_match_recomputation() {
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            let mut old = [0u8; 20];
            old.copy_from_slice(&rng.bytes(20));
            let old = with_fresh_ip_checksum(old);
            // A 2-byte field at any even offset but the checksum's, a
            // 4-byte one at any even offset not overlapping it.
            let at2 = [0, 2, 4, 6, 8, 12, 14, 16, 18][(rng.next() % 9) as usize];
            let at4 = [0, 2, 4, 6, 12, 14, 16][(rng.next() % 7) as usize];
            let mut new2 = old;
            new2[at2..at2 + 2].copy_from_slice(&rng.bytes(2));
            let mut new4 = old;
            new4[at4..at4 + 4].copy_from_slice(&rng.bytes(4));
            let expected2 = ip_field(&with_fresh_ip_checksum(new2));
            let expected4 = ip_field(&with_fresh_ip_checksum(new4));
            let (from2, to2) = (ldxh(&old, at2), ldxh(&new2, at2));
            let (from4, to4) = (ldxw(&old, at4), ldxw(&new4, at4));
            let diff4 = csum_diff(&old[at4..at4 + 4], &new4[at4..at4 + 4], 0).unwrap();
            let results = [
                (l3_csum_replace(ip_field(&old), from2, to2, 2), expected2),
                (l4_csum_replace(ip_field(&old), from2, to2, 2), expected2),
                (l3_csum_replace(ip_field(&old), from4, to4, 4), expected4),
                (l4_csum_replace(ip_field(&old), from4, to4, 4), expected4),
                (l3_csum_replace(ip_field(&old), 0, diff4, 0), expected4),
                (l4_csum_replace(ip_field(&old), 0, diff4, 0), expected4),
            ];
            for (i, (got, expected)) in results.into_iter().enumerate() {
                let got = got.unwrap();
                assert!(
                    same_checksum(got, expected),
                    "case {i}: {old:x?} {got:x?} {expected:x?}"
                );
            }
        }
    }

    #[test]
    fn zero_representation_follows_the_kernel_arithmetic() {
        // A true result of zero: ~0xffff + ~0xffff + 0 in one's complement.
        // 16-bit arithmetic (l3, size 2) yields 0xffff ...
        assert_eq!(l3_csum_replace([0xff; 2], 0xffff, 0, 2), Ok([0xff; 2]));
        // ... 32-bit arithmetic (l3 size 4, every l4 size) yields 0.
        assert_eq!(l3_csum_replace([0xff; 2], 0xffff_ffff, 0, 4), Ok([0; 2]));
        assert_eq!(l4_csum_replace([0xff; 2], 0xffff, 0, 2), Ok([0; 2]));
        assert_eq!(l3_csum_replace([0xff; 2], 0, 0xffff_ffff, 0), Ok([0; 2]));
        // A zero diff leaves a checksum alone.
        assert_eq!(l3_csum_replace([0x12, 0x34], 0, 0, 0), Ok([0x12, 0x34]));
        assert_eq!(
            l3_csum_replace([0x12, 0x34], 0, 0xffff_ffff, 0),
            Ok([0x12, 0x34])
        );
    }

    #[test]
    fn l3_rejects_bad_sizes() {
        for size in [1, 3, 5, 8, 15, 0x10, 0x12, 0x14, 1 << 40] {
            assert_eq!(l3_csum_replace([1, 2], 0, 0, size), Err(EINVAL), "{size}");
        }
        assert_eq!(l3_csum_replace([1, 2], 1, 0, 0), Err(EINVAL));
    }

    /// A UDP datagram over IPv4: the checksum covers the pseudo-header
    /// (addresses, zero, protocol, UDP length), the UDP header and payload.
    struct Udp {
        ip: [u8; 20],
        udp: Vec<u8>,
    }

    /// Where the UDP checksum is in the UDP header.
    const UDP_CHECK: usize = 6;

    impl Udp {
        fn new(payload: &[u8]) -> Udp {
            let len = (8 + payload.len()) as u16;
            let mut ip = IPV4;
            ip[2..4].copy_from_slice(&(20 + len).to_be_bytes());
            let mut udp = vec![0x30, 0x39, 0x00, 0x35];
            udp.extend_from_slice(&len.to_be_bytes());
            udp.extend_from_slice(&[0, 0]);
            udp.extend_from_slice(payload);
            let mut datagram = Udp {
                ip: with_fresh_ip_checksum(ip),
                udp,
            };
            datagram.recompute();
            datagram
        }

        /// The checksum from scratch, 0 sent as 0xffff (RFC 768).
        fn recompute(&mut self) {
            self.udp[UDP_CHECK..UDP_CHECK + 2].copy_from_slice(&[0, 0]);
            let checksum = match internet_checksum(&self.covered()) {
                0 => 0xffff,
                c => c,
            };
            self.udp[UDP_CHECK..UDP_CHECK + 2].copy_from_slice(&checksum.to_be_bytes());
        }

        fn covered(&self) -> Vec<u8> {
            let mut bytes = self.ip[12..20].to_vec();
            bytes.extend_from_slice(&[0, self.ip[9]]);
            bytes.extend_from_slice(&(self.udp.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&self.udp);
            bytes
        }

        fn field(&self) -> [u8; 2] {
            [self.udp[UDP_CHECK], self.udp[UDP_CHECK + 1]]
        }

        fn verifies(&self) -> bool {
            internet_checksum(&self.covered()) == 0
        }
    }

    #[test]
    fn l4_udp_port_and_address_changes() {
        let old = Udp::new(b"hello, world");
        assert!(old.verifies());
        // Destination port (a 2-byte field of the UDP header).
        let mut new = Udp {
            ip: old.ip,
            udp: old.udp.clone(),
        };
        new.udp[2..4].copy_from_slice(&8053u16.to_be_bytes());
        let got = l4_csum_replace(old.field(), ldxh(&old.udp, 2), ldxh(&new.udp, 2), 2);
        new.recompute();
        assert_eq!(got, Ok(new.field()));
        // Source address (4 bytes, in the pseudo-header), flags as a NAT
        // program passes them.
        let mut new = Udp {
            ip: old.ip,
            udp: old.udp.clone(),
        };
        new.ip[12..16].copy_from_slice(&[172, 16, 5, 4]);
        let flags = 4 | PSEUDO_HDR | MARK_MANGLED_0;
        let got = l4_csum_replace(old.field(), ldxw(&old.ip, 12), ldxw(&new.ip, 12), flags);
        new.recompute();
        assert_eq!(got, Ok(new.field()));
        // Both addresses through one csum_diff, size 0.
        let mut new = Udp {
            ip: old.ip,
            udp: old.udp.clone(),
        };
        new.ip[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let diff = csum_diff(&old.ip[12..20], &new.ip[12..20], 0).unwrap();
        let got = l4_csum_replace(old.field(), 0, diff, PSEUDO_HDR | MARK_MANGLED_0);
        new.recompute();
        assert_eq!(got, Ok(new.field()));
        assert!(new.verifies());
    }

    #[test]
    fn l4_udp_zero_checksum_rule() {
        let old = Udp::new(b"hello, world");
        let (from, to) = (ldxh(&old.udp, 2), 0x1234);
        // A zero field means "no checksum": left alone with MARK_MANGLED_0,
        // even with a size that would be invalid, or a non-zero `from` for
        // size 0.
        for flags in [MARK_MANGLED_0 | 2, MARK_MANGLED_0 | 3, MARK_MANGLED_0] {
            assert_eq!(l4_csum_replace([0, 0], from, to, flags), Ok([0, 0]));
        }
        // ... but not without it, or with MARK_ENFORCE.
        let updated = l4_csum_replace([0, 0], from, to, 2).unwrap();
        assert_ne!(updated, [0, 0]);
        assert_eq!(
            l4_csum_replace([0, 0], from, to, 2 | MARK_MANGLED_0 | MARK_ENFORCE),
            Ok(updated)
        );
        // MARK_ENFORCE alone changes nothing.
        assert_eq!(
            l4_csum_replace([0, 0], from, to, 2 | MARK_ENFORCE),
            Ok(updated)
        );
        // Unknown flags are rejected even then.
        assert_eq!(
            l4_csum_replace([0, 0], from, to, 2 | MARK_MANGLED_0 | 1 << 8),
            Err(EINVAL)
        );
    }

    #[test]
    fn l4_udp_update_computing_to_zero_writes_0xffff() {
        // Pick the last payload word so that, after the port change, the
        // data sums to one's-complement zero: the true checksum is 0x0000,
        // which UDP sends as 0xffff.
        let mut new = Udp::new(&[1, 2, 3, 4, 0, 0]);
        new.udp[2..4].copy_from_slice(&8053u16.to_be_bytes());
        new.recompute();
        let checksum = u16::from_be_bytes(new.field());
        // With the payload word at 0 the data sums to S = !checksum, and
        // S + !S is one's-complement zero (0xffff): the word is !S.
        let word = checksum;
        new.udp[12..14].copy_from_slice(&word.to_be_bytes());
        new.recompute();
        assert_eq!(new.field(), [0xff, 0xff]);
        assert!(new.verifies());
        let mut old = Udp {
            ip: new.ip,
            udp: new.udp.clone(),
        };
        old.udp[2..4].copy_from_slice(&[0x00, 0x35]);
        old.recompute();
        assert_ne!(old.field(), [0, 0]);
        let (from, to) = (ldxh(&old.udp, 2), ldxh(&new.udp, 2));
        assert_eq!(
            l4_csum_replace(old.field(), from, to, 2 | MARK_MANGLED_0),
            Ok([0xff, 0xff])
        );
        // Without the flag the same one's-complement zero comes out as 0.
        assert_eq!(l4_csum_replace(old.field(), from, to, 2), Ok([0, 0]));
    }

    #[test]
    fn l4_flags() {
        let mut rng = Rng(99);
        for _ in 0..1000 {
            let field = [rng.next() as u8, rng.next() as u8];
            let (from, to) = (rng.next(), rng.next());
            for size in [2, 4] {
                let plain = l4_csum_replace(field, from, to, size);
                assert!(plain.is_ok());
                for extra in [PSEUDO_HDR, IPV6, PSEUDO_HDR | IPV6, MARK_ENFORCE] {
                    assert_eq!(l4_csum_replace(field, from, to, size | extra), plain);
                }
            }
        }
        for flags in [1, 3, 5, 8, 15, 1 << 8, 1 << 63, PSEUDO_HDR | 6] {
            assert_eq!(
                l4_csum_replace([1, 2], 0, 0, flags),
                Err(EINVAL),
                "{flags:#x}"
            );
        }
        assert_eq!(l4_csum_replace([1, 2], 1, 0, PSEUDO_HDR), Err(EINVAL));
    }
}
