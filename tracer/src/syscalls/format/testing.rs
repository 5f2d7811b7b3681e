//! Helpers of the rendering tests: render a call from its name and raw
//! arguments, as the tests beside each decoder compare it with strace.

use tracer_common::MAX_ARGS;

use super::write_call;
use crate::event::SyscallEvent;

pub const P: u64 = 0x1000;

pub fn neg(v: i64) -> u64 {
    v as u64
}

/// Renders syscall `nr` (by name) with `args`, returning `ret`.
pub fn call(name: &str, args: &[u64], ret: Option<i64>) -> String {
    let nr = crate::syscalls::by_name(name).unwrap_or_else(|| panic!("{name}"));
    render(nr, args, ret)
}

pub fn render(nr: u32, args: &[u64], ret: Option<i64>) -> String {
    let mut full = [0; MAX_ARGS];
    full[..args.len()].copy_from_slice(args);
    let ev = SyscallEvent {
        tgid: 1,
        tid: 1,
        nr,
        args: full,
        enter_ns: 0,
        exit_ns: ret.map(|_| 1),
        ret,
        strings: None,
        data: None,
        request: None,
        stack: None,
    };
    let mut out = Vec::new();
    write_call(&mut out, &ev);
    String::from_utf8(out).unwrap()
}

/// The arguments only: `call(...)` without ` = ret`.
pub fn args(name: &str, args: &[u64]) -> String {
    let line = call(name, args, Some(0));
    line.rsplit_once(" = ").unwrap().0.to_owned()
}
