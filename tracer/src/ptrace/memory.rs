//! Reading strings, data buffers and structures out of a stopped tracee:
//! `process_vm_readv`, falling back to `PTRACE_PEEKDATA` word by word where
//! it is not allowed (some sandboxes deny it).

use std::io::IoSliceMut;

use nix::{
    sys::{
        ptrace,
        uio::{RemoteIoVec, process_vm_readv},
    },
    unistd::Pid,
};

use tracer_common::{MAX_ARGS, StructSpec, capture, structs};

use crate::{
    event::{ArgString, DataCapture},
    syscalls::structs::plain_len,
};

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
        let n = read_chunk(pid, at, &mut chunk[..len], true);
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

/// Reads `buf.len()` bytes at `at`; returns how many could be read. With
/// `to_nul`, the slow path stops at a NUL.
fn read_chunk(pid: Pid, at: usize, buf: &mut [u8], to_nul: bool) -> usize {
    let remote = [RemoteIoVec {
        base: at,
        len: buf.len(),
    }];
    match process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote) {
        Ok(n) => n,
        Err(_) => peek(pid, at, buf, to_nul),
    }
}

/// Reads a plain value (an iovec, a msghdr field) from the tracee.
fn read_words<const N: usize>(pid: Pid, at: u64) -> Option<[u64; N]> {
    let mut bytes = [0u8; 64];
    let len = N * 8;
    if len > bytes.len() || read_chunk(pid, at as usize, &mut bytes[..len], false) < len {
        return None;
    }
    let mut words = [0u64; N];
    for (i, word) in words.iter_mut().enumerate() {
        *word = u64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().ok()?);
    }
    Some(words)
}

/// Walks the frame-pointer chain of a stopped thread from its `ip` and
/// frame pointer `fp` (`rip`, `rbp`): each frame holds the caller's frame
/// pointer, then the return address. Returns the instruction pointers,
/// innermost first, and whether the walk was cut short: it stops
/// cleanly at a zero frame pointer (the outermost frame), and is cut
/// short by unreadable memory, a chain that does not go up the stack
/// (code without frame pointers uses `rbp` for other things), or `max`.
/// The caller of a function that set up no frame (a libc syscall wrapper)
/// is not seen: only DWARF unwinding could find it.
pub fn walk_frames(pid: Pid, ip: u64, mut fp: u64, max: usize) -> (Vec<u64>, bool) {
    let mut ips = vec![ip];
    loop {
        if fp == 0 {
            return (ips, false);
        }
        if ips.len() >= max || !fp.is_multiple_of(8) {
            return (ips, true);
        }
        let Some([next, ret]) = read_words::<2>(pid, fp) else {
            return (ips, true);
        };
        if ret == 0 {
            return (ips, false);
        }
        ips.push(ret);
        if next != 0 && next <= fp {
            return (ips, true);
        }
        fp = next;
    }
}

/// Byte offset of `msg_iov` in `struct msghdr`.
const MSGHDR_IOV: u64 = 16;
/// Most iovec entries gathered, as on the eBPF side.
const MAX_IOV: u64 = capture::MAX_IOV as u64;

/// Reads up to `limit` bytes of the data of a syscall whose capture mode is
/// `mode` (`tracer_common::capture`), `total` being the bytes it moved
/// (the count for writes, the return value for reads). Mirrors the eBPF
/// side, so both modes capture the same bytes.
pub fn read_data(
    pid: Pid,
    mode: u8,
    args: &[u64; MAX_ARGS],
    total: u64,
    limit: usize,
) -> Option<DataCapture> {
    // The same hard cap as the eBPF side, whatever the caller asks.
    let limit = limit.min(capture::MAX_DATA as usize);
    let want = total.min(limit as u64) as usize;
    let mut bytes = vec![0u8; want];
    let mut copied = 0;
    let (iov, count) = match mode {
        capture::BUF_IN | capture::BUF_OUT => {
            copied = read_chunk(pid, args[1] as usize, &mut bytes, false);
            (0, 0)
        }
        capture::IOV_IN | capture::IOV_OUT => (args[1], args[2]),
        capture::MSG_IN | capture::MSG_OUT => {
            let [iov, count] = read_words::<2>(pid, args[1].wrapping_add(MSGHDR_IOV))?;
            (iov, count)
        }
        _ => return None,
    };
    // Bytes left behind: a longer buffer, iovecs not visited (for inputs,
    // whose `total` is unknown: `u64::MAX`).
    let mut more = false;
    let mut i = 0;
    while i < count.min(MAX_IOV) {
        if copied >= want {
            more = true;
            break;
        }
        let Some([base, len]) = read_words::<2>(pid, iov.wrapping_add(i * 16)) else {
            more = true;
            break;
        };
        let n = (len as usize).min(want - copied);
        more |= len as usize > n;
        let got = read_chunk(pid, base as usize, &mut bytes[copied..copied + n], false);
        copied += got;
        if got < n {
            more = true;
            break;
        }
        i += 1;
    }
    if i == MAX_IOV && count > MAX_IOV {
        more = true;
    }
    if copied == 0 && want > 0 {
        return None;
    }
    bytes.truncate(copied);
    Some(DataCapture {
        truncated: if total == u64::MAX {
            more
        } else {
            total > copied as u64
        },
        bytes,
    })
}

/// Reads the structure `spec` describes (a row of
/// `crate::syscalls::structs`) for a call with `args`, at exit `ret`:
/// what the eBPF side captures for the same row, byte for byte. `None`
/// when there is nothing to take or it cannot all be read.
pub fn read_struct(
    pid: Pid,
    spec: &StructSpec,
    args: &[u64; MAX_ARGS],
    ret: Option<i64>,
) -> Option<Vec<u8>> {
    let at = *args.get(usize::from(spec.arg))?;
    if at == 0 {
        return None;
    }
    let limit = u32::from(spec.bytes);
    match spec.size {
        structs::DIRENT_COUNT => {
            let total = ret.filter(|&r| r >= 0)? as usize;
            Some(count_dirents(pid, at, total, limit).to_ne_bytes().to_vec())
        }
        structs::STR_ARRAY => {
            let mut bytes = Vec::new();
            for ptr in read_pointers(pid, at, limit as usize)? {
                let mut s = [0u8; structs::STR_BYTES as usize];
                let n = read_chunk(pid, ptr as usize, &mut s, true);
                let end = s[..n].iter().position(|&b| b == 0).unwrap_or(n);
                bytes.extend_from_slice(&s[..end]);
                bytes.push(0);
            }
            Some(bytes)
        }
        structs::PTR_COUNT => {
            let n = read_pointers(pid, at, limit as usize)?.len() as u32;
            Some(n.to_ne_bytes().to_vec())
        }
        _ => {
            let deref = (spec.size == structs::SIZE_DEREF)
                .then(|| {
                    let mut b = [0u8; 4];
                    let ptr = *args.get(usize::from(spec.size_arg))?;
                    (read_chunk(pid, ptr as usize, &mut b, false) == 4)
                        .then(|| u32::from_ne_bytes(b))
                })
                .flatten();
            let len = plain_len(spec, args, ret, deref)? as usize;
            let mut bytes = vec![0u8; len];
            (read_chunk(pid, at as usize, &mut bytes, false) == len).then_some(bytes)
        }
    }
}

/// Most pointers [`read_pointers`] asks for at once: an ordinary
/// environment in one read, and no more than this many words past the
/// NULL when reads fall back to one `PTRACE_PEEKDATA` per word.
const POINTER_CHUNK: usize = 64;

/// The pointers of the NULL-terminated array at `at` (argv, envp), at
/// most `limit` of them, read up to [`POINTER_CHUNK`] at a time (never
/// across a page): one read for an environment of a few dozen variables,
/// where a read per pointer made a traced `execve` cost twice what it
/// does under strace. `None` when memory ends before the NULL does (as a
/// read per pointer would fail).
fn read_pointers(pid: Pid, at: u64, limit: usize) -> Option<Vec<u64>> {
    const WORD: usize = size_of::<u64>();
    let mut ptrs = Vec::new();
    let mut addr = at as usize;
    let mut page = [0u8; POINTER_CHUNK * WORD];
    while ptrs.len() < limit {
        let want = (PAGE - addr % PAGE)
            .min((limit - ptrs.len()) * WORD)
            .min(page.len());
        // A pointer straddling pages is read with the next page.
        let want = if want < WORD {
            WORD
        } else {
            want - want % WORD
        };
        let got = read_chunk(pid, addr, &mut page[..want], false);
        if got < WORD {
            return None;
        }
        for word in page[..got - got % WORD].chunks_exact(WORD) {
            let ptr = u64::from_ne_bytes(word.try_into().ok()?);
            if ptr == 0 {
                return Some(ptrs);
            }
            ptrs.push(ptr);
            if ptrs.len() == limit {
                return Some(ptrs);
            }
        }
        addr += got - got % WORD;
    }
    Some(ptrs)
}

/// `d_reclen`'s offset in `struct linux_dirent64`.
const DIRENT_RECLEN: u64 = 16;

/// Counts the `linux_dirent64` records in the `total` bytes at `at`, by
/// their `d_reclen`, at most `limit` of them.
fn count_dirents(pid: Pid, at: u64, total: usize, limit: u32) -> u32 {
    let mut buf = vec![0u8; total];
    let got = read_chunk(pid, at as usize, &mut buf, false);
    let mut off = 0usize;
    let mut n = 0;
    while n < limit && off + DIRENT_RECLEN as usize + 2 <= got {
        let i = off + DIRENT_RECLEN as usize;
        let reclen = u16::from_ne_bytes([buf[i], buf[i + 1]]);
        if reclen == 0 {
            break;
        }
        off += usize::from(reclen);
        n += 1;
    }
    n
}

/// The slow path: one `PTRACE_PEEKDATA` per word.
fn peek(pid: Pid, at: usize, buf: &mut [u8], to_nul: bool) -> usize {
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
        if to_nul && word[skip..skip + take].contains(&0) {
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

    #[test]
    fn reads_own_buffers_and_iovecs() {
        let me = Pid::this();
        let data = b"GET / HTTP/1.1\r\nX-Request-Id: ab\r\n";
        let mut args = [0u64; MAX_ARGS];
        args[1] = data.as_ptr() as u64;
        let got = read_data(me, capture::BUF_IN, &args, data.len() as u64, 8).unwrap();
        assert_eq!((got.bytes.as_slice(), got.truncated), (&data[..8], true));
        let got = read_data(me, capture::BUF_OUT, &args, 3, 512).unwrap();
        assert_eq!((got.bytes.as_slice(), got.truncated), (&data[..3], false));

        let (a, b) = (b"hello ", b"world");
        let iov = [
            libc::iovec {
                iov_base: a.as_ptr() as *mut _,
                iov_len: a.len(),
            },
            libc::iovec {
                iov_base: b.as_ptr() as *mut _,
                iov_len: b.len(),
            },
        ];
        args[1] = iov.as_ptr() as u64;
        args[2] = 2;
        let got = read_data(me, capture::IOV_IN, &args, u64::MAX, 512).unwrap();
        assert_eq!(
            (got.bytes.as_slice(), got.truncated),
            (&b"hello world"[..], false)
        );
        let got = read_data(me, capture::IOV_IN, &args, u64::MAX, 8).unwrap();
        assert_eq!(
            (got.bytes.as_slice(), got.truncated),
            (&b"hello wo"[..], true)
        );

        // SAFETY: an all-zero msghdr is valid; we only set the iovec.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_ptr() as *mut _;
        msg.msg_iovlen = 2;
        args[1] = &msg as *const _ as u64;
        let got = read_data(me, capture::MSG_OUT, &args, 7, 512).unwrap();
        assert_eq!(got.bytes, b"hello w");
        assert_eq!(read_data(me, capture::NONE, &args, 7, 512), None);
    }

    fn spec_of(name: &str, arg: u8) -> StructSpec {
        let nr = crate::syscalls::by_name(name).unwrap();
        *crate::syscalls::structs::specs(nr)
            .iter()
            .find(|s| s.arg == arg)
            .unwrap()
    }

    #[test]
    fn reads_own_structures_as_the_table_says() {
        let me = Pid::this();
        // A real `struct stat` of the kernel's size.
        let mut stat = [0u8; 144];
        let mut args = [0u64; MAX_ARGS];
        args[2] = stat.as_mut_ptr() as u64;
        let c = c"/";
        // SAFETY: a valid path and a buffer of the kernel's size.
        let ret =
            unsafe { libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, c.as_ptr(), args[2], 0) };
        assert_eq!(ret, 0);
        let got = read_struct(me, &spec_of("newfstatat", 2), &args, Some(0)).unwrap();
        assert_eq!(got, stat);

        // A socket address as long as the length argument says.
        let addr = [1u8, 0, b'/', b'x', 0, 0];
        let args = [3, addr.as_ptr() as u64, 4, 0, 0, 0];
        let got = read_struct(me, &spec_of("connect", 1), &args, None).unwrap();
        assert_eq!(got, &addr[..4]);

        // getsockname's address: as long as the int behind argument 2.
        let len = 3u32;
        let args = [3, addr.as_ptr() as u64, &len as *const u32 as u64, 0, 0, 0];
        let got = read_struct(me, &spec_of("getsockname", 1), &args, Some(0)).unwrap();
        assert_eq!(got, &addr[..3]);

        // poll's array: `nfds` elements of 8 bytes.
        let fds = [3i32, 1, 4, 4, 5, 1];
        let args = [fds.as_ptr() as u64, 2, 0, 0, 0, 0];
        let got = read_struct(me, &spec_of("poll", 0), &args, None).unwrap();
        assert_eq!(got.len(), 16);
        assert_eq!(got[8..12], 4i32.to_ne_bytes());

        // argv: strings cut at 33 bytes; envp: counted.
        let long = std::ffi::CString::new("y".repeat(40)).unwrap();
        let argv = [c"ls".as_ptr(), long.as_ptr(), std::ptr::null()];
        let args = [0, argv.as_ptr() as u64, argv.as_ptr() as u64, 0, 0, 0];
        let got = read_struct(me, &spec_of("execve", 1), &args, None).unwrap();
        let mut expected = b"ls\0".to_vec();
        expected.extend_from_slice(&[b'y'; 33]);
        expected.push(0);
        assert_eq!(got, expected);
        let got = read_struct(me, &spec_of("execve", 2), &args, None).unwrap();
        assert_eq!(got, 2u32.to_ne_bytes());
        // NULL: nothing.
        let args = [0u64; MAX_ARGS];
        assert_eq!(read_struct(me, &spec_of("execve", 1), &args, None), None);
    }

    #[test]
    fn reads_pointer_arrays_across_pages_and_stops_at_their_end() {
        let me = Pid::this();
        // Three pages: two readable, the third not, an array placed
        // so that it crosses from one 4 KiB page into the next (both in
        // the readable mapping) or runs into the unreadable one.
        // SAFETY: a fresh anonymous mapping, unmapped at the end.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                3 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let base = map as usize;
        // SAFETY: the third page is ours; taking its access away.
        assert_eq!(
            unsafe { libc::mprotect((base + 2 * PAGE) as *mut _, PAGE, libc::PROT_NONE) },
            0
        );
        let words = base as *mut u64;
        // 500 non-NULL pointers from 100 words before the first page's end,
        // then a NULL.
        let start = PAGE / 8 - 100;
        for i in 0..500 {
            // SAFETY: inside the first two (writable) pages.
            unsafe { *words.add(start + i) = 0x1000 + i as u64 };
        }
        // SAFETY: as above.
        unsafe { *words.add(start + 500) = 0 };
        let at = (base + start * 8) as u64;
        let ptrs = read_pointers(me, at, 4096).unwrap();
        assert_eq!(ptrs.len(), 500);
        assert_eq!((ptrs[0], ptrs[499]), (0x1000, 0x1000 + 499));
        // Capped at the limit.
        assert_eq!(read_pointers(me, at, 150).unwrap().len(), 150);
        // A misaligned array whose 4th pointer straddles the page boundary.
        let odd = base + PAGE - 3 * 8 - 4;
        for i in 0..6u64 {
            let value = if i == 5 { 0 } else { 0xabcd_0000 + i };
            // SAFETY: inside the first two (writable) pages; unaligned
            // on purpose.
            unsafe { ((odd + i as usize * 8) as *mut u64).write_unaligned(value) };
        }
        assert_eq!(
            read_pointers(me, odd as u64, 4096).unwrap(),
            (0..5).map(|i| 0xabcd_0000 + i).collect::<Vec<u64>>()
        );
        // No NULL before the unreadable page: nothing, as before.
        for i in 0..(2 * PAGE / 8 - start) {
            // SAFETY: inside the first two pages.
            unsafe { *words.add(start + i) = 1 };
        }
        assert_eq!(read_pointers(me, at, 4096), None);
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(map, 3 * PAGE) };
    }

    #[test]
    fn counts_real_directory_entries() {
        let tmp = crate::files::test_dir("tracer-dirents-");
        let dir = tmp.path();
        for name in ["a", "bb", "ccc"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let fd = std::fs::File::open(dir).unwrap();
        let mut buf = [0u8; 4096];
        // SAFETY: a directory fd and a buffer of the size given.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        assert!(n > 0);
        let args = [3, buf.as_ptr() as u64, 4096, 0, 0, 0];
        let got = read_struct(Pid::this(), &spec_of("getdents64", 1), &args, Some(n)).unwrap();
        // ".", ".." and three files.
        assert_eq!(got, 5u32.to_ne_bytes());
    }
}
