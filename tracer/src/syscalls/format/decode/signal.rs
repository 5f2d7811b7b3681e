//! Signal numbers: `SIGTERM`, real-time signals as `SIGRTMIN`, `SIGRT_1`.

use crate::syscalls::{
    format::print::push_i64,
    xlat::signal::{SIGRTMAX, SIGRTMIN},
};

/// `SIGTERM`; real-time signals as `SIGRTMIN`, `SIGRT_1`…; else a number.
pub fn write_signal(out: &mut Vec<u8>, signal: i32) {
    use nix::sys::signal::Signal;
    match signal {
        SIGRTMIN => out.extend_from_slice(b"SIGRTMIN"),
        33..=SIGRTMAX => {
            out.extend_from_slice(b"SIGRT_");
            push_i64(out, (signal - SIGRTMIN).into());
        }
        _ => match Signal::try_from(signal) {
            Ok(signal) => out.extend_from_slice(signal.as_str().as_bytes()),
            Err(_) => push_i64(out, signal.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn signals() {
        let kill = |sig| {
            args("kill", &[1, sig])
                .strip_prefix("kill(1, ")
                .unwrap()
                .trim_end_matches(')')
                .to_owned()
        };
        assert_eq!(kill(0), "0");
        assert_eq!(kill(15), "SIGTERM");
        assert_eq!(kill(17), "SIGCHLD");
        assert_eq!(kill(31), "SIGSYS");
        assert_eq!(kill(32), "SIGRTMIN");
        assert_eq!(kill(33), "SIGRT_1");
        assert_eq!(kill(64), "SIGRT_32");
        assert_eq!(kill(65), "65");
        assert_eq!(kill(neg(-1)), "-1");
        assert_eq!(
            args("rt_sigaction", &[2, 0, 0, 8]),
            "rt_sigaction(SIGINT, NULL, NULL, 8)"
        );
    }
}
