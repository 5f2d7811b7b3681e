//! `struct timespec` as strace's `print_timespec.h` shows it:
//! `{tv_sec=0, tv_nsec=1000000}`, the seconds signed and the nanoseconds
//! unsigned, whatever the values (strace shows what the caller passed,
//! invalid or not). `nanosleep`, `clock_nanosleep`, `clock_gettime`,
//! `clock_getres`, and the timeouts of `ppoll` and `pselect6` (whose time
//! left the return value shows, see `poll.rs`).

use crate::syscalls::format::print::{push_i64, push_ptr, push_u64};

use super::u64_at;

/// Bytes of a `struct timespec`.
pub const TIMESPEC: usize = 16;

/// The `struct timespec` at byte `at` of `bytes`.
pub fn timespec_at(bytes: &[u8], at: usize) -> Option<(i64, u64)> {
    Some((u64_at(bytes, at)? as i64, u64_at(bytes, at + 8)?))
}

/// `{tv_sec=…, tv_nsec=…}`.
pub fn push_timespec(out: &mut Vec<u8>, (sec, nsec): (i64, u64)) {
    out.extend_from_slice(b"{tv_sec=");
    push_i64(out, sec);
    out.extend_from_slice(b", tv_nsec=");
    push_u64(out, nsec);
    out.push(b'}');
}

/// The `struct timespec` behind `raw` as the call read it (the first of
/// the captured ones: an in-out timeout's time left follows it).
pub fn write_timespec(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    match timespec_at(bytes, 0) {
        Some(ts) => push_timespec(out, ts),
        None => push_ptr(out, raw),
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    fn ts(sec: i64, nsec: i64) -> Vec<u8> {
        let mut b = sec.to_ne_bytes().to_vec();
        b.extend_from_slice(&nsec.to_ne_bytes());
        b
    }

    #[test]
    fn timespecs_as_strace_prints_them() {
        // strace 6.1 on this machine, for the same values.
        assert_eq!(
            with_bytes("nanosleep", &[P, 0], Some(0), 0, &ts(0, 1_000_000)),
            "nanosleep({tv_sec=0, tv_nsec=1000000}, NULL) = 0"
        );
        assert_eq!(
            with_bytes("nanosleep", &[P, 0], Some(-22), 0, &ts(-1, 5)),
            "nanosleep({tv_sec=-1, tv_nsec=5}, NULL) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            with_bytes("nanosleep", &[P, 0], Some(-22), 0, &ts(0, -1)),
            "nanosleep({tv_sec=0, tv_nsec=18446744073709551615}, NULL) = -1 EINVAL (Invalid argument)"
        );
        // Unread (a bad address): the pointer.
        assert_eq!(
            call("nanosleep", &[1, 0], Some(-14)),
            "nanosleep(0x1, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            with_bytes("clock_nanosleep", &[1, 1, P, 0], Some(0), 2, &ts(0, 5)),
            "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=0, tv_nsec=5}, NULL) = 0"
        );
        assert_eq!(
            with_bytes("clock_gettime", &[1, P], Some(0), 1, &ts(21012, 374191702)),
            "clock_gettime(CLOCK_MONOTONIC, {tv_sec=21012, tv_nsec=374191702}) = 0"
        );
        assert_eq!(
            with_bytes("clock_getres", &[1, P], Some(0), 1, &ts(0, 1)),
            "clock_getres(CLOCK_MONOTONIC, {tv_sec=0, tv_nsec=1}) = 0"
        );
    }
}
