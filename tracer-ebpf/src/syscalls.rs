//! The syscall programs: `sys_enter` parks a traced thread's call in its
//! `INFLIGHT` slot, `sys_exit` turns it into a ring record; both take the
//! structures behind pointers the call's `CAPTURE` slot lists.

use aya_ebpf::{
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, raw_tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use tracer_common::{
    CaptureSpec, FLAG_NO_RETURN, MAX_ARGS, SyscallRecord, capture, counter, kind,
    structs as struct_spec, traced,
};

use crate::{
    CAPTURE, EVENTS, TRACED,
    capture::{capture_enter, capture_exit, emit_with_data, structs::capture_structs},
    count, inflight_slot,
    stack::take_stack,
};

use tracer_common::nr::{
    EXECVE as SYS_EXECVE, EXECVEAT as SYS_EXECVEAT, EXIT as SYS_EXIT, EXIT_GROUP as SYS_EXIT_GROUP,
};

/// The x86_64 `struct pt_regs` up to `di`: the syscall argument registers
/// are di, si, dx, r10, r8, r9.
#[repr(C)]
struct PtRegs {
    _r15: u64,
    _r14: u64,
    _r13: u64,
    _r12: u64,
    bp: u64,
    _bx: u64,
    _r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    _ax: u64,
    _cx: u64,
    dx: u64,
    si: u64,
    di: u64,
}

#[inline(always)]
fn emit_syscall(
    tgid: u32,
    tid: u32,
    nr: i64,
    args: &[u64; MAX_ARGS],
    enter_ns: u64,
    exit_ns: u64,
    ret: i64,
    flags: u16,
    stack: u64,
) {
    match EVENTS.reserve::<SyscallRecord>(0) {
        Some(mut entry) => {
            entry.write(SyscallRecord {
                kind: kind::SYSCALL,
                flags,
                nr: nr as i32,
                tgid,
                tid,
                enter_ns,
                exit_ns,
                ret,
                args: *args,
                stack,
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count(counter::LOST_SYSCALLS),
    }
}

/// The spec of syscall `nr`: whether to record it, what to capture.
#[inline(always)]
fn spec_of(nr: i64) -> CaptureSpec {
    let index = if (0..capture::OTHER as i64).contains(&nr) {
        nr as u32
    } else {
        capture::OTHER
    };
    CAPTURE.get(index).copied().unwrap_or_default()
}

/// A BTF tracepoint rather than a raw one: its `regs` argument is a
/// trusted pointer the verifier types from the kernel's BTF, so the six
/// argument registers are plain loads instead of a `bpf_probe_read_kernel`
/// call (with its fault-handling setup) on every traced syscall.
#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let Some(flag) = TRACED.get_ptr_mut(tgid) else {
        return 0;
    };
    // SAFETY: pointer from a successful array lookup.
    let state = unsafe { *flag };
    if state == traced::OFF {
        return 0;
    }
    let nr: i64 = ctx.arg(1);
    if state == traced::AT_EXEC {
        if nr != SYS_EXECVE && nr != SYS_EXECVEAT {
            return 0;
        }
        // SAFETY: as above; a byte store.
        unsafe { *flag = traced::ON };
    }
    // The `-e` set, before any other work.
    let spec = spec_of(nr);
    if spec.record == 0 {
        count(counter::FILTERED);
        return 0;
    }
    let tid = pid_tgid as u32;
    let regs: *const PtRegs = ctx.arg(0);
    // SAFETY: the tracepoint's `struct pt_regs *`, valid for the program's
    // run; the verifier checks every load against the kernel's type.
    let args = unsafe {
        let r = &*regs;
        [r.di, r.si, r.dx, r.r10, r.r8, r.r9]
    };
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };
    // `-k`: one byte of the spec already read. The stack is taken last on
    // each path, so that the verifier walks its loops once per path, not
    // once per path times the rest of the program's.
    // SAFETY: as for the arguments above.
    let bp = unsafe { (*regs).bp };

    if nr == SYS_EXIT || nr == SYS_EXIT_GROUP {
        let stack = if spec.stack != 0 {
            take_stack(&ctx, tgid, tid, bp)
        } else {
            0
        };
        // Never returns: emit now, with no exit time.
        emit_syscall(tgid, tid, nr, &args, now, 0, 0, FLAG_NO_RETURN, stack);
        return 0;
    }
    let reread_paths = if spec.paths != 0 {
        capture_enter(tid, nr, spec, &args, nr != SYS_EXECVE && nr != SYS_EXECVEAT)
    } else {
        0
    };
    if spec.structs[0].size != struct_spec::NONE {
        capture_structs(tid, nr, &spec, &args, None);
    }

    if let Some(slot) = inflight_slot(tid) {
        // SAFETY: pointer from a successful array lookup. Only the threads
        // that share this slot write it, one syscall at a time each.
        let slot = unsafe { &mut *slot };
        // A slot never used has tid 0 (no task's tid).
        if slot.nr >= 0 && slot.tid != tid && slot.tid != 0 {
            // Another thread's syscall is in this slot: its record is lost.
            count(counter::LOST_SYSCALLS);
        }
        slot.enter_ns = now;
        slot.exit_data = spec.data;
        slot.exit_structs = spec.exit_structs;
        slot.reread_paths = reread_paths;
        slot.nr = nr;
        slot.args = args;
        slot.tid = tid;
        slot.stack = if spec.stack != 0 {
            take_stack(&ctx, tgid, tid, bp)
        } else {
            0
        };
    }
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(slot) = inflight_slot(tid) else {
        return 0;
    };
    // SAFETY: pointer from a successful array lookup; see `sys_enter`.
    let pending = unsafe { &mut *slot };
    // Untraced tasks (and a fresh child returning from fork) stop here.
    if pending.tid != tid || pending.nr < 0 {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };
    if pending.reread_paths != 0 {
        // Before the syscall record, like every path.
        capture_exit(tid, pending.nr, pending.reread_paths, &pending.args);
    }
    if pending.exit_structs != 0 {
        // Before the syscall record, which userspace attaches them to.
        let spec = spec_of(pending.nr);
        capture_structs(tid, pending.nr, &spec, &pending.args, Some(ret));
    }
    if pending.exit_data != capture::NONE {
        let record = SyscallRecord {
            kind: kind::SYSCALL,
            flags: 0,
            nr: pending.nr as i32,
            tgid: (pid_tgid >> 32) as u32,
            tid,
            enter_ns: pending.enter_ns,
            exit_ns: now,
            ret,
            args: pending.args,
            stack: pending.stack,
        };
        if emit_with_data(record, pending.exit_data, &pending.args) {
            pending.nr = -1;
            return 0;
        }
    }
    emit_syscall(
        (pid_tgid >> 32) as u32,
        tid,
        pending.nr,
        &pending.args,
        pending.enter_ns,
        now,
        ret,
        0,
        pending.stack,
    );
    pending.nr = -1;
    0
}
