//! The floor: what any eBPF recorder on the syscall tracepoints costs at
//! least, for `cargo xtask bench` and `tracer overhead`.

use aya_ebpf::{
    Global,
    helpers::bpf_get_current_pid_tgid,
    macros::{btf_tracepoint, map, raw_tracepoint},
    maps::Array,
    programs::{BtfTracePointContext, RawTracePointContext},
};

/// The floor's target tgid (`u32::MAX`: none). See [`floor_enter`].
#[unsafe(no_mangle)]
static FLOOR_TGID: Global<u32> = Global::new(u32::MAX);

/// Runs of the floor programs that matched [`FLOOR_TGID`]: the work they
/// do on a match, so that the compare stays in the program.
#[map(name = "FLOOR_HITS")]
static FLOOR_HITS: Array<u64> = Array::with_max_entries(1, 0);

/// The floor: what any eBPF recorder on these tracepoints costs at least.
/// It reads the tgid, compares it with one value and returns, attached to
/// the same tracepoints the same way as [`sys_enter`] and [`sys_exit`].
/// Loaded only by the hidden `tracer floor-probe` (for `cargo xtask
/// bench`), never with the real programs.
#[btf_tracepoint(function = "sys_enter")]
pub fn floor_enter(_ctx: BtfTracePointContext) -> i32 {
    floor_check();
    0
}

/// `sys_exit`'s half of the floor (see [`floor_enter`]).
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn floor_exit(_ctx: RawTracePointContext) -> i32 {
    floor_check();
    0
}

#[inline(always)]
fn floor_check() {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if tgid == FLOOR_TGID.load()
        && let Some(hits) = FLOOR_HITS.get_ptr_mut(0)
    {
        // SAFETY: pointer from a successful array lookup; a racy count is
        // fine, nothing depends on it.
        unsafe { *hits += 1 };
    }
}
