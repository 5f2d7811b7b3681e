//! The file a process exec'd, read when the exec is seen: its build id,
//! and for a position-dependent executable (`ET_EXEC`: Go's default, and
//! Go binaries carry no GNU build id) the addresses its code is loaded
//! at, which its ELF program headers fix. With these, frames of a process
//! that exited before its `/proc/PID/maps` could be read still map to a
//! file (eBPF mode, where nothing stops the process).

use std::{fs, io, path::Path, sync::Arc};

/// A loaded executable segment of an `ET_EXEC` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
}

/// What is known of an executable file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExeFile {
    pub path: Arc<str>,
    pub build_id: Option<Arc<[u8]>>,
    /// Its executable segments, when their addresses are fixed
    /// (`ET_EXEC`); empty for a position-independent one.
    pub segments: Vec<Segment>,
}

impl ExeFile {
    /// Reads `path` now.
    pub fn read(path: &Path) -> io::Result<Self> {
        let bytes = read_head(path)?;
        Ok(Self {
            path: path.to_string_lossy().into(),
            build_id: blazesym::helper::read_elf_build_id(path)
                .ok()
                .flatten()
                .map(|id| Arc::from(&*id)),
            segments: fixed_segments(&bytes).unwrap_or_default(),
        })
    }

    /// The fixed segment that holds address `ip`.
    pub fn segment(&self, ip: u64) -> Option<Segment> {
        self.segments
            .iter()
            .copied()
            .find(|s| (s.vaddr..s.vaddr + s.memsz).contains(&ip))
    }
}

/// The start of a file: its ELF header and program headers.
fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(64 * 1024)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

const ET_EXEC: u16 = 2;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;

/// The executable `PT_LOAD` segments of an ELF64 little-endian `ET_EXEC`
/// file; `None` for anything else (or program headers beyond `head`).
fn fixed_segments(head: &[u8]) -> Option<Vec<Segment>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(head.get(at..at + 8)?.try_into().ok()?));
    // ELF magic, 64-bit, little-endian.
    if head.get(..6)? != b"\x7fELF\x02\x01" || u16_at(16)? != ET_EXEC {
        return None;
    }
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let (phentsize, phnum) = (usize::from(u16_at(54)?), usize::from(u16_at(56)?));
    let mut segments = Vec::new();
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(ph)? == PT_LOAD && u32_at(ph + 4)? & PF_X != 0 {
            segments.push(Segment {
                offset: u64_at(ph + 8)?,
                vaddr: u64_at(ph + 16)?,
                memsz: u64_at(ph + 40)?,
            });
        }
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_dependent_file_has_fixed_segments_and_others_none() {
        // An ELF64 ET_EXEC header with one program header: PT_LOAD, R+X,
        // offset 0x1000 loaded at 0x401000, 0x2000 bytes.
        let mut head = vec![0u8; 64 + 56];
        head[..6].copy_from_slice(b"\x7fELF\x02\x01");
        head[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        head[32..40].copy_from_slice(&64u64.to_le_bytes());
        head[54..56].copy_from_slice(&56u16.to_le_bytes());
        head[56..58].copy_from_slice(&1u16.to_le_bytes());
        head[64..68].copy_from_slice(&PT_LOAD.to_le_bytes());
        head[68..72].copy_from_slice(&5u32.to_le_bytes());
        head[72..80].copy_from_slice(&0x1000u64.to_le_bytes());
        head[80..88].copy_from_slice(&0x401000u64.to_le_bytes());
        head[104..112].copy_from_slice(&0x2000u64.to_le_bytes());
        let segments = fixed_segments(&head).unwrap();
        assert_eq!(
            segments,
            [Segment {
                vaddr: 0x401000,
                memsz: 0x2000,
                offset: 0x1000
            }]
        );
        // A PIE (ET_DYN) has no fixed addresses; a cut header none either.
        head[16..18].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(fixed_segments(&head), None);
        assert_eq!(fixed_segments(&head[..20]), None);
        // This test binary is a PIE with a build id.
        let own = ExeFile::read(&fs::read_link("/proc/self/exe").unwrap()).unwrap();
        assert!(own.segments.is_empty() && own.build_id.is_some());
    }
}
