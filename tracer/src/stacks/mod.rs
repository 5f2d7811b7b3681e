//! User stacks of syscalls (`-k`): the model (return addresses, whether the
//! walk was cut short, and the memory maps they are to be read against),
//! the capture of a process's maps while it lives, symbolization, and the
//! strace-style rendering of a frame.
//!
//! Sources only walk frame pointers and attach the raw addresses with the
//! maps of the process at that time; names are found later, in userspace
//! (the pipeline's symbolization step), so that a recording can keep raw
//! addresses and be symbolized again by `tracer report -k`.

pub mod exe;
pub mod maps;
pub mod symbolize;

use std::{io::Write, sync::Arc};

pub use maps::{Mapping, ProcessMaps};

/// Most frames walked: deeper stacks are cut and marked truncated.
pub const MAX_FRAMES: usize = tracer_common::stack::MAX_FRAMES as usize;

/// The user stack of one syscall, innermost frame first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserStack {
    /// Instruction pointers: the first is where the syscall was made, the
    /// others are return addresses.
    pub ips: Vec<u64>,
    /// The walk did not reach the outermost frame (a zero frame pointer):
    /// it hit code without frame pointers, unreadable memory, or
    /// [`MAX_FRAMES`].
    pub truncated: bool,
    /// The executable mappings of the process when the stack was taken.
    pub maps: Option<Arc<ProcessMaps>>,
    /// Per frame, its function, once symbolized (same length as `ips`).
    pub symbols: Option<Vec<Option<Symbol>>>,
}

/// The function a frame is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Demangled name.
    pub name: Arc<str>,
    /// Bytes from the start of the function.
    pub offset: u64,
}

/// What is known of one frame, for rendering.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    pub ip: u64,
    /// The mapping it falls in, if any.
    pub mapping: Option<&'a Mapping>,
    /// Offset of `ip` in the mapped file.
    pub file_offset: Option<u64>,
    pub symbol: Option<&'a Symbol>,
}

impl UserStack {
    /// The frames with what is known of them, innermost first.
    pub fn frames(&self) -> impl Iterator<Item = FrameView<'_>> {
        self.ips.iter().enumerate().map(|(i, &ip)| {
            let mapping = self.maps.as_deref().and_then(|m| m.find(ip));
            FrameView {
                ip,
                mapping,
                file_offset: mapping.map(|m| m.file_offset(ip)),
                symbol: self
                    .symbols
                    .as_ref()
                    .and_then(|s| s.get(i))
                    .and_then(Option::as_ref),
            }
        })
    }

    /// The function names, innermost first (`?` where unknown).
    #[cfg(test)]
    pub fn names(&self) -> Vec<String> {
        self.frames()
            .map(|f| f.symbol.map_or_else(|| "?".into(), |s| s.name.to_string()))
            .collect()
    }
}

impl FrameView<'_> {
    /// strace's `-k` form, without the leading ` > `:
    /// `/usr/bin/prog(func+0x4c) [0x4a5f2c]`, the bracket holding the
    /// offset in the file (the address where no file maps it).
    pub fn write_strace(&self, out: &mut Vec<u8>) {
        match self.mapping {
            Some(m) => out.extend_from_slice(m.path.as_bytes()),
            None => out.extend_from_slice(b"?"),
        }
        out.push(b'(');
        if let Some(sym) = self.symbol {
            out.extend_from_slice(sym.name.as_bytes());
            let _ = write!(out, "+{:#x}", sym.offset);
        }
        let _ = write!(out, ") [{:#x}]", self.file_offset.unwrap_or(self.ip));
    }

    /// The same as a string.
    pub fn strace_text(self) -> String {
        let mut out = Vec::new();
        self.write_strace(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Appends the ` > frame` lines of `stack` to `line`, as strace `-k` does,
/// and a last ` > ...` line when the walk was cut short.
pub fn write_strace_lines(line: &mut Vec<u8>, stack: &UserStack) {
    for frame in stack.frames() {
        line.extend_from_slice(b" > ");
        frame.write_strace(line);
        line.push(b'\n');
    }
    if stack.truncated {
        line.extend_from_slice(b" > ... (truncated: no frame pointer beyond)\n");
    }
}

/// The frames as JSON objects, for the JSONL and Chrome exports:
/// `{"ip", "file", "offset", "function", "function_offset"}`.
pub fn frames_json(stack: &UserStack) -> serde_json::Value {
    stack
        .frames()
        .map(|f| {
            serde_json::json!({
                "ip": format!("{:#x}", f.ip),
                "file": f.mapping.map(|m| &*m.path),
                "offset": f.file_offset.map(|o| format!("{o:#x}")),
                "function": f.symbol.map(|s| &*s.name),
                "function_offset": f.symbol.map(|s| s.offset),
            })
        })
        .collect()
}
