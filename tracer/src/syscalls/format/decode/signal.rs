//! Signals: numbers (`SIGTERM`, real-time signals as `SIGRTMIN`,
//! `SIGRT_1`), signal sets (`[INT QUIT]`, `~[RTMIN RT_1]`) and the
//! kernel's `struct sigaction` (`{sa_handler=SIG_DFL, sa_mask=[],
//! sa_flags=0}`), as strace's `signal.c` prints them.

use crate::syscalls::{
    format::print::{push_hex, push_i64, push_ptr, write_enum, write_flags},
    xlat::signal::{SA_FLAGS, SA_HANDLERS, SA_RESTORER, SIGRTMAX, SIGRTMIN},
};

use super::u64_at;

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

/// The mask of a signal frame, as strace shows `rt_sigreturn`'s only
/// argument: `{mask=[INT]}`.
pub fn write_frame_mask(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(b"{mask=");
    write_sigset(out, bytes);
    out.push(b'}');
}

/// A signal set of `bytes.len()` bytes (bit `i`: signal `i + 1`), as
/// strace's `sprintsigmask`: names without `SIG`, and the complement
/// (`~[...]`) when more than half the bits are set.
pub fn write_sigset(out: &mut Vec<u8>, bytes: &[u8]) {
    let bits = bytes.len() * 8;
    let set = |i: usize| bytes[i / 8] & (1 << (i % 8)) != 0;
    let count = (0..bits).filter(|&i| set(i)).count();
    let negate = count * 2 > bits;
    if negate {
        out.push(b'~');
    }
    out.push(b'[');
    let mut first = true;
    let mut name = Vec::with_capacity(16);
    for i in (0..bits).filter(|&i| set(i) != negate) {
        if !first {
            out.push(b' ');
        }
        first = false;
        name.clear();
        write_signal(&mut name, i as i32 + 1);
        out.extend_from_slice(name.strip_prefix(b"SIG").unwrap_or(&name));
    }
    out.push(b']');
}

/// The kernel's `struct sigaction` (handler, flags, restorer, mask):
/// `{sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}`, with `sa_restorer`
/// when `SA_RESTORER` says it is set.
pub fn write_sigaction(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (Some(handler), Some(flags), Some(restorer), Some(mask)) = (
        u64_at(bytes, 0),
        u64_at(bytes, 8),
        u64_at(bytes, 16),
        bytes.get(24..32),
    ) else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"{sa_handler=");
    match SA_HANDLERS.iter().find(|&&(v, _)| v == handler) {
        Some(_) => write_enum(out, handler, SA_HANDLERS, ""),
        None => push_hex(out, handler),
    }
    out.extend_from_slice(b", sa_mask=");
    write_sigset(out, mask);
    out.extend_from_slice(b", sa_flags=");
    write_flags(out, flags, SA_FLAGS, None);
    if flags & SA_RESTORER != 0 {
        out.extend_from_slice(b", sa_restorer=");
        push_ptr(out, restorer);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    fn sigaction(handler: u64, flags: u64, restorer: u64, mask: u64) -> Vec<u8> {
        [handler, flags, restorer, mask]
            .iter()
            .flat_map(|w| w.to_ne_bytes())
            .collect()
    }

    #[test]
    fn signal_frames_as_strace_prints_them() {
        // strace 6.1 on this machine: a handler that returns with SIGINT
        // blocked in its frame, and one with nothing blocked.
        let mask = |m: u64| with_bytes("rt_sigreturn", &[], Some(0), 0, &m.to_ne_bytes());
        assert_eq!(mask(0), "rt_sigreturn({mask=[]}) = 0");
        assert_eq!(mask(1 << 1), "rt_sigreturn({mask=[INT]}) = 0");
        assert_eq!(
            mask(1 << 1 | 1 << 33),
            "rt_sigreturn({mask=[INT RT_2]}) = 0"
        );
        // Nothing captured (structures not shown): strace's bare form.
        assert_eq!(
            render_event(&event("rt_sigreturn", &[], Some(0))),
            "rt_sigreturn() = 0"
        );
    }

    #[test]
    fn sigactions_as_strace_prints_them() {
        // strace 6.1 on this machine, for the same structures.
        let act = |act: Vec<u8>| {
            with_bytes("rt_sigaction", &[10, P, 0, 8], Some(0), 1, &act)
                .strip_prefix("rt_sigaction(SIGUSR1, ")
                .unwrap()
                .strip_suffix(", NULL, 8) = 0")
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            act(sigaction(0, 0, 0, 0)),
            "{sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}"
        );
        assert_eq!(
            act(sigaction(1, 0x0c00_0000, 0x7f00, 0)),
            "{sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK, sa_restorer=0x7f00}"
        );
        assert_eq!(
            act(sigaction(0x1234, 0xd000_0007, 0x7f00, 0b110)),
            "{sa_handler=0x1234, sa_mask=[INT QUIT], \
             sa_flags=SA_RESTART|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT}"
        );
        assert_eq!(
            act(sigaction(0x1234, 0x0400_0000, 0x7f00, !(3u64 << 31))),
            "{sa_handler=0x1234, sa_mask=~[RTMIN RT_1], sa_flags=SA_RESTORER, sa_restorer=0x7f00}"
        );
        assert_eq!(
            act(sigaction(0, 0x2000_1c00, 0, u64::MAX)),
            "{sa_handler=SIG_DFL, sa_mask=~[], sa_flags=SA_INTERRUPT|0x1c00}"
        );
        assert_eq!(
            act(sigaction(
                0,
                0,
                0,
                1 << 63 | 1 << 40 | 1 << 31 | 1 << 30 | 1 << 5
            )),
            "{sa_handler=SIG_DFL, sa_mask=[ABRT SYS RTMIN RT_9 RT_32], sa_flags=0}"
        );
        // The old action, at exit.
        assert_eq!(
            with_bytes(
                "rt_sigaction",
                &[2, 0, P, 8],
                Some(0),
                2,
                &sigaction(0, 0, 0, 0)
            ),
            "rt_sigaction(SIGINT, NULL, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0"
        );
    }

    #[test]
    fn sigsets_as_strace_prints_them() {
        let mask = |m: u64| {
            with_bytes(
                "rt_sigprocmask",
                &[0, P, 0, 8],
                Some(0),
                1,
                &m.to_ne_bytes(),
            )
        };
        assert_eq!(mask(0), "rt_sigprocmask(SIG_BLOCK, [], NULL, 8) = 0");
        assert_eq!(
            mask(1 << 16),
            "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0"
        );
        assert_eq!(
            mask(u64::MAX),
            "rt_sigprocmask(SIG_BLOCK, ~[], NULL, 8) = 0"
        );
        assert_eq!(
            mask(3 << 32),
            "rt_sigprocmask(SIG_BLOCK, [RT_1 RT_2], NULL, 8) = 0"
        );
        assert_eq!(
            mask(0x7fff_ffff),
            "rt_sigprocmask(SIG_BLOCK, [HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 \
             PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH \
             IO PWR SYS], NULL, 8) = 0"
        );
    }

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
