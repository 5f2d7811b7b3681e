//! The executable mappings of a process, read from `/proc/PID/maps` while
//! it lives (at its first stack, again after an exec or when a frame falls
//! outside every known mapping), with each file's ELF build id, so that
//! its addresses can be symbolized after it is gone, and a recording can
//! tell whether the file on disk is still the one that ran. Both sources
//! keep them in one [`MapsCache`], which decides when to read again.

use std::{collections::HashMap, fs, io, sync::Arc};

/// One executable file mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// Offset in the file of `start`.
    pub offset: u64,
    /// The file, as `/proc/PID/maps` names it (` (deleted)` removed).
    pub path: Arc<str>,
    /// The file's ELF build id (`NT_GNU_BUILD_ID`), where it has one.
    pub build_id: Option<Arc<[u8]>>,
}

impl Mapping {
    /// Offset in the file of address `ip` (which it contains).
    pub fn file_offset(&self, ip: u64) -> u64 {
        ip - self.start + self.offset
    }
}

/// The executable mappings of process `tgid`, by address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessMaps {
    pub tgid: u32,
    /// Sorted by `start`, not overlapping.
    pub mappings: Vec<Mapping>,
}

impl ProcessMaps {
    /// The mapping that contains `ip`.
    pub fn find(&self, ip: u64) -> Option<&Mapping> {
        let i = self.mappings.partition_point(|m| m.start <= ip);
        let m = self.mappings.get(i.checked_sub(1)?)?;
        (ip < m.end).then_some(m)
    }
}

/// One line of `/proc/PID/maps` that maps a file executable:
/// `(start, end, offset, (dev, inode), path)`.
type MapsLine<'a> = (u64, u64, u64, (&'a str, u64), &'a str);

/// Parses a `/proc/PID/maps` line; `None` for anonymous or non-executable
/// mappings (and pseudo-files such as `[vdso]`, which have no file).
fn parse_line(line: &str) -> Option<MapsLine<'_>> {
    let mut fields = line.splitn(6, ' ');
    let (range, perms, offset, dev, inode) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let path = fields.next()?.trim_start();
    if perms.as_bytes().get(2) != Some(&b'x') || !path.starts_with('/') {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    Some((
        u64::from_str_radix(start, 16).ok()?,
        u64::from_str_radix(end, 16).ok()?,
        u64::from_str_radix(offset, 16).ok()?,
        (dev, inode.parse().ok()?),
        path,
    ))
}

/// A file's path and build id (as read from it).
pub type KnownFile = (Arc<str>, Arc<[u8]>);

/// Reads maps, with a cache of build ids per file (device and inode), so
/// that re-reading a process's maps, or another process's that maps the
/// same libraries, does not open every file again.
#[derive(Default)]
pub struct MapsReader {
    build_ids: HashMap<(String, u64), Option<Arc<[u8]>>>,
    /// Every file with a build id seen mapped (or learned otherwise), by
    /// build id (as the kernel gives it: see [`build_id_key`]), with its
    /// build id as read: what names a frame the kernel resolved.
    paths: HashMap<[u8; 20], KnownFile>,
}

impl MapsReader {
    /// The executable file mappings of `tgid` now.
    pub fn read(&mut self, tgid: u32) -> io::Result<ProcessMaps> {
        let text = fs::read_to_string(format!("/proc/{tgid}/maps"))?;
        let mut mappings = Vec::new();
        for line in text.lines() {
            let Some((start, end, offset, (dev, inode), path)) = parse_line(line) else {
                continue;
            };
            let path = path.strip_suffix(" (deleted)").unwrap_or(path);
            let build_id = self
                .build_ids
                .entry((dev.to_owned(), inode))
                .or_insert_with(|| {
                    // Through map_files: the mapped file itself, even if
                    // its path was deleted or replaced since.
                    let mapped = format!("/proc/{tgid}/map_files/{start:x}-{end:x}");
                    [mapped.as_str(), path].iter().find_map(|p| {
                        blazesym::helper::read_elf_build_id(p)
                            .ok()
                            .flatten()
                            .map(|id| Arc::from(&*id))
                    })
                })
                .clone();
            if let Some(id) = &build_id {
                self.paths
                    .insert(build_id_key(id), (path.into(), Arc::clone(id)));
            }
            mappings.push(Mapping {
                start,
                end,
                offset,
                path: path.into(),
                build_id,
            });
        }
        mappings.sort_by_key(|m| m.start);
        Ok(ProcessMaps { tgid, mappings })
    }

    /// The file last seen with build id `id`, and its build id as read.
    pub fn path_of(&self, id: &[u8]) -> Option<KnownFile> {
        self.paths.get(&build_id_key(id)).cloned()
    }

    /// Remembers that `path` has build id `id`.
    pub fn learn(&mut self, id: Arc<[u8]>, path: Arc<str>) {
        self.paths.insert(build_id_key(&id), (path, id));
    }
}

/// A build id as the kernel hands it to eBPF programs: 20 bytes (the
/// size of a SHA-1 one, the most it copies), zero-padded.
pub fn build_id_key(id: &[u8]) -> [u8; 20] {
    let mut key = [0; 20];
    let n = id.len().min(20);
    key[..n].copy_from_slice(&id[..n]);
    key
}

/// A process's maps are read again, when a frame falls outside them, at
/// most this often.
const MAPS_REREAD_NS: u64 = 50_000_000;

/// The maps of each process as last read (until it execs), and when.
#[derive(Default)]
pub struct MapsCache {
    maps: HashMap<u32, (Arc<ProcessMaps>, u64)>,
    pub reader: MapsReader,
}

impl MapsCache {
    /// The maps to read the stack `ips` of `tgid` against, at time `now`.
    /// Read at a process's first stack, and again when a frame is outside
    /// them (a library loaded since): at once for the instruction pointer,
    /// which is surely mapped, at most every `MAPS_REREAD_NS` for return
    /// addresses (a chain through code without frame pointers yields bogus
    /// ones at every call). `None` when they cannot be read (the process
    /// is gone) and none were read before.
    pub fn for_stack(&mut self, tgid: u32, ips: &[u64], now: u64) -> Option<Arc<ProcessMaps>> {
        let covered =
            |maps: &ProcessMaps, ips: &[u64]| ips.iter().all(|&ip| maps.find(ip).is_some());
        match self.maps.get(&tgid) {
            Some((maps, read_ns))
                if covered(maps, &ips[..ips.len().min(1)])
                    && (covered(maps, ips) || now.saturating_sub(*read_ns) < MAPS_REREAD_NS) =>
            {
                Some(Arc::clone(maps))
            }
            _ => match self.reader.read(tgid) {
                Ok(maps) if !maps.mappings.is_empty() => {
                    let maps = Arc::new(maps);
                    self.maps.insert(tgid, (Arc::clone(&maps), now));
                    Some(maps)
                }
                // A zombie's maps are empty: as good as gone.
                _ => self.maps.get(&tgid).map(|(maps, _)| Arc::clone(maps)),
            },
        }
    }

    /// Process `tgid` exec'd or exited: its mappings say nothing of what
    /// comes next.
    pub fn forget(&mut self, tgid: u32) {
        self.maps.remove(&tgid);
    }
}

/// Cuts `ips` at the first return address outside every executable
/// mapping, which is not one (the chain went through code that uses the
/// frame pointer register for something else), and marks it truncated.
pub fn cut_at_unmapped(ips: &mut Vec<u64>, truncated: &mut bool, maps: &ProcessMaps) {
    if let Some(bad) = ips.iter().skip(1).position(|&ip| maps.find(ip).is_none()) {
        ips.truncate(bad + 1);
        *truncated = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_executable_file_mappings_only() {
        let exec = "55d0c0a00000-55d0c0a20000 r-xp 00002000 08:01 1234 /usr/bin/cat";
        assert_eq!(
            parse_line(exec),
            Some((
                0x55d0c0a00000,
                0x55d0c0a20000,
                0x2000,
                ("08:01", 1234),
                "/usr/bin/cat"
            ))
        );
        let spaced = "1000-2000 r-xp 00000000 08:01 7          /tmp/a b (deleted)";
        assert_eq!(parse_line(spaced).unwrap().4, "/tmp/a b (deleted)");
        for line in [
            "1000-2000 r--p 00000000 08:01 1234 /usr/bin/cat",
            "1000-2000 r-xp 00000000 00:00 0 [vdso]",
            "1000-2000 rw-p 00000000 00:00 0",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
    }

    #[test]
    fn own_maps_cover_own_code_with_a_build_id() {
        let maps = MapsReader::default().read(std::process::id()).unwrap();
        let ip = own_maps_cover_own_code_with_a_build_id as *const () as usize as u64;
        let m = maps
            .find(ip)
            .expect("this function is in an executable mapping");
        let exe = fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(&*m.path, exe.to_str().unwrap());
        assert!(m.build_id.as_ref().is_some_and(|id| !id.is_empty()));
        assert!(maps.find(0).is_none());
    }
}
