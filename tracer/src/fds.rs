//! `-y`: the path or socket behind a file descriptor, as strace shows it:
//! `read(3</etc/hosts>, ...)`, `write(5<TCP:[127.0.0.1:8080->127.0.0.1:51234]>, ...)`.
//!
//! Events are shown a few milliseconds after the fact (both sources batch),
//! when the target may already have closed and reused the fd, so names come
//! from the event stream first: an `open` names its fd with the path it was
//! given. Other fds (sockets, pipes, fds opened before the trace) are
//! looked up in `/proc/TGID/fd/N` and, for sockets, the socket tables in
//! `/proc/TGID/net`, the first time they are shown, and cached per (tgid,
//! fd) until a syscall closes or replaces them. An fd already closed by
//! then shows as a plain number; a recording replayed later shows the
//! names its events carry (paths of opens) and plain numbers otherwise.

use std::{collections::HashMap, fs, net::Ipv6Addr, rc::Rc};

use crate::{
    event::SyscallEvent,
    syscalls::{self, nr},
};

/// Cached fd names per process.
#[derive(Debug, Default)]
pub struct FdNames {
    /// `None`: looked up, nothing found (the fd is gone).
    cache: HashMap<(u32, i32), Option<Rc<str>>>,
}

impl FdNames {
    /// The name of `fd` in process `tgid`, if it can be found.
    pub fn name(&mut self, tgid: u32, fd: i32) -> Option<Rc<str>> {
        if fd < 0 {
            return None;
        }
        self.cache
            .entry((tgid, fd))
            .or_insert_with(|| lookup(tgid, fd).map(Rc::from))
            .clone()
    }

    /// Forgets every fd of process `tgid` (it exited).
    pub fn forget(&mut self, tgid: u32) {
        self.cache.retain(|&(t, _), _| t != tgid);
    }

    /// Forgets what `ev` changed: call after showing it (its own fds are
    /// shown as they were before the call).
    pub fn after(&mut self, ev: &SyscallEvent) {
        let ret = ev.ret.unwrap_or(-1);
        match ev.nr {
            nr::CLOSE => {
                self.cache.remove(&(ev.tgid, ev.args[0] as i32));
            }
            nr::DUP2 | nr::DUP3 => {
                self.cache.remove(&(ev.tgid, ev.args[1] as i32));
            }
            // The new fds are written to memory, not returned; and exec
            // closes the close-on-exec ones: start over for the process.
            nr::PIPE | nr::PIPE2 | nr::SOCKETPAIR | nr::EXECVE | nr::EXECVEAT | nr::CLOSE_RANGE => {
                self.forget(ev.tgid);
            }
            nr::OPEN | nr::CREAT | nr::OPENAT | nr::OPENAT2 if ret >= 0 => {
                let arg = if matches!(ev.nr, nr::OPENAT | nr::OPENAT2) {
                    1
                } else {
                    0
                };
                let path = ev.strings.as_ref().and_then(|s| s[arg].as_ref());
                let path = path.map(|p| Rc::from(String::from_utf8_lossy(&p.bytes).as_ref()));
                match path {
                    Some(path) => {
                        self.cache.insert((ev.tgid, ret as i32), Some(path));
                    }
                    None => {
                        self.cache.remove(&(ev.tgid, ret as i32));
                    }
                }
            }
            _ if let Some(fd) = syscalls::new_fd(ev.nr, &ev.args, ev.ret) => {
                self.cache.remove(&(ev.tgid, fd));
            }
            // `connect` turns a bare socket into a connected one.
            nr::CONNECT | nr::BIND | nr::LISTEN => {
                self.cache.remove(&(ev.tgid, ev.args[0] as i32));
            }
            _ => {}
        }
    }
}

/// Whether [`FdNames::after`] learns from syscall `nr`: a narrow `-e`
/// still records these in the kernel under `-y`, so that a name is never
/// shown for an fd that was closed or replaced unseen.
pub fn tracks(nr: u32) -> bool {
    syscalls::returns_fd(nr)
        || matches!(
            nr,
            nr::CLOSE
                | nr::DUP2
                | nr::DUP3
                | nr::PIPE
                | nr::PIPE2
                | nr::SOCKETPAIR
                | nr::EXECVE
                | nr::EXECVEAT
                | nr::CLOSE_RANGE
                | nr::CONNECT
                | nr::BIND
                | nr::LISTEN
        )
}

fn lookup(tgid: u32, fd: i32) -> Option<String> {
    let target = fs::read_link(format!("/proc/{tgid}/fd/{fd}")).ok()?;
    let target = target.to_string_lossy().into_owned();
    match target
        .strip_prefix("socket:[")
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(inode) => Some(socket_name(tgid, inode).unwrap_or(target)),
        None => Some(target),
    }
}

/// `TCP:[local->remote]`, `UDP:[local]`, `UNIX:[inode,"path"]`, like strace.
fn socket_name(tgid: u32, inode: u64) -> Option<String> {
    for (file, proto) in [
        ("tcp", "TCP"),
        ("tcp6", "TCPv6"),
        ("udp", "UDP"),
        ("udp6", "UDPv6"),
    ] {
        let Ok(table) = fs::read_to_string(format!("/proc/{tgid}/net/{file}")) else {
            continue;
        };
        if let Some(name) = inet_socket(&table, inode, proto) {
            return Some(name);
        }
    }
    let table = fs::read_to_string(format!("/proc/{tgid}/net/unix")).ok()?;
    unix_socket(&table, inode)
}

/// Finds `inode` in a `/proc/net/{tcp,udp}[6]` table.
fn inet_socket(table: &str, inode: u64, proto: &str) -> Option<String> {
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9).and_then(|f| f.parse::<u64>().ok()) != Some(inode) {
            continue;
        }
        let local = endpoint(fields.get(1)?)?;
        let remote = endpoint(fields.get(2)?)?;
        let connected = !remote.ends_with(":0");
        return Some(if connected {
            format!("{proto}:[{local}->{remote}]")
        } else {
            format!("{proto}:[{local}]")
        });
    }
    None
}

/// `0100007F:1F90` → `127.0.0.1:8080`; the IPv6 form has 32 hex digits,
/// four little-endian 32-bit words.
fn endpoint(text: &str) -> Option<String> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    match addr.len() {
        8 => {
            let raw = u32::from_str_radix(addr, 16).ok()?;
            let ip = std::net::Ipv4Addr::from(raw.swap_bytes());
            Some(format!("{ip}:{port}"))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (word, chunk) in addr.as_bytes().chunks(8).enumerate() {
                let raw = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                bytes[word * 4..word * 4 + 4].copy_from_slice(&raw.to_le_bytes());
            }
            let ip = Ipv6Addr::from(bytes);
            match ip.to_ipv4_mapped() {
                Some(v4) => Some(format!("{v4}:{port}")),
                None => Some(format!("[{ip}]:{port}")),
            }
        }
        _ => None,
    }
}

/// Finds `inode` in `/proc/net/unix`.
fn unix_socket(table: &str, inode: u64) -> Option<String> {
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(6).and_then(|f| f.parse::<u64>().ok()) != Some(inode) {
            continue;
        }
        return Some(match fields.get(7) {
            Some(path) => format!("UNIX:[{inode},\"{path}\"]"),
            None => format!("UNIX:[{inode}]"),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use std::{
        io::Write as _,
        net::{TcpListener, TcpStream},
        os::fd::AsRawFd,
    };

    use super::*;

    #[test]
    fn endpoints_decode() {
        assert_eq!(endpoint("0100007F:1F90").unwrap(), "127.0.0.1:8080");
        assert_eq!(
            endpoint("0000000000000000FFFF00000100007F:0050").unwrap(),
            "127.0.0.1:80"
        );
        assert_eq!(
            endpoint("00000000000000000000000001000000:0016").unwrap(),
            "[::1]:22"
        );
        assert_eq!(endpoint("zz:1"), None);
    }

    #[test]
    fn names_real_files_and_sockets() {
        let me = std::process::id();
        let mut names = FdNames::default();
        let file = tempfile_in_tmp();
        let name = names.name(me, file.as_raw_fd()).unwrap();
        assert!(name.starts_with("/tmp/"), "{name}");

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let name = names.name(me, listener.as_raw_fd()).unwrap();
        assert_eq!(&*name, format!("TCP:[127.0.0.1:{port}]"));
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.write_all(b"x").unwrap();
        let local = client.local_addr().unwrap().port();
        let name = names.name(me, client.as_raw_fd()).unwrap();
        assert_eq!(&*name, format!("TCP:[127.0.0.1:{local}->127.0.0.1:{port}]"));
        assert_eq!(names.name(me, -1), None);
        assert_eq!(names.name(me, 999_999), None);
    }

    fn tempfile_in_tmp() -> fs::File {
        // Created exclusively at a random name, which is then removed.
        tempfile::Builder::new()
            .prefix("tracer-fds-")
            .tempfile_in("/tmp")
            .unwrap()
            .into_file()
    }

    /// An event of the current process: names cached from events belong
    /// to it, and a fd it does not have looks up as nothing.
    fn event(nr: u32, args: [u64; 6], ret: i64, path: Option<(usize, &str)>) -> SyscallEvent {
        let strings = path.map(|(i, p)| {
            let mut strings: crate::event::ArgStrings = Default::default();
            strings[i] = Some(crate::event::ArgString {
                bytes: p.as_bytes().to_vec(),
                truncated: false,
            });
            Box::new(strings)
        });
        SyscallEvent {
            tgid: std::process::id(),
            tid: std::process::id(),
            nr,
            args,
            enter_ns: 0,
            exit_ns: Some(1),
            ret: Some(ret),
            strings,
            data: None,
            request: None,
            stack: None,
        }
    }

    #[test]
    fn events_name_and_forget_fds() {
        // Fds this process does not have: a name can only come from events.
        let (a, b) = (9_000, 9_001);
        let me = std::process::id();
        let mut names = FdNames::default();
        let opened = |nr, arg| {
            let mut args = [0; 6];
            args[0] = (-100i64) as u64;
            event(nr, args, a, Some((arg, "/from/the/event")))
        };
        let name = |names: &mut FdNames, fd| names.name(me, fd as i32).map(|n| n.to_string());
        for (nr, arg) in [
            (nr::OPENAT, 1),
            (nr::OPENAT2, 1),
            (nr::OPEN, 0),
            (nr::CREAT, 0),
        ] {
            names.after(&opened(nr, arg));
            assert_eq!(name(&mut names, a).as_deref(), Some("/from/the/event"));
            names.after(&event(nr::CLOSE, [a as u64, 0, 0, 0, 0, 0], 0, None));
            assert_eq!(name(&mut names, a), None);
        }
        // A failed open names nothing.
        let mut failed = opened(nr::OPENAT, 1);
        failed.ret = Some(-2);
        names.after(&failed);
        names.forget(me);
        assert_eq!(name(&mut names, a), None);
        // dup2/dup3 replace their second fd; a new fd from another call
        // replaces what was cached under its number.
        names.after(&opened(nr::OPENAT, 1));
        names.after(&event(nr::DUP2, [b as u64, a as u64, 0, 0, 0, 0], a, None));
        assert_eq!(name(&mut names, a), None);
        names.after(&opened(nr::OPENAT, 1));
        names.after(&event(nr::SOCKET, [2, 1, 0, 0, 0, 0], a, None));
        assert_eq!(name(&mut names, a), None);
        // connect makes a socket another one.
        names.after(&opened(nr::OPENAT, 1));
        names.after(&event(nr::CONNECT, [a as u64, 0, 16, 0, 0, 0], 0, None));
        assert_eq!(name(&mut names, a), None);
        // pipe and exec start over; other calls change nothing.
        names.after(&opened(nr::OPENAT, 1));
        names.after(&event(nr::READ, [a as u64, 0, 1, 0, 0, 0], 1, None));
        names.after(&event(9_999, [a as u64, 0, 0, 0, 0, 0], a, None));
        assert_eq!(name(&mut names, a).as_deref(), Some("/from/the/event"));
        names.after(&event(nr::EXECVE, [0; 6], 0, None));
        assert_eq!(name(&mut names, a), None);
    }
}
