//! `signal_deliver`: the signals traced tasks are about to handle, with
//! their `siginfo`, for strace's `--- SIGCHLD {...} ---` lines (#16). It
//! runs for every signal delivered on the machine; untraced tasks stop at
//! the `TRACED` lookup (about 60 ns a run as the kernel's bpf stats count
//! it, 160 ns for a traced task, whose record it writes).

use aya_ebpf::{
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use tracer_common::{SIGINFO_BYTES, SignalRecord, counter, kind};

use crate::{EVENTS, count, is_traced};

/// A signal about to be handled by a task: the handler runs next, or the
/// default action. A BTF tracepoint, for its raw arguments: `info` is
/// the whole `siginfo` (the classic tracepoint's record has only the
/// number, errno and code), copied into the record for userspace to
/// render as strace does. Untraced tasks stop at the `TRACED` lookup.
#[btf_tracepoint(function = "signal_deliver")]
pub fn signal_deliver(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    let sig: i32 = ctx.arg(0);
    // A fatal SIGKILL (also how exit_group ends the other threads): no
    // stop under ptrace, so no line in strace; the exit says it.
    if sig == SIGKILL {
        return 0;
    }
    let info: u64 = ctx.arg(1);
    emit_signal(tgid, pid_tgid as u32, info);
    0
}

/// Not in `aya_ebpf`'s bindings.
const SIGKILL: i32 = 9;

/// Writes a [`SignalRecord`] for `tid`, with the first bytes of the
/// `siginfo` at `info`; nothing when it cannot be read.
#[inline(always)]
fn emit_signal(tgid: u32, tid: u32, info: u64) {
    // SAFETY: a checked read of kernel memory; `info` is the tracepoint's
    // `struct kernel_siginfo *`, which the helper validates.
    let Ok(info) = (unsafe { bpf_probe_read_kernel(info as *const [u8; SIGINFO_BYTES]) }) else {
        return;
    };
    match EVENTS.reserve::<SignalRecord>(0) {
        Some(mut entry) => {
            entry.write(SignalRecord {
                kind: kind::SIGNAL,
                _pad: 0,
                tid,
                tgid,
                _pad2: 0,
                // SAFETY: reads the monotonic clock.
                ts_ns: unsafe { bpf_ktime_get_ns() },
                info,
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count(counter::LOST_TASKS),
    }
}
