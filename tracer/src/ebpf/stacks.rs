//! `-k` in eBPF mode: turns the kernel's stack records back into
//! [`UserStack`]s for the syscall records that name them by id, so that
//! both modes feed one symbolization and output path.
//!
//! The kernel sends each distinct stack of a process once ([`StackRecord`]):
//! its addresses, and its own resolution of each to a build id and file
//! offset, made while the process lived. Here the addresses are read
//! against the process's `/proc/PID/maps` when it still has them and they
//! agree with the kernel's resolution (the same [`MapsCache`] as ptrace
//! mode: at the first stack, again when a frame falls outside). When the
//! process is gone (or has exec'd since), the mappings are made from the
//! kernel's resolution: each frame's file found by its build id among the
//! files seen mapped, or, for a position-dependent executable without
//! one (Go), by the fixed addresses of the file the process exec'd.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use tracer_common::{BuildIdFrame, STACK_CUT, StackRecord, stack};

use crate::{
    clock::clock_ns,
    stacks::{
        Mapping, ProcessMaps, UserStack,
        exe::ExeFile,
        maps::{MapsCache, build_id_key, cut_at_unmapped},
    },
};

/// A stack as the kernel sent it, resolved.
#[derive(Debug)]
struct Known {
    tgid: u32,
    ips: Vec<u64>,
    truncated: bool,
    maps: Option<Arc<ProcessMaps>>,
}

/// Bounds the stacks remembered: past it they are all forgotten, and the
/// kernel is asked to send again the ones that recur.
const MAX_KNOWN: usize = 1 << 16;

/// The stacks of the run, by id.
pub struct StackTable {
    known: HashMap<u64, Known>,
    maps: MapsCache,
    /// The file each process last exec'd.
    exe: HashMap<u32, Arc<ExeFile>>,
    /// Ids named by syscall records but never sent (their record lost, or
    /// forgotten here): the kernel is to forget them too, so that they
    /// are sent again.
    unknown: Vec<u64>,
    /// Syscalls whose stack was so missed.
    pub missed: u64,
}

impl Default for StackTable {
    fn default() -> Self {
        let mut maps = MapsCache::default();
        // tracer's own libraries (libc, the dynamic loader) are most
        // programs' too: their build ids name frames of processes that are
        // gone before their maps were read.
        let _ = maps.reader.read(std::process::id());
        Self {
            known: HashMap::new(),
            maps,
            exe: HashMap::new(),
            unknown: Vec::new(),
            missed: 0,
        }
    }
}

impl std::fmt::Debug for StackTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackTable")
            .field("known", &self.known.len())
            .field("missed", &self.missed)
            .finish_non_exhaustive()
    }
}

impl StackTable {
    /// A stack record: its header, addresses and build-id frames.
    pub fn record(&mut self, header: &StackRecord, ips: Vec<u64>, resolved: &[BuildIdFrame]) {
        if ips.is_empty() {
            return;
        }
        if self.known.len() >= MAX_KNOWN {
            self.known.clear();
        }
        let tgid = header.tgid;
        let mut ips = ips;
        let mut truncated = header.flags & STACK_CUT != 0;
        let live = self
            .maps
            .for_stack(tgid, &ips, clock_ns(libc::CLOCK_MONOTONIC))
            .filter(|maps| agrees(maps, &ips, resolved));
        let maps = live.or_else(|| self.kernel_maps(tgid, &ips, resolved));
        if let Some(maps) = &maps {
            cut_at_unmapped(&mut ips, &mut truncated, maps);
        }
        self.known.insert(
            header.id,
            Known {
                tgid,
                ips,
                truncated,
                maps,
            },
        );
    }

    /// The stack with id `id`, for a syscall record that names it.
    pub fn stack(&mut self, id: u64) -> Option<Box<UserStack>> {
        match self.known.get(&id) {
            Some(known) => Some(Box::new(UserStack {
                ips: known.ips.clone(),
                truncated: known.truncated,
                maps: known.maps.clone(),
                symbols: None,
            })),
            None => {
                self.missed += 1;
                self.unknown.push(id);
                None
            }
        }
    }

    /// Process `tgid` exec'd `path` (as given to `execve`: relative to
    /// its working directory, which is read while it lives).
    pub fn exec_file(&mut self, tgid: u32, path: &[u8]) {
        use std::os::unix::ffi::OsStrExt as _;
        let mut path = PathBuf::from(std::ffi::OsStr::from_bytes(path));
        if path.is_relative() {
            // Its working directory while it lives; else ours, a guess the
            // symbolizer checks by build id before it trusts the file.
            match std::fs::read_link(format!("/proc/{tgid}/cwd")) {
                Ok(cwd) => path = cwd.join(path),
                Err(_) => {
                    if let Ok(absolute) = std::fs::canonicalize(&path) {
                        path = absolute;
                    }
                }
            }
        }
        match ExeFile::read(&path) {
            Ok(exe) => {
                if let Some(id) = &exe.build_id {
                    self.maps
                        .reader
                        .learn(Arc::clone(id), Arc::clone(&exe.path));
                }
                self.exe.insert(tgid, Arc::new(exe));
            }
            Err(_) => {
                self.exe.remove(&tgid);
            }
        }
    }

    /// Process `tgid` exec'd: its mappings are no longer the ones read.
    pub fn exec(&mut self, tgid: u32) {
        self.maps.forget(tgid);
    }

    /// Process `tgid` is gone: what was kept of it is not needed again.
    pub fn exited(&mut self, tgid: u32) {
        self.maps.forget(tgid);
        self.exe.remove(&tgid);
        self.known.retain(|_, known| known.tgid != tgid);
    }

    /// The ids to have the kernel forget (see [`StackTable::unknown`]).
    pub fn take_unknown(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.unknown)
    }

    /// Mappings for the frames from the kernel's resolution.
    fn kernel_maps(
        &self,
        tgid: u32,
        ips: &[u64],
        resolved: &[BuildIdFrame],
    ) -> Option<Arc<ProcessMaps>> {
        let exe = self.exe.get(&tgid);
        let mut mappings: Vec<Mapping> = Vec::new();
        for (i, &ip) in ips.iter().enumerate() {
            let frame = resolved.get(i);
            if let Some(frame) = frame.filter(|f| f.status == stack::BUILD_ID_VALID) {
                let (path, build_id) = match self.maps.reader.path_of(&frame.build_id) {
                    Some(known) => known,
                    None => {
                        let hex: String =
                            frame.build_id.iter().map(|b| format!("{b:02x}")).collect();
                        (
                            format!("?build-id={hex}").into(),
                            Arc::from(&frame.build_id[..]),
                        )
                    }
                };
                mappings.push(Mapping {
                    start: ip,
                    end: ip + 1,
                    offset: frame.offset_or_ip,
                    path,
                    build_id: Some(build_id),
                });
            } else if let Some(exe) = exe
                && let Some(segment) = exe.segment(ip)
            {
                mappings.push(Mapping {
                    start: segment.vaddr,
                    end: segment.vaddr + segment.memsz,
                    offset: segment.offset,
                    path: Arc::clone(&exe.path),
                    build_id: exe.build_id.clone(),
                });
            }
        }
        if mappings.is_empty() {
            return None;
        }
        mappings.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end)));
        // Sorted, not overlapping: a frame inside a segment already there
        // is covered by it.
        let mut sorted: Vec<Mapping> = Vec::with_capacity(mappings.len());
        for m in mappings {
            if sorted.last().is_none_or(|last| m.start >= last.end) {
                sorted.push(m);
            }
        }
        Some(Arc::new(ProcessMaps {
            tgid,
            mappings: sorted,
        }))
    }
}

/// Whether `maps` (read from `/proc` now) agree with what the kernel
/// resolved when it took the stack: each resolved frame is in a mapping
/// of that file (where the mapping's build id is known) at that offset.
/// They do not when the process exec'd in between.
fn agrees(maps: &ProcessMaps, ips: &[u64], resolved: &[BuildIdFrame]) -> bool {
    ips.iter().zip(resolved).all(|(&ip, frame)| {
        if frame.status != stack::BUILD_ID_VALID {
            return true;
        }
        maps.find(ip).is_some_and(|m| {
            m.file_offset(ip) == frame.offset_or_ip
                && m.build_id
                    .as_ref()
                    .is_none_or(|id| build_id_key(id) == frame.build_id)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn a_known_function() -> u64 {
        std::hint::black_box(a_known_function as *const () as usize as u64)
    }

    /// What the kernel would send for an address of this process.
    fn resolved_frame(ip: u64) -> BuildIdFrame {
        let maps = crate::stacks::maps::MapsReader::default()
            .read(std::process::id())
            .unwrap();
        let m = maps.find(ip).unwrap();
        BuildIdFrame {
            status: stack::BUILD_ID_VALID,
            build_id: build_id_key(m.build_id.as_ref().unwrap()),
            offset_or_ip: m.file_offset(ip),
        }
    }

    #[test]
    fn frames_of_a_gone_process_map_through_the_kernels_build_ids() {
        let ip = a_known_function() + 1;
        let mut table = StackTable::default();
        let mut frame = resolved_frame(ip);
        // Not a live process: only the kernel's resolution can map it.
        let header = StackRecord {
            tgid: u32::MAX,
            id: 7,
            ..Default::default()
        };
        table.record(&header, vec![ip, 1], &[frame, BuildIdFrame::default()]);
        let mut stack = table.stack(7).unwrap();
        // The bogus return address is cut, and the stack marked so.
        assert_eq!((stack.ips.clone(), stack.truncated), (vec![ip], true));
        crate::stacks::symbolize::Symbolizer::default().symbolize(&mut stack);
        assert!(stack.names()[0].ends_with("a_known_function"));

        // An unknown build id: the frame keeps its file offset, no name.
        frame.build_id = [0xab; 20];
        table.record(&StackRecord { id: 8, ..header }, vec![ip], &[frame]);
        let stack = table.stack(8).unwrap();
        let view = stack.frames().next().unwrap();
        assert!(view.mapping.unwrap().path.starts_with("?build-id=abab"));
        assert_eq!(view.file_offset, Some(frame.offset_or_ip));

        // An id never sent is missed, and handed back to be forgotten.
        assert!(table.stack(9).is_none());
        assert_eq!((table.missed, table.take_unknown()), (1, vec![9]));
    }

    #[test]
    fn live_maps_that_disagree_with_the_kernel_are_not_used() {
        let ip = a_known_function();
        let maps = crate::stacks::maps::MapsReader::default()
            .read(std::process::id())
            .unwrap();
        let frame = resolved_frame(ip);
        assert!(agrees(&maps, &[ip], &[frame]));
        let moved = BuildIdFrame {
            offset_or_ip: frame.offset_or_ip + 16,
            ..frame
        };
        assert!(!agrees(&maps, &[ip], &[moved]));
        let other = BuildIdFrame {
            build_id: [1; 20],
            ..frame
        };
        assert!(!agrees(&maps, &[ip], &[other]));
    }
}
