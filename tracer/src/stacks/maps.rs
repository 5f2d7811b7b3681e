//! The executable mappings of a process, read from `/proc/PID/maps` while
//! it lives (at its first stack, again after an exec or when a frame falls
//! outside every known mapping), with each file's ELF build id, so that
//! its addresses can be symbolized after it is gone, and a recording can
//! tell whether the file on disk is still the one that ran.

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

/// Reads maps, with a cache of build ids per file (device and inode), so
/// that re-reading a process's maps, or another process's that maps the
/// same libraries, does not open every file again.
#[derive(Default)]
pub struct MapsReader {
    build_ids: HashMap<(String, u64), Option<Arc<[u8]>>>,
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
