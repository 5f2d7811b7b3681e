//! User stacks (`-k`) in Perfetto's own terms: each distinct stack a
//! `Callstack` of interned `Frame`s, each frame naming its function and
//! its `Mapping` (file path and build id), all interned once per trace in
//! the packet sequence's `InternedData`, so that a slice carries only its
//! callstack's iid and the UI shows the stack of the syscall it selects.
//!
//! Perfetto's callstacks run outermost frame first; a stack whose walk was
//! cut short gets a last outermost frame that says so.

use std::{collections::HashMap, sync::Arc};

use prost::Message;

use crate::stacks::UserStack;

/// `InternedString` (`protos/perfetto/trace/interned_data`).
#[derive(Clone, PartialEq, Message)]
pub struct InternedString {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub str: Option<Vec<u8>>,
}

/// `Frame` (`protos/perfetto/trace/profiling/profile_common.proto`).
#[derive(Clone, PartialEq, Message)]
pub struct Frame {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(uint64, optional, tag = "2")]
    pub function_name_id: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub mapping_id: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    pub rel_pc: Option<u64>,
}

/// `Callstack`: frame iids, outermost first.
#[derive(Clone, PartialEq, Message)]
pub struct Callstack {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(uint64, repeated, packed = "false", tag = "2")]
    pub frame_ids: Vec<u64>,
}

/// `Mapping`: a file mapped into the process; its path as interned
/// components (`["usr", "lib", "libc.so.6"]`).
#[derive(Clone, PartialEq, Message)]
pub struct Mapping {
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    #[prost(uint64, optional, tag = "2")]
    pub build_id: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub start_offset: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    pub start: Option<u64>,
    #[prost(uint64, optional, tag = "5")]
    pub end: Option<u64>,
    #[prost(uint64, repeated, packed = "false", tag = "7")]
    pub path_string_ids: Vec<u64>,
}

/// What a packet must intern before its callstack iid can be used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewInterned {
    pub function_names: Vec<InternedString>,
    pub frames: Vec<Frame>,
    pub callstacks: Vec<Callstack>,
    pub build_ids: Vec<InternedString>,
    pub mapping_paths: Vec<InternedString>,
    pub mappings: Vec<Mapping>,
}

impl NewInterned {
    pub fn is_empty(&self) -> bool {
        self.callstacks.is_empty()
            && self.frames.is_empty()
            && self.function_names.is_empty()
            && self.mappings.is_empty()
            && self.mapping_paths.is_empty()
            && self.build_ids.is_empty()
    }
}

/// The function name of the frame that marks a cut stack.
pub const TRUNCATED: &str = "... (truncated: no frame pointer beyond)";
/// The function name of a frame with no known function.
const UNKNOWN: &str = "?";

/// Interned ids of what the trace has described so far. Every kind counts
/// its iids from 1 (0 is "none" for Perfetto).
#[derive(Default)]
pub struct Interner {
    strings: HashMap<(u8, Vec<u8>), u64>,
    mappings: HashMap<(Arc<str>, u64), u64>,
    frames: HashMap<(u64, u64, u64), u64>,
    callstacks: HashMap<Vec<u64>, u64>,
    next: [u64; 6],
}

/// Kinds of interned strings, and iid counters.
const FUNCTION: u8 = 0;
const BUILD_ID: u8 = 1;
const PATH: u8 = 2;
const MAPPING: usize = 3;
const FRAME: usize = 4;
const CALLSTACK: usize = 5;

impl Interner {
    /// The iid of `stack`'s callstack, interning what is new into `new`.
    pub fn callstack(&mut self, stack: &UserStack, new: &mut NewInterned) -> u64 {
        let mut frames: Vec<u64> = Vec::with_capacity(stack.ips.len() + 1);
        if stack.truncated {
            let mapping = self.mapping(None, new);
            frames.push(self.frame(TRUNCATED, mapping, 0, new));
        }
        let views: Vec<_> = stack.frames().collect();
        for view in views.iter().rev() {
            let mapping = self.mapping(view.mapping, new);
            let name = view.symbol.map_or(UNKNOWN, |s| &*s.name);
            let rel_pc = view.file_offset.unwrap_or(view.ip);
            frames.push(self.frame(name, mapping, rel_pc, new));
        }
        if let Some(&iid) = self.callstacks.get(&frames) {
            return iid;
        }
        let iid = self.next_iid(CALLSTACK);
        new.callstacks.push(Callstack {
            iid: Some(iid),
            frame_ids: frames.clone(),
        });
        self.callstacks.insert(frames, iid);
        iid
    }

    fn next_iid(&mut self, kind: usize) -> u64 {
        self.next[kind] += 1;
        self.next[kind]
    }

    fn string(&mut self, kind: u8, bytes: &[u8], new: &mut NewInterned) -> u64 {
        if let Some(&iid) = self.strings.get(&(kind, bytes.to_vec())) {
            return iid;
        }
        let iid = self.next_iid(usize::from(kind));
        let entry = InternedString {
            iid: Some(iid),
            str: Some(bytes.to_vec()),
        };
        match kind {
            FUNCTION => new.function_names.push(entry),
            BUILD_ID => new.build_ids.push(entry),
            _ => new.mapping_paths.push(entry),
        }
        self.strings.insert((kind, bytes.to_vec()), iid);
        iid
    }

    /// The mapping's iid (`None`: the one for frames outside every file).
    fn mapping(&mut self, mapping: Option<&crate::stacks::Mapping>, new: &mut NewInterned) -> u64 {
        let key = mapping.map_or_else(|| (Arc::from("?"), 0), |m| (m.path.clone(), m.start));
        if let Some(&iid) = self.mappings.get(&key) {
            return iid;
        }
        let iid = self.next_iid(MAPPING);
        let mut entry = Mapping {
            iid: Some(iid),
            ..Default::default()
        };
        if let Some(m) = mapping {
            entry.start = Some(m.start);
            entry.end = Some(m.end);
            entry.start_offset = Some(m.offset);
            entry.build_id = m.build_id.as_ref().map(|id| self.string(BUILD_ID, id, new));
            entry.path_string_ids = m
                .path
                .split('/')
                .filter(|part| !part.is_empty())
                .map(|part| self.string(PATH, part.as_bytes(), new))
                .collect();
        }
        new.mappings.push(entry);
        self.mappings.insert(key, iid);
        iid
    }

    fn frame(&mut self, name: &str, mapping: u64, rel_pc: u64, new: &mut NewInterned) -> u64 {
        let function = self.string(FUNCTION, name.as_bytes(), new);
        let key = (function, mapping, rel_pc);
        if let Some(&iid) = self.frames.get(&key) {
            return iid;
        }
        let iid = self.next_iid(FRAME);
        new.frames.push(Frame {
            iid: Some(iid),
            function_name_id: Some(function),
            mapping_id: Some(mapping),
            rel_pc: Some(rel_pc),
        });
        self.frames.insert(key, iid);
        iid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::{ProcessMaps, Symbol};

    fn stack(names: &[&str], truncated: bool) -> UserStack {
        let maps = ProcessMaps {
            tgid: 1,
            mappings: vec![crate::stacks::Mapping {
                start: 0x1000,
                end: 0x9000,
                offset: 0,
                path: "/usr/bin/prog".into(),
                build_id: Some(Arc::from(&b"\x01\x02"[..])),
            }],
        };
        UserStack {
            ips: (0..names.len() as u64).map(|i| 0x1000 + 0x10 * i).collect(),
            truncated,
            maps: Some(Arc::new(maps)),
            symbols: Some(
                names
                    .iter()
                    .map(|n| {
                        Some(Symbol {
                            name: (*n).into(),
                            offset: 0,
                        })
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn stacks_are_interned_once_outermost_first() {
        let mut interner = Interner::default();
        let mut new = NewInterned::default();
        let inner = stack(&["inner", "outer", "main"], false);
        let iid = interner.callstack(&inner, &mut new);
        assert_eq!(new.callstacks.len(), 1);
        let name_of = |frame: u64, new: &NewInterned| {
            let f = new.frames.iter().find(|f| f.iid == Some(frame)).unwrap();
            let n = new
                .function_names
                .iter()
                .find(|n| n.iid == f.function_name_id)
                .unwrap();
            String::from_utf8(n.str.clone().unwrap()).unwrap()
        };
        let names: Vec<_> = new.callstacks[0]
            .frame_ids
            .iter()
            .map(|&f| name_of(f, &new))
            .collect();
        assert_eq!(names, ["main", "outer", "inner"]);
        // The path is interned by components, the build id once.
        assert_eq!(new.mappings.len(), 1);
        assert_eq!(new.mappings[0].path_string_ids.len(), 3);
        assert_eq!(new.build_ids.len(), 1);

        // The same stack again: the same iid, nothing new to describe.
        let mut again = NewInterned::default();
        assert_eq!(interner.callstack(&inner, &mut again), iid);
        assert!(again.is_empty());

        // A cut stack says so in its outermost frame.
        let mut cut = NewInterned::default();
        let other = interner.callstack(&stack(&["inner"], true), &mut cut);
        assert_ne!(other, iid);
        let first = cut.callstacks[0].frame_ids[0];
        assert_eq!(name_of(first, &cut), TRUNCATED);
    }
}
