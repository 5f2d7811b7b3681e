//! Everything `sys_exit` takes from user memory for a captured call: the
//! paths `sys_enter` could not read, the structures the call wrote, and
//! its data buffer. One BPF-to-BPF call from `sys_exit`, reached only when
//! the call's `INFLIGHT` slot asks for one of them.
//!
//! Why calls and not inlined code: the verifier walks every path through a
//! program, and inlined captures multiply each other's paths (a path
//! reread, then three structure captures, then an iovec walk), which made
//! `sys_exit` cost it 650,367 instructions of its 1,000,000 limit. The
//! path reread and each structure row due are calls of their own, whose
//! paths end at their return, and the walks of unknown length are
//! `bpf_loop` callbacks, so the verifier's work adds up instead of
//! multiplying; `sys_exit`'s path for a call with nothing to take stays
//! free of their registers. The data record, the most common capture at
//! exit, is inlined here: one BPF call per captured call, not two.

use tracer_common::{Inflight, capture};

use super::{
    emit_with_data, reread_paths,
    structs::{StructCall, capture_structs},
};
use crate::spec_ref;

/// Takes what the call in `pending` (of thread group `tgid`, returning
/// `ret` at `now`) has to give at exit: paths to read again and
/// structures first (userspace attaches them to the syscall record that
/// follows), then the record itself with its data buffer. Returns whether
/// the syscall record was sent; if not, the caller sends the plain one.
#[inline(never)]
pub(crate) fn capture_at_exit(pending: &Inflight, tgid: u32, ret: i64, now: u64) -> bool {
    if pending.reread_paths != 0 {
        reread_paths(pending.tid, pending.nr, pending.reread_paths, &pending.args);
    }
    if pending.exit_structs != 0
        && let Some(spec) = spec_ref(pending.nr)
    {
        let call = StructCall {
            tid: pending.tid,
            nr: pending.nr,
            args: &pending.args,
            ret: Some(ret),
        };
        capture_structs(&call, spec);
    }
    pending.exit_data != capture::NONE && emit_with_data(pending, tgid, ret, now)
}
