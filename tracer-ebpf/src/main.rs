//! The kernel half of tracer: records every syscall of the traced processes.
//!
//! Hot path, per syscall of *every* task on the machine:
//! - `sys_enter`: one `TRACED` array lookup by tgid (inlined by the JIT);
//!   untraced tasks stop there.
//!   Traced ones read the six argument registers with one
//!   `bpf_probe_read_kernel` and park them in `INFLIGHT` (by tid), updating
//!   the existing entry in place when there is one (no LRU allocation).
//! - `sys_exit`: one `INFLIGHT` lookup by tid; a miss (untraced task, or a
//!   fresh child returning from `fork` without an enter) stops there. A hit
//!   is written straight into a reserved ring-buffer entry and submitted
//!   without a wake-up: userspace drains on its own timer, so the producer
//!   never pays for waking the consumer.
//!
//! `sched_process_fork`/`sched_process_exit` keep `TRACED` in step with the
//! children of traced processes.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel,
    },
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, LruHashMap, PerCpuArray, RingBuf},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    FLAG_NO_RETURN, Inflight, MAX_ARGS, SyscallRecord, TaskRecord, counter, kind, traced,
};

/// Traced tgids: a byte per possible pid (the loader sizes it to
/// `kernel.pid_max`), non-zero when traced. An array, not a hash, because
/// every syscall of every task on the machine checks it: the JIT inlines an
/// array lookup into a bounds check and an add, where a hash lookup is a
/// call and a jhash.
///
/// Also marks the tids of threads created by traced processes, between
/// their fork and their exit: harmless, since no process can have a live
/// thread's tid as its tgid, and cheaper than telling threads from
/// processes at fork time.
#[map(name = "TRACED")]
static TRACED: Array<u8> = Array::with_max_entries(1 << 15, 0);

/// The syscall each traced thread is in, between enter and exit.
#[map(name = "INFLIGHT")]
static INFLIGHT: LruHashMap<u32, Inflight> = LruHashMap::with_max_entries(65536, 0);

/// Completed syscalls and task records. Its size is set by the loader.
#[map(name = "EVENTS")]
static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 24, 0);

/// Per-CPU counters, indexed by `tracer_common::counter`.
#[map(name = "COUNTERS")]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// Offset of `child_pid` in the `sched_process_fork` record (read from
/// tracefs by the loader: it moved when `parent_comm` became `__data_loc`).
#[unsafe(no_mangle)]
static FORK_CHILD_PID_OFFSET: Global<u32> = Global::new(20);

/// Offset of `group_dead` in the `sched_process_exit` record, or `u32::MAX`
/// when the kernel does not have that field.
#[unsafe(no_mangle)]
static EXIT_GROUP_DEAD_OFFSET: Global<u32> = Global::new(u32::MAX);

const SYS_EXECVE: i64 = 59;
const SYS_EXECVEAT: i64 = 322;
const SYS_EXIT: i64 = 60;
const SYS_EXIT_GROUP: i64 = 231;

/// The x86_64 `struct pt_regs` from `r10` to `di`: the syscall argument
/// registers are di, si, dx, r10, r8, r9. One read covers all six.
#[repr(C)]
struct ArgRegs {
    r10: u64,
    r9: u64,
    r8: u64,
    _ax: u64,
    _cx: u64,
    dx: u64,
    si: u64,
    di: u64,
}
/// Byte offset of `r10` in x86_64 `struct pt_regs` (after r15..bx, r11).
const PT_REGS_R10: usize = 7 * 8;

#[inline(always)]
fn is_traced(tgid: u32) -> bool {
    match TRACED.get_ptr(tgid) {
        // SAFETY: pointer from a successful array lookup.
        Some(flag) => unsafe { *flag == traced::ON },
        None => false,
    }
}

#[inline(always)]
fn set_traced(pid: u32, value: u8) {
    if let Some(flag) = TRACED.get_ptr_mut(pid) {
        // SAFETY: pointer from a successful array lookup; a byte store.
        unsafe { *flag = value };
    }
}

#[inline(always)]
fn count_lost() {
    if let Some(slot) = COUNTERS.get_ptr_mut(counter::LOST) {
        // SAFETY: the pointer comes from a successful lookup of a per-CPU
        // array slot, valid and 8-byte aligned for the program's run. The
        // bpf target has no `fetch_add`; the slot is this CPU's own, so the
        // only race is a preemption between load and store, which can lose
        // one count, never invent one.
        unsafe { *slot += 1 };
    }
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
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count_lost(),
    }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> i32 {
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
    let tid = pid_tgid as u32;
    let regs: *const u8 = ctx.arg(0);
    // SAFETY: `regs` is the tracepoint's `struct pt_regs *`; the helper
    // validates the read and fails instead of faulting.
    let Ok(r) =
        (unsafe { bpf_probe_read_kernel(regs.wrapping_add(PT_REGS_R10).cast::<ArgRegs>()) })
    else {
        return 0;
    };
    let args = [r.di, r.si, r.dx, r.r10, r.r8, r.r9];
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };

    if nr == SYS_EXIT || nr == SYS_EXIT_GROUP {
        // Never returns: emit now, with no exit time.
        emit_syscall(tgid, tid, nr, &args, now, 0, 0, FLAG_NO_RETURN);
        return 0;
    }

    match INFLIGHT.get_ptr_mut(tid) {
        Some(slot) => {
            // SAFETY: pointer from a successful lookup; only this thread
            // writes its own tid's slot.
            unsafe {
                (*slot).enter_ns = now;
                (*slot).nr = nr;
                (*slot).args = args;
            }
        }
        None => {
            let value = Inflight {
                enter_ns: now,
                nr,
                args,
            };
            let _ = INFLIGHT.insert(tid, value, 0);
        }
    }
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(slot) = INFLIGHT.get_ptr_mut(tid) else {
        return 0;
    };
    // SAFETY: pointer from a successful lookup; only this thread writes its
    // own tid's slot.
    let pending = unsafe { &mut *slot };
    if pending.nr < 0 {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };
    emit_syscall(
        (pid_tgid >> 32) as u32,
        tid,
        pending.nr,
        &pending.args,
        pending.enter_ns,
        now,
        ret,
        0,
    );
    pending.nr = -1;
    0
}

#[inline(always)]
fn emit_task(kind: u16, flags: u16, tid: u32, tgid: u32, parent_tid: u32) {
    match EVENTS.reserve::<TaskRecord>(0) {
        Some(mut entry) => {
            let comm = bpf_get_current_comm().unwrap_or([0; 16]);
            entry.write(TaskRecord {
                kind,
                flags,
                tid,
                tgid,
                parent_tid,
                // SAFETY: reads the monotonic clock.
                ts_ns: unsafe { bpf_ktime_get_ns() },
                comm,
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count_lost(),
    }
}

#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    // SAFETY: the offset comes from the tracepoint's own format file; the
    // helper validates the read.
    let Ok(child) = (unsafe { ctx.read_at::<i32>(FORK_CHILD_PID_OFFSET.load() as usize) }) else {
        return 0;
    };
    let child = child as u32;
    set_traced(child, traced::ON);
    emit_task(kind::FORK, 0, child, tgid, pid_tgid as u32);
    0
}

#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    if !is_traced(tgid) {
        return 0;
    }
    let offset = EXIT_GROUP_DEAD_OFFSET.load();
    let group_dead = if offset == u32::MAX {
        false
    } else {
        // SAFETY: offset from the tracepoint's format file; checked read.
        unsafe { ctx.read_at::<u8>(offset as usize) }.unwrap_or(0) != 0
    };
    let _ = INFLIGHT.remove(tid);
    if tid != tgid {
        // Drop the thread's own key (see `TRACED`).
        set_traced(tid, traced::OFF);
    }
    if group_dead {
        set_traced(tgid, traced::OFF);
    }
    emit_task(
        kind::EXIT,
        if group_dead {
            tracer_common::FLAG_GROUP_DEAD
        } else {
            0
        },
        tid,
        tgid,
        0,
    );
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Unreachable in a verified program: the verifier rejects any path that
    // could get here.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
