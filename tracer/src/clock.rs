//! Reading the kernel's clocks in nanoseconds.
//!
//! Events carry `CLOCK_MONOTONIC` (eBPF's `bpf_ktime_get_ns`, ptrace's own
//! reading), and recordings, dumps and exports convert to wall time or
//! `CLOCK_BOOTTIME` from it: every layer needs the same reading, so it sits
//! at the bottom where all of them can look down at it.

/// The current time of `clock` (a `libc::CLOCK_*`), in nanoseconds.
pub fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_does_not_go_back_and_realtime_is_after_2020() {
        let a = clock_ns(libc::CLOCK_MONOTONIC);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = clock_ns(libc::CLOCK_MONOTONIC);
        assert!(b >= a + 2_000_000, "{a} then {b}");
        // 2020-01-01 in ns since the epoch: a reading in seconds or
        // microseconds would be far below it.
        assert!(clock_ns(libc::CLOCK_REALTIME) > 1_577_836_800_000_000_000);
    }
}
