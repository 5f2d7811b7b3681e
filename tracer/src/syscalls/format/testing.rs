//! Helpers of the rendering tests: render a call from its name and raw
//! arguments, as the tests beside each decoder compare it with strace.

use tracer_common::MAX_ARGS;

use super::{captured_of, write_call_with};
use crate::event::{ArgString, SyscallEvent};

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
    render_event(&event_nr(nr, args, ret))
}

/// The event of syscall `name` (by name) with `args`, returning `ret`.
pub fn event(name: &str, args: &[u64], ret: Option<i64>) -> SyscallEvent {
    let nr = crate::syscalls::by_name(name).unwrap_or_else(|| panic!("{name}"));
    event_nr(nr, args, ret)
}

/// Sets the bytes a source captured for argument `arg` (a string, or the
/// structure behind a pointer).
pub fn set_bytes(ev: &mut SyscallEvent, arg: usize, bytes: &[u8]) {
    ev.strings.get_or_insert_with(Default::default)[arg] = Some(ArgString {
        bytes: bytes.to_vec(),
        truncated: false,
    });
}

/// `name(args) = ret` with `bytes` captured behind argument `arg`.
pub fn with_bytes(name: &str, args: &[u64], ret: Option<i64>, arg: usize, bytes: &[u8]) -> String {
    let mut ev = event(name, args, ret);
    set_bytes(&mut ev, arg, bytes);
    render_event(&ev)
}

/// Renders `ev` as the text sink does, with what it captured.
pub fn render_event(ev: &SyscallEvent) -> String {
    let mut out = Vec::new();
    write_call_with(&mut out, ev, &captured_of(ev));
    String::from_utf8(out).unwrap()
}

fn event_nr(nr: u32, args: &[u64], ret: Option<i64>) -> SyscallEvent {
    let mut full = [0; MAX_ARGS];
    full[..args.len()].copy_from_slice(args);
    SyscallEvent {
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
    }
}

/// The arguments only: `call(...)` without ` = ret`.
pub fn args(name: &str, args: &[u64]) -> String {
    let line = call(name, args, Some(0));
    line.rsplit_once(" = ").unwrap().0.to_owned()
}
