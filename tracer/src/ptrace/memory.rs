//! Reading strings out of a stopped tracee: `process_vm_readv`, one call per
//! page at most, falling back to `PTRACE_PEEKDATA` word by word where it is
//! not allowed (some sandboxes deny it) .

use std::io::IoSliceMut;

use nix::{
    sys::{
        ptrace,
        uio::{RemoteIoVec, process_vm_readv},
    },
    unistd::Pid,
};

use crate::event::ArgString;

/// Longest string read: `PATH_MAX`.
pub const MAX_STRING: usize = 4096;
const PAGE: usize = 4096;

/// Reads the NUL-terminated string at `addr` in `pid`, up to `MAX_STRING`
/// bytes. `None` when nothing could be read (NULL, unmapped).
pub fn read_string(pid: Pid, addr: u64) -> Option<ArgString> {
    if addr == 0 {
        return None;
    }
    let mut bytes = Vec::new();
    let mut at = addr as usize;
    while bytes.len() < MAX_STRING {
        // Up to the end of the page: the next one may be unmapped.
        let len = (PAGE - at % PAGE).min(MAX_STRING - bytes.len());
        let mut chunk = [0u8; PAGE];
        let n = read_chunk(pid, at, &mut chunk[..len]);
        if n == 0 {
            break;
        }
        if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
            bytes.extend_from_slice(&chunk[..nul]);
            return Some(ArgString {
                bytes,
                truncated: false,
            });
        }
        bytes.extend_from_slice(&chunk[..n]);
        if n < len {
            break;
        }
        at += n;
    }
    (!bytes.is_empty()).then_some(ArgString {
        bytes,
        truncated: true,
    })
}

fn read_chunk(pid: Pid, at: usize, buf: &mut [u8]) -> usize {
    let remote = [RemoteIoVec {
        base: at,
        len: buf.len(),
    }];
    match process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote) {
        Ok(n) => n,
        Err(_) => peek(pid, at, buf),
    }
}

/// The slow path: one `PTRACE_PEEKDATA` per word.
fn peek(pid: Pid, at: usize, buf: &mut [u8]) -> usize {
    const WORD: usize = size_of::<libc::c_long>();
    let mut done = 0;
    while done < buf.len() {
        let addr = at + done;
        let aligned = addr - addr % WORD;
        let Ok(word) = ptrace::read(pid, aligned as ptrace::AddressType) else {
            break;
        };
        let word = word.to_ne_bytes();
        let skip = addr - aligned;
        let take = (WORD - skip).min(buf.len() - done);
        buf[done..done + take].copy_from_slice(&word[skip..skip + take]);
        done += take;
        if word[skip..skip + take].contains(&0) {
            break;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_strings() {
        // process_vm_readv on ourselves needs no ptrace relationship.
        let me = Pid::this();
        let s = c"/etc/hosts";
        let read = read_string(me, s.as_ptr() as u64).unwrap();
        assert_eq!(read.bytes, b"/etc/hosts");
        assert!(!read.truncated);
        assert_eq!(read_string(me, 0), None);

        let long = std::ffi::CString::new(vec![b'x'; MAX_STRING + 10]).unwrap();
        let read = read_string(me, long.as_ptr() as u64).unwrap();
        assert_eq!(read.bytes.len(), MAX_STRING);
        assert!(read.truncated);
    }
}
