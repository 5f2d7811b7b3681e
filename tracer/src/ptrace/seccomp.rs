//! A seccomp filter that makes only the selected syscalls stop the tracee
//! (`SECCOMP_RET_TRACE`) and lets every other one run at full speed, as
//! `strace --seccomp-bpf` does. Built in the tracer, installed by the
//! launched child between its gate and `execve`.
//!
//! The same builder makes delay injection's filter (`crate::inject`): the
//! selected syscalls return `SECCOMP_RET_USER_NOTIF` instead, everything
//! else (other architectures included) is allowed, and one exempt call (the
//! child's own `sendmsg` that hands the listener over) always goes through.

use libc::sock_filter;

/// Highest syscall number considered (x86_64 numbers are below 512).
const MAX_NR: u32 = 512;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Bit set on x32 syscall numbers.
const X32_BIT: u32 = 0x4000_0000;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Offsets of the low 32 bits of `args[0]` and `args[2]` in `struct
/// seccomp_data` (little-endian).
const ARG0_OFFSET: u32 = 16;
const ARG2_OFFSET: u32 = 32;

/// What a filter returns: for the selected syscalls, and for calls it
/// cannot judge (another architecture, x32); every other call is allowed.
#[derive(Clone, Copy, Debug)]
pub struct Actions {
    pub selected: u32,
    pub foreign: u32,
    /// A call let through whatever the selection: (syscall number, low 32
    /// bits of its first and third arguments).
    pub exempt: Option<(u32, u32, u32)>,
}

/// The filter program for the syscalls `traced` selects. Anything it
/// cannot judge (another architecture, x32) is traced, never missed.
pub fn program(traced: impl Fn(u32) -> bool) -> Vec<sock_filter> {
    program_with(
        traced,
        Actions {
            selected: libc::SECCOMP_RET_TRACE,
            foreign: libc::SECCOMP_RET_TRACE,
            exempt: None,
        },
    )
}

/// The filter program returning `actions.selected` for the syscalls
/// `select` selects.
pub fn program_with(select: impl Fn(u32) -> bool, actions: Actions) -> Vec<sock_filter> {
    let selected: Vec<u32> = (0..MAX_NR).filter(|&nr| select(nr)).collect();
    // List whichever side is shorter: the selected numbers (default allow)
    // or the others (default: the action).
    let (listed, on_match, otherwise) = if selected.len() as u32 <= MAX_NR / 2 {
        (selected, actions.selected, libc::SECCOMP_RET_ALLOW)
    } else {
        let others = (0..MAX_NR).filter(|&nr| !select(nr)).collect();
        (others, libc::SECCOMP_RET_ALLOW, actions.selected)
    };
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, actions.foreign),
        stmt(BPF_LD_W_ABS, NR_OFFSET),
        jump(BPF_JSET_K, X32_BIT, 0, 1),
        stmt(BPF_RET_K, actions.foreign),
    ];
    if let Some((nr, arg0, arg2)) = actions.exempt {
        prog.extend([
            jump(BPF_JEQ_K, nr, 0, 5),
            stmt(BPF_LD_W_ABS, ARG0_OFFSET),
            jump(BPF_JEQ_K, arg0, 0, 3),
            stmt(BPF_LD_W_ABS, ARG2_OFFSET),
            jump(BPF_JEQ_K, arg2, 0, 1),
            stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW),
            stmt(BPF_LD_W_ABS, NR_OFFSET),
        ]);
    }
    for nr in listed {
        // Match: skip the "no" return below to reach the "yes" one.
        prog.push(jump(BPF_JEQ_K, nr, 0, 1));
        prog.push(stmt(BPF_RET_K, on_match));
    }
    prog.push(stmt(BPF_RET_K, otherwise));
    prog
}

/// Installs `prog` in the calling process. Async-signal-safe: called in the
/// forked child before `execve`.
///
/// # Safety
/// Only libc calls on memory owned by the caller; safe to call between
/// fork and exec.
pub unsafe fn install(prog: &[sock_filter]) -> bool {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: prctl and seccomp read only `fprog`, which outlives the calls.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::syscall(
                crate::syscalls::nr::SECCOMP.into(),
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            ) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the classic-BPF program on (arch, nr), a tiny interpreter for
    /// the four instructions we emit.
    fn eval(prog: &[sock_filter], arch: u32, nr: u32) -> u32 {
        eval_args(prog, arch, nr, 0, 0)
    }

    fn eval_args(prog: &[sock_filter], arch: u32, nr: u32, arg0: u32, arg2: u32) -> u32 {
        let mut acc = 0;
        let mut pc = 0;
        loop {
            let ins = prog[pc];
            match ins.code {
                BPF_LD_W_ABS => {
                    acc = match ins.k {
                        ARCH_OFFSET => arch,
                        ARG0_OFFSET => arg0,
                        ARG2_OFFSET => arg2,
                        _ => nr,
                    }
                }
                BPF_JEQ_K => {
                    pc += if acc == ins.k { ins.jt } else { ins.jf } as usize;
                }
                BPF_JSET_K => {
                    pc += if acc & ins.k != 0 { ins.jt } else { ins.jf } as usize;
                }
                BPF_RET_K => return ins.k,
                _ => panic!("unexpected instruction"),
            }
            pc += 1;
        }
    }

    #[test]
    fn narrow_set_traces_only_its_syscalls() {
        let prog = program(|nr| nr == 257 || nr == 2);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 257), libc::SECCOMP_RET_TRACE);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 2), libc::SECCOMP_RET_TRACE);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 0), libc::SECCOMP_RET_ALLOW);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 1), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn wide_set_lists_the_exceptions() {
        let prog = program(|nr| nr != 0 && nr != 1);
        assert!(prog.len() < 20, "{}", prog.len());
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 0), libc::SECCOMP_RET_ALLOW);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 257), libc::SECCOMP_RET_TRACE);
    }

    #[test]
    fn unknown_arch_and_x32_are_traced() {
        let prog = program(|nr| nr == 257);
        assert_eq!(eval(&prog, 0x4000_0003, 0), libc::SECCOMP_RET_TRACE);
        assert_eq!(
            eval(&prog, AUDIT_ARCH_X86_64, X32_BIT | 1),
            libc::SECCOMP_RET_TRACE
        );
    }

    #[test]
    fn notify_filter_allows_foreign_calls_and_the_exempt_one() {
        let actions = Actions {
            selected: libc::SECCOMP_RET_USER_NOTIF,
            foreign: libc::SECCOMP_RET_ALLOW,
            exempt: Some((46, 7, 9)),
        };
        let prog = program_with(|nr| nr == 0 || nr == 46, actions);
        let notif = libc::SECCOMP_RET_USER_NOTIF;
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 0), notif);
        assert_eq!(eval(&prog, AUDIT_ARCH_X86_64, 1), libc::SECCOMP_RET_ALLOW);
        // Only the call with both arguments is exempt: the same fd with
        // other flags (the command's own sendmsg) is delayed.
        assert_eq!(eval_args(&prog, AUDIT_ARCH_X86_64, 46, 3, 9), notif);
        assert_eq!(eval_args(&prog, AUDIT_ARCH_X86_64, 46, 7, 0), notif);
        assert_eq!(
            eval_args(&prog, AUDIT_ARCH_X86_64, 46, 7, 9),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(eval(&prog, 0x4000_0003, 0), libc::SECCOMP_RET_ALLOW);
        // The wide form (everything but two syscalls) keeps the exemption.
        let wide = program_with(|nr| nr != 1 && nr != 2, actions);
        assert_eq!(eval(&wide, AUDIT_ARCH_X86_64, 300), notif);
        assert_eq!(eval(&wide, AUDIT_ARCH_X86_64, 1), libc::SECCOMP_RET_ALLOW);
        assert_eq!(
            eval_args(&wide, AUDIT_ARCH_X86_64, 46, 7, 9),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(eval_args(&wide, AUDIT_ARCH_X86_64, 46, 7, 1), notif);
    }
}
