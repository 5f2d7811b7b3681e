//! The floor: two programs on the `raw_syscalls` tracepoints that only
//! compare the tgid and return. Every eBPF recorder on these tracepoints
//! pays at least this on every syscall of every task (the programs' run
//! plus the tracepoint slow path they switch every task onto), so the
//! benchmark and `tracer overhead` measure it, and tracer's own costs are
//! told relative to it.

use aya::{
    Btf, Ebpf, EbpfLoader,
    programs::{BtfTracePoint, RawTracePoint},
};
use tracer_common::names;

use super::{EbpfError, OBJECT, chain, classify_load_error, classify_program_error, program_mut};

/// The floor programs, attached while this lives.
pub struct Floor {
    _ebpf: Ebpf,
}

impl Floor {
    /// Loads and attaches the floor programs, comparing with `tgid`
    /// (`u32::MAX`: a tgid that never matches).
    pub fn attach(tgid: u32) -> Result<Self, EbpfError> {
        super::raise_memlock_limit();
        let mut ebpf = EbpfLoader::new()
            // The object's ring is not used by the floor: keep it small.
            .map_max_entries(names::EVENTS, 4096)
            .override_global(names::FLOOR_TGID, &tgid, true)
            .load(OBJECT)
            .map_err(|e| classify_load_error(&e))?;
        let btf = Btf::from_sys_fs().map_err(|e| {
            EbpfError::Rejected(format!("cannot read the kernel's BTF: {}", chain(&e)))
        })?;
        let enter: &mut BtfTracePoint = program_mut(&mut ebpf, names::FLOOR_ENTER)?;
        enter
            .load("sys_enter", &btf)
            .map_err(|e| classify_program_error(names::FLOOR_ENTER, &e))?;
        enter.attach().map_err(|e| {
            EbpfError::TracepointMissing("raw_syscalls/sys_enter".into(), chain(&e))
        })?;
        let exit: &mut RawTracePoint = program_mut(&mut ebpf, names::FLOOR_EXIT)?;
        exit.load()
            .map_err(|e| classify_program_error(names::FLOOR_EXIT, &e))?;
        exit.attach("sys_exit")
            .map_err(|e| EbpfError::TracepointMissing("raw_syscalls/sys_exit".into(), chain(&e)))?;
        Ok(Self { _ebpf: ebpf })
    }
}
