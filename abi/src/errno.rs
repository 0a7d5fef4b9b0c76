//! The Linux errno values helpers and map operations return, negated, to
//! programs (and that the host map API reports).

#![allow(missing_docs)]

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const E2BIG: i32 = 7;
pub const EAGAIN: i32 = 11;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const EINVAL: i32 = 22;
pub const ENOSPC: i32 = 28;
pub const ERANGE: i32 = 34;
pub const EOPNOTSUPP: i32 = 95;
/// The kernel-internal "not supported" (524), which helpers can return.
pub const ENOTSUPP: i32 = 524;

/// `-errno` as the 64-bit value a helper leaves in r0.
pub const fn neg(errno: i32) -> u64 {
    -(errno as i64) as u64
}
