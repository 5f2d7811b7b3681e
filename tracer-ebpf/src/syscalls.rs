//! The syscall programs: `sys_enter` parks a traced thread's call in its
//! `INFLIGHT` slot, `sys_exit` turns it into a ring record; both take the
//! structures behind pointers the call's `CAPTURE` slot lists.

use core::mem::offset_of;

use aya_ebpf::{
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, raw_tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use tracer_common::{
    FLAG_NO_RETURN, Inflight, MAX_ARGS, SyscallRecord, capture, counter, kind,
    structs as struct_spec, traced,
};

use crate::{
    EVENTS, TRACED,
    capture::{
        capture_enter,
        exit::capture_at_exit,
        structs::{StructCall, capture_structs, enter_args},
    },
    count, inflight_slot, spec_of,
    stack::take_stack,
};

use tracer_common::nr::{
    EXECVE as SYS_EXECVE, EXECVEAT as SYS_EXECVEAT, EXIT as SYS_EXIT, EXIT_GROUP as SYS_EXIT_GROUP,
};

/// The x86_64 `struct pt_regs` up to `sp`: the syscall argument registers
/// are di, si, dx, r10, r8, r9; `sp` finds a signal frame
/// (`structs::STACK` rows).
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
    _orig_ax: u64,
    _ip: u64,
    _cs: u64,
    _flags: u64,
    sp: u64,
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

/// Whether the call in `slot` has anything to take at exit: its data mode,
/// structures and paths to read again, three bytes read as one word with
/// the padding byte after them, which nothing writes (the map starts
/// zeroed). One load and compare on the path of every recorded call.
#[inline(always)]
fn exit_work(slot: &Inflight) -> bool {
    // SAFETY: the word at `exit_data` is within the slot and 4-byte
    // aligned (asserted below): exit_data, exit_structs, reread_paths, _pad.
    unsafe {
        (slot as *const Inflight)
            .cast::<u8>()
            .add(offset_of!(Inflight, exit_data))
            .cast::<u32>()
            .read()
            != 0
    }
}
const _: () = {
    assert!(capture::NONE == 0);
    assert!(offset_of!(Inflight, exit_data) % 4 == 0);
    assert!(offset_of!(Inflight, exit_structs) == offset_of!(Inflight, exit_data) + 1);
    assert!(offset_of!(Inflight, reread_paths) == offset_of!(Inflight, exit_data) + 2);
    assert!(offset_of!(Inflight, _pad) == offset_of!(Inflight, exit_data) + 3);
};

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
        // SAFETY: as for the arguments above.
        let sp = unsafe { (*regs).sp };
        let at = enter_args(&spec, &args, sp);
        let call = StructCall {
            tid,
            nr,
            args: &at,
            ret: None,
        };
        capture_structs(&call, &spec);
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
    let tgid = (pid_tgid >> 32) as u32;
    // Paths to read again, structures, data: one call that takes them all
    // (and sends the record with the data), reached only when one is due.
    if exit_work(pending) && capture_at_exit(pending, tgid, ret, now) {
        pending.nr = -1;
        return 0;
    }
    emit_syscall(
        tgid,
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
