//! The kernel half of tracer: records every syscall of the traced processes.
//!
//! Hot path, per syscall of *every* task on the machine:
//! - `sys_enter`: one `TRACED` array lookup by tgid (inlined by the JIT);
//!   untraced tasks stop there. Traced ones read the syscall's `CAPTURE`
//!   slot (the `-e` set and what to capture, one inlined lookup); a
//!   syscall not in the set stops there, its slot never parked.
//!   Recorded ones load the six argument registers straight from the
//!   BTF-typed `pt_regs` (a BTF tracepoint: no helper call) and park them
//!   in their `INFLIGHT` slot (an array indexed by tid, updated in place).
//! - `sys_exit`: one `INFLIGHT` array lookup by tid (inlined, no hashing);
//!   a slot that is not this thread's (untraced task, or a fresh child
//!   returning from `fork` without an enter) stops there. A hit
//!   is written straight into a reserved ring-buffer entry and submitted
//!   without a wake-up: userspace drains on its own timer, so the producer
//!   never pays for waking the consumer.
//!
//! `sched_process_fork`/`sched_process_exit` keep `TRACED` in step with the
//! children of traced processes (an exit's record carries the task's
//! `exit_code`, its wait status); `sched_process_exec` names a task after
//! its new image, and starts tracing processes whose comm or cgroup is
//! watched (the daemon's `--comm`/`--cgroup` watches); its record carries
//! the process's owner, read from its credentials at exec, so that the
//! daemon need not ask `/proc` about a process that may already be gone.
//!
//! `signal_deliver` records the signals traced tasks are about to handle,
//! with their `siginfo`, for strace's `--- SIGCHLD {...} ---` lines.
//!
//! Capture (paths, data buffers) costs only traced tasks: the `CAPTURE`
//! slot read at enter (its data mode is parked with the call), and for the
//! calls that move data or name files a copy from user memory into a
//! per-CPU scratch buffer, sent as a variable-size record
//! (`bpf_ringbuf_output`): a 10-byte write costs its syscall record plus
//! 26 bytes, not a fixed 4 KiB. Paths go at enter as records of their own;
//! a data buffer goes at exit inside its syscall's record (one ring write);
//! the structures behind pointers (`capture::structs`) as records of their
//! own, when their bytes are valid.
//!
//! `-k` (user stacks, [`stack`]) costs nothing unless the `-e` set selects
//! a syscall and `-k` marked its `CAPTURE` slot: one byte of the spec
//! `sys_enter` already reads. Then the kernel walks the user frame
//! pointers, and each distinct stack crosses the ring once; the syscall
//! record carries its id.
//!
//! Modules: [`syscalls`] (the two syscall programs), [`capture`] (paths and
//! data buffers from user memory), [`stack`] (`-k`), [`task`] (fork, exit,
//! exec), [`floor`] (the bench's floor programs), [`signal`] (signal
//! deliveries). The maps and helpers they share are here.
#![no_std]
#![no_main]

mod capture;
mod floor;
mod signal;
mod stack;
mod syscalls;
mod task;

use aya_ebpf::{
    macros::map,
    maps::{Array, PerCpuArray, RingBuf},
};
use tracer_common::{CaptureSpec, INFLIGHT_SLOTS, Inflight, capture as spec, counter, traced};

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
pub(crate) static TRACED: Array<u8> = Array::with_max_entries(1 << 15, 0);

/// The syscall each traced thread is in, between enter and exit, in slot
/// `tid % INFLIGHT_SLOTS`. An array, not a hash keyed by tid: `sys_exit`
/// runs for every task on the machine, and an array lookup is inlined by
/// the JIT where a hash lookup is a call and a jhash; the slot's `tid`
/// tells whether it is this thread's (see `INFLIGHT_SLOTS` on sharing).
#[map(name = "INFLIGHT")]
pub(crate) static INFLIGHT: Array<Inflight> = Array::with_max_entries(INFLIGHT_SLOTS, 0);

/// Completed syscalls and task records. Its size is set by the loader.
#[map(name = "EVENTS")]
pub(crate) static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 24, 0);

/// Per-CPU counters, indexed by `tracer_common::counter`.
#[map(name = "COUNTERS")]
pub(crate) static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// What to capture per syscall number (filled by the loader).
#[map(name = "CAPTURE")]
pub(crate) static CAPTURE: Array<CaptureSpec> = Array::with_max_entries(spec::SYSCALLS, 0);

#[inline(always)]
pub(crate) fn is_traced(tgid: u32) -> bool {
    match TRACED.get_ptr(tgid) {
        // SAFETY: pointer from a successful array lookup.
        Some(flag) => unsafe { *flag == traced::ON },
        None => false,
    }
}

#[inline(always)]
pub(crate) fn set_traced(pid: u32, value: u8) {
    if let Some(flag) = TRACED.get_ptr_mut(pid) {
        // SAFETY: pointer from a successful array lookup; a byte store.
        unsafe { *flag = value };
    }
}

#[inline(always)]
pub(crate) fn count(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: the pointer comes from a successful lookup of a per-CPU
        // array slot, valid and 8-byte aligned for the program's run. The
        // bpf target has no `fetch_add`; the slot is this CPU's own, so the
        // only race is a preemption between load and store, which can lose
        // one count, never invent one.
        unsafe { *slot += 1 };
    }
}

/// The `CAPTURE` slot of syscall `nr` (numbers beyond the table share
/// slot `capture::OTHER`).
#[inline(always)]
fn spec_index(nr: i64) -> u32 {
    if (0..spec::OTHER as i64).contains(&nr) {
        nr as u32
    } else {
        spec::OTHER
    }
}

/// The spec of syscall `nr`: whether to record it, what to capture.
#[inline(always)]
pub(crate) fn spec_of(nr: i64) -> CaptureSpec {
    CAPTURE.get(spec_index(nr)).copied().unwrap_or_default()
}

/// The spec of syscall `nr`, in place in its map slot.
#[inline(always)]
pub(crate) fn spec_ref(nr: i64) -> Option<&'static CaptureSpec> {
    CAPTURE.get(spec_index(nr))
}

/// The `INFLIGHT` slot of thread `tid`.
#[inline(always)]
pub(crate) fn inflight_slot(tid: u32) -> Option<*mut Inflight> {
    INFLIGHT.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1))
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
