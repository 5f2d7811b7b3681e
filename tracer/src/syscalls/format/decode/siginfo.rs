//! `siginfo_t` as strace prints a signal delivery and the end of a task:
//! `{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=42, si_uid=0,
//! si_status=0, si_utime=0, si_stime=0}` (strace's `printsiginfo.c`:
//! which fields show depends on who sent the signal and which it is), and
//! a wait status as `exited with 3` / `killed by SIGSEGV (core dumped)`.

use super::signal::write_signal;
use crate::{
    event::SigInfo,
    syscalls::{
        self, errno,
        format::print::{push_hex0, push_i64, push_ptr, push_u64, write_enum},
        xlat::siginfo::{
            BUS_CODES, CLD_CODES, CLD_EXITED, FPE_CODES, ILL_CODES, POLL_CODES, SEGV_CODES,
            SI_CODES, SI_TIMER, SI_TKILL, SI_USER, SYS_CODES, TRAP_CODES,
        },
    },
};

/// `AUDIT_ARCH_X86_64`, the `si_arch` of a seccomp SIGSYS.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `USER_HZ`: the unit of SIGCHLD's `si_utime` and `si_stime`.
const USER_HZ: u64 = 100;

/// strace's `printsiginfo`.
pub fn write_siginfo(out: &mut Vec<u8>, info: &SigInfo) {
    if info.signo == 0 {
        out.extend_from_slice(b"{}");
        return;
    }
    out.extend_from_slice(b"{si_signo=");
    write_signal(out, info.signo);
    out.extend_from_slice(b", si_code=");
    write_code(out, info.signo, info.code);
    if info.errno != 0 {
        out.extend_from_slice(b", si_errno=");
        match errno::name(info.errno) {
            Some(name) => out.extend_from_slice(name.as_bytes()),
            None => push_i64(out, info.errno.into()),
        }
    }
    let [first, second, third, fourth] = info.fields;
    // Words split as the union's members lay them out.
    let (low, high) = (first as u32, (first >> 32) as u32);
    if info.code <= 0 {
        // From userspace (`SI_FROMUSER`): who sent it, and its value.
        match info.code {
            SI_TIMER => {
                out.extend_from_slice(b", si_timerid=");
                push_hex0(out, low.into());
                out.extend_from_slice(b", si_overrun=");
                push_i64(out, (high as i32).into());
                write_sigval(out, second);
            }
            _ => {
                write_source(out, low, high);
                // `SI_USER` and `SI_TKILL` carry no value.
                if info.code != SI_USER && info.code != SI_TKILL && second != 0 {
                    write_sigval(out, second);
                }
            }
        }
        out.push(b'}');
        return;
    }
    match info.signo {
        libc::SIGCHLD => {
            write_source(out, low, high);
            out.extend_from_slice(b", si_status=");
            if info.code == CLD_EXITED {
                push_i64(out, (second as i32).into());
            } else {
                write_signal(out, second as i32);
            }
            out.extend_from_slice(b", si_utime=");
            write_clock(out, third);
            out.extend_from_slice(b", si_stime=");
            write_clock(out, fourth);
        }
        libc::SIGILL | libc::SIGFPE | libc::SIGSEGV | libc::SIGBUS => {
            out.extend_from_slice(b", si_addr=");
            push_ptr(out, first);
        }
        libc::SIGPOLL if (1..=3).contains(&info.code) => {
            out.extend_from_slice(b", si_band=");
            push_i64(out, first as i64);
            out.extend_from_slice(b", si_fd=");
            push_i64(out, (second as i32).into());
        }
        libc::SIGSYS => {
            out.extend_from_slice(b", si_call_addr=");
            push_ptr(out, first);
            out.extend_from_slice(b", si_syscall=");
            let nr = second as u32;
            match syscalls::name(nr) {
                Some(name) => {
                    out.extend_from_slice(b"__NR_");
                    out.extend_from_slice(name.as_bytes());
                }
                None => push_u64(out, nr.into()),
            }
            out.extend_from_slice(b", si_arch=");
            match (second >> 32) as u32 {
                AUDIT_ARCH_X86_64 => out.extend_from_slice(b"AUDIT_ARCH_X86_64"),
                arch => push_hex0(out, arch.into()),
            }
        }
        _ => {
            if first != 0 {
                write_source(out, low, high);
            }
            if second != 0 {
                write_sigval(out, second);
            }
        }
    }
    out.push(b'}');
}

/// `si_code`: a sender kind any signal may carry, else the signal's own
/// reason, else the number.
fn write_code(out: &mut Vec<u8>, signo: i32, code: i32) {
    let value = code as i64 as u64;
    let own = match signo {
        libc::SIGCHLD => CLD_CODES,
        libc::SIGSEGV => SEGV_CODES,
        libc::SIGBUS => BUS_CODES,
        libc::SIGILL => ILL_CODES,
        libc::SIGFPE => FPE_CODES,
        libc::SIGTRAP => TRAP_CODES,
        libc::SIGPOLL => POLL_CODES,
        libc::SIGSYS => SYS_CODES,
        _ => &[],
    };
    let named = SI_CODES
        .iter()
        .chain(own.iter())
        .find(|&&(v, _)| v == value);
    match named {
        Some(&(_, name)) => out.extend_from_slice(name.as_bytes()),
        None if code < 0 => push_i64(out, code.into()),
        None => write_enum(out, value, &[], "SI_???"),
    }
}

/// `si_pid=N, si_uid=N`.
fn write_source(out: &mut Vec<u8>, pid: u32, uid: u32) {
    out.extend_from_slice(b", si_pid=");
    push_i64(out, (pid as i32).into());
    out.extend_from_slice(b", si_uid=");
    push_u64(out, uid.into());
}

/// `si_int=N, si_ptr=0x…`: the `sigval` a sender attached.
fn write_sigval(out: &mut Vec<u8>, sigval: u64) {
    out.extend_from_slice(b", si_int=");
    push_i64(out, (sigval as i32).into());
    out.extend_from_slice(b", si_ptr=");
    push_ptr(out, sigval);
}

/// A `clock_t` in `USER_HZ` ticks, with seconds in a comment when not 0.
fn write_clock(out: &mut Vec<u8>, ticks: u64) {
    push_u64(out, ticks);
    if ticks != 0 {
        out.extend_from_slice(b" /* ");
        push_u64(out, ticks / USER_HZ);
        out.push(b'.');
        let frac = ticks % USER_HZ;
        if frac < 10 {
            out.push(b'0');
        }
        push_u64(out, frac);
        out.extend_from_slice(b" s */");
    }
}

/// A task's end as strace's `+++ ... +++` line says it, from its wait(2)
/// status: `exited with 3`, `killed by SIGKILL`, `killed by SIGSEGV
/// (core dumped)`.
pub fn write_exit_status(out: &mut Vec<u8>, status: i32) {
    let signal = status & 0x7f;
    if signal == 0 {
        out.extend_from_slice(b"exited with ");
        push_i64(out, ((status >> 8) & 0xff).into());
    } else {
        out.extend_from_slice(b"killed by ");
        write_signal(out, signal);
        if status & 0x80 != 0 {
            out.extend_from_slice(b" (core dumped)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(signo: i32, code: i32, fields: [u64; 4]) -> String {
        let mut out = Vec::new();
        write_siginfo(
            &mut out,
            &SigInfo {
                signo,
                errno: 0,
                code,
                fields,
            },
        );
        String::from_utf8(out).unwrap()
    }

    /// Each expected line is strace 6.1's on this machine (the program in
    /// the comment of each case, run under `strace -f`).
    #[test]
    fn siginfo_as_strace_prints_it() {
        let source = |pid: u32, uid: u32| u64::from(pid) | u64::from(uid) << 32;
        // A child's exit, seen by its parent; a kill.
        assert_eq!(
            show(17, 1, [source(24864, 0), 0, 0, 1]),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=24864, si_uid=0, si_status=0, \
             si_utime=0, si_stime=1 /* 0.01 s */}"
        );
        assert_eq!(
            show(17, 2, [source(27671, 0), 9, 0, 0]),
            "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=27671, si_uid=0, si_status=SIGKILL, \
             si_utime=0, si_stime=0}"
        );
        // kill(2), tgkill(2) (raise), sigqueue(3) with a value.
        assert_eq!(
            show(15, 0, [source(27669, 0), 0, 0, 0]),
            "{si_signo=SIGTERM, si_code=SI_USER, si_pid=27669, si_uid=0}"
        );
        assert_eq!(
            show(11, -6, [source(25418, 0), 0, 0, 0]),
            "{si_signo=SIGSEGV, si_code=SI_TKILL, si_pid=25418, si_uid=0}"
        );
        assert_eq!(
            show(12, -1, [source(27669, 0), 42, 0, 0]),
            "{si_signo=SIGUSR2, si_code=SI_QUEUE, si_pid=27669, si_uid=0, si_int=42, si_ptr=0x2a}"
        );
        // alarm(2), a fault, a POSIX timer on SIGRTMIN+1.
        assert_eq!(
            show(14, 0x80, [0; 4]),
            "{si_signo=SIGALRM, si_code=SI_KERNEL}"
        );
        assert_eq!(
            show(11, 1, [8, 0, 0, 0]),
            "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x8}"
        );
        assert_eq!(
            show(35, -2, [0, 0x1234, 0, 0]),
            "{si_signo=SIGRT_3, si_code=SI_TIMER, si_timerid=0, si_overrun=0, si_int=4660, \
             si_ptr=0x1234}"
        );
        assert_eq!(show(0, 0, [0; 4]), "{}");
    }

    #[test]
    fn exit_statuses() {
        let show = |status| {
            let mut out = Vec::new();
            write_exit_status(&mut out, status);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(show(0), "exited with 0");
        assert_eq!(show(3 << 8), "exited with 3");
        assert_eq!(show(9), "killed by SIGKILL");
        assert_eq!(show(11 | 0x80), "killed by SIGSEGV (core dumped)");
    }
}
