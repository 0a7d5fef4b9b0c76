//! The host's side of helpers that ask about the world: clocks and the
//! identity of the "current task". Embedders supply their own [`Host`] to
//! make runs deterministic (tests, differential runs) or to report real
//! values.

use std::sync::OnceLock;
use std::time::Instant;

/// Sources of time and task identity for helpers.
pub trait Host: Send + Sync {
    /// `ktime_get_ns`: nanoseconds of a monotonic clock.
    fn monotonic_ns(&self) -> u64;
    /// `ktime_get_boot_ns`: nanoseconds of a clock that also counts suspend.
    fn boot_ns(&self) -> u64 {
        self.monotonic_ns()
    }
    /// `get_current_pid_tgid`: thread group id in the upper 32 bits, thread
    /// id in the lower.
    fn pid_tgid(&self) -> u64 {
        0
    }
    /// `get_current_comm`: the task's name, NUL-padded.
    fn comm(&self) -> [u8; 16] {
        *b"bpfbox\0\0\0\0\0\0\0\0\0\0"
    }
}

/// The default host: the process's monotonic clock, counted from the first
/// time it is read; no task identity.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemHost;

impl Host for SystemHost {
    fn monotonic_ns(&self) -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        let elapsed = START.get_or_init(Instant::now).elapsed();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}
