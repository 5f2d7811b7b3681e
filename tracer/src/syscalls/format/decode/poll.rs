//! I/O multiplexing: `poll`/`ppoll`'s `pollfd` arrays and `pselect6`'s fd
//! sets, as strace's `poll.c` and `desc.c` show them: what the call was
//! asked at entry (`[{fd=3, events=POLLIN}]`, `[0 3]`), and in the return
//! value what it answered (`= 1 ([{fd=3, revents=POLLIN}])`, `= 1 (in
//! [3], left {tv_sec=0, tv_nsec=998878})`, `= 0 (Timeout)`).
//!
//! The sources capture these arguments at entry and again at exit (the
//! exit bytes following the entry bytes, `crate::syscalls::structs`'s
//! `InOut`): the entry half is the argument, the exit half the answer.

use tracer_common::MAX_ARGS;

use crate::syscalls::{
    format::{
        Strings,
        print::{push_hex, push_i64, push_u64, write_flags},
    },
    nr, structs,
    xlat::event::POLL_FLAGS,
};

use super::{
    time::{TIMESPEC, push_timespec, timespec_at},
    u16_at, u32_at,
};

/// Bytes of a `struct pollfd`.
const POLLFD: usize = 8;
/// Most elements strace shows of an array (its `-s 32`), then `...`.
const MAX_SHOWN: usize = 32;

/// The entry half of argument `arg`'s capture, and its exit half when the
/// call succeeded and it was read.
fn halves<'a>(
    nr: u32,
    arg: usize,
    args: &[u64; MAX_ARGS],
    bytes: &'a [u8],
) -> (&'a [u8], Option<&'a [u8]>) {
    let len = structs::entry_len(nr, arg, args);
    match bytes.len() {
        n if n >= 2 * len => (&bytes[..len], Some(&bytes[len..2 * len])),
        n => (&bytes[..len.min(n)], None),
    }
}

/// `poll`/`ppoll`'s array as the call read it: `[{fd=3, events=POLLIN},
/// {fd=-1}]`.
pub fn write_pollfds(out: &mut Vec<u8>, nr: u32, args: &[u64; MAX_ARGS], bytes: &[u8]) {
    let (entry, _) = halves(nr, 0, args, bytes);
    out.push(b'[');
    for (i, fd) in entry.chunks_exact(POLLFD).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        if i == MAX_SHOWN {
            out.extend_from_slice(b"...");
            break;
        }
        let (Some(num), Some(events)) = (u32_at(fd, 0), u16_at(fd, 4)) else {
            break;
        };
        out.extend_from_slice(b"{fd=");
        push_i64(out, (num as i32).into());
        if (num as i32) >= 0 {
            out.extend_from_slice(b", events=");
            write_flags(out, events.into(), POLL_FLAGS, Some("POLL???"));
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// An `fd_set` of `nfds` (the first argument) bits as the call read it:
/// `[0 3]`.
pub fn write_fd_set(out: &mut Vec<u8>, nr: u32, arg: usize, args: &[u64; MAX_ARGS], bytes: &[u8]) {
    let (entry, _) = halves(nr, arg, args, bytes);
    out.push(b'[');
    let mut first = true;
    for j in set_bits(entry, args[0] as u32 as i32) {
        if !first {
            out.push(b' ');
        }
        first = false;
        push_u64(out, j as u64);
    }
    out.push(b']');
}

/// The set bits of `set` below `nfds`.
fn set_bits(set: &[u8], nfds: i32) -> impl Iterator<Item = usize> + '_ {
    let bits = usize::try_from(nfds).unwrap_or(0).min(set.len() * 8);
    (0..bits).filter(move |&j| set[j / 8] & (1 << (j % 8)) != 0)
}

/// What `poll`, `ppoll` and `pselect6` answered, after their return value:
/// ` ([{fd=3, revents=POLLIN}])`, ` (Timeout)`; nothing for the other
/// calls, errors, and calls whose answer was not captured. Written in
/// place (this runs for every line), taken back when nothing was said.
pub fn write_outcome(
    out: &mut Vec<u8>,
    nr: u32,
    args: &[u64; MAX_ARGS],
    ret: Option<i64>,
    strings: &Strings<'_>,
) {
    if !matches!(nr, nr::POLL | nr::PPOLL | nr::PSELECT6) {
        return;
    }
    let Some(ready) = ret.filter(|&r| r >= 0) else {
        return;
    };
    if ready == 0 {
        out.extend_from_slice(b" (Timeout)");
        return;
    }
    let start = out.len();
    out.extend_from_slice(b" (");
    let open = out.len();
    let timeout = match nr {
        nr::PSELECT6 => {
            select_outcome(out, open, nr, args, ready, strings);
            4
        }
        _ => {
            poll_outcome(out, nr, args, strings);
            // `poll`'s timeout is a number: no time left to show.
            if nr == nr::POLL { MAX_ARGS } else { 2 }
        }
    };
    if let Some(&addr) = args.get(timeout).filter(|&&a| a != 0) {
        if out.len() > open {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(b"left ");
        let left = strings[timeout]
            .and_then(|c| c.bytes.get(TIMESPEC..))
            .and_then(|b| timespec_at(b, 0));
        match left {
            Some(ts) => push_timespec(out, ts),
            None => push_hex(out, addr),
        }
    }
    if out.len() == open {
        out.truncate(start);
    } else {
        out.push(b')');
    }
}

/// `[{fd=3, revents=POLLIN}]`: the descriptors with events, from the
/// exit half of the array's capture.
fn poll_outcome(out: &mut Vec<u8>, nr: u32, args: &[u64; MAX_ARGS], strings: &Strings<'_>) {
    let Some(bytes) = strings[0].map(|c| c.bytes) else {
        return;
    };
    let (_, Some(exit)) = halves(nr, 0, args, bytes) else {
        return;
    };
    let mut printed = 0;
    for fd in exit.chunks_exact(POLLFD) {
        let (Some(num), Some(revents)) = (u32_at(fd, 0), u16_at(fd, 6)) else {
            break;
        };
        if revents == 0 {
            continue;
        }
        out.extend_from_slice(if printed == 0 { b"[" } else { b", " });
        if printed == MAX_SHOWN {
            out.extend_from_slice(b"...");
            break;
        }
        out.extend_from_slice(b"{fd=");
        push_i64(out, (num as i32).into());
        out.extend_from_slice(b", revents=");
        write_flags(out, revents.into(), POLL_FLAGS, None);
        out.push(b'}');
        printed += 1;
    }
    if printed > 0 {
        out.push(b']');
    }
}

/// `in [3], out [4]`: the descriptors ready, from the exit halves of the
/// sets' captures, `ready` of them at most (strace's `decode_select`,
/// its `]` after each set read once something was shown included);
/// what is said starts at `open`.
fn select_outcome(
    out: &mut Vec<u8>,
    open: usize,
    nr: u32,
    args: &[u64; MAX_ARGS],
    mut ready: i64,
    strings: &Strings<'_>,
) {
    for (i, name) in [&b"in"[..], b"out", b"except"].into_iter().enumerate() {
        if ready <= 0 {
            break;
        }
        let arg = i + 1;
        if args[arg] == 0 {
            continue;
        }
        let Some(bytes) = strings[arg].map(|c| c.bytes) else {
            continue;
        };
        let (_, Some(exit)) = halves(nr, arg, args, bytes) else {
            continue;
        };
        let mut first = true;
        for j in set_bits(exit, args[0] as u32 as i32) {
            if first {
                if out.len() > open {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(name);
                out.extend_from_slice(b" [");
                first = false;
            } else {
                out.push(b' ');
            }
            push_u64(out, j as u64);
            ready -= 1;
            if ready == 0 {
                break;
            }
        }
        if out.len() > open {
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    fn pollfds(fds: &[(i32, u16, u16)]) -> Vec<u8> {
        fds.iter()
            .flat_map(|&(fd, events, revents)| {
                let mut b = fd.to_ne_bytes().to_vec();
                b.extend_from_slice(&events.to_ne_bytes());
                b.extend_from_slice(&revents.to_ne_bytes());
                b
            })
            .collect()
    }

    fn ts(sec: i64, nsec: i64) -> Vec<u8> {
        let mut b = sec.to_ne_bytes().to_vec();
        b.extend_from_slice(&nsec.to_ne_bytes());
        b
    }

    #[test]
    fn poll_as_strace_prints_it() {
        // strace 6.1 on this machine, for the same arrays.
        let entry = pollfds(&[(3, 1, 0), (4, 6, 0), (-1, 1, 0)]);
        let mut both = entry.clone();
        both.extend(pollfds(&[(3, 1, 1), (4, 6, 4), (-1, 1, 0)]));
        assert_eq!(
            with_bytes("poll", &[P, 3, 0], Some(2), 0, &both),
            "poll([{fd=3, events=POLLIN}, {fd=4, events=POLLPRI|POLLOUT}, {fd=-1}], 3, 0) = 2 \
             ([{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}])"
        );
        // Timed out: the exit half says nothing more.
        let one = pollfds(&[(4, 1, 0)]);
        let mut twice = one.clone();
        twice.extend_from_slice(&one);
        assert_eq!(
            with_bytes("poll", &[P, 1, 1], Some(0), 0, &twice),
            "poll([{fd=4, events=POLLIN}], 1, 1) = 0 (Timeout)"
        );
        assert_eq!(
            call("poll", &[0, 0, 1], Some(0)),
            "poll(NULL, 0, 1) = 0 (Timeout)"
        );
        // Failed: only the entry half, no outcome.
        assert_eq!(
            with_bytes("poll", &[P, 1, 1], Some(-4), 0, &one),
            "poll([{fd=4, events=POLLIN}], 1, 1) = -1 EINTR (Interrupted system call)"
        );
        // Unknown bits, events of 0, hangups.
        let odd = pollfds(&[(5, 0, 0x18), (6, 0x4000, 0x4001)]);
        let mut both = pollfds(&[(5, 0, 0), (6, 0x4000, 0)]);
        both.extend_from_slice(&odd);
        assert_eq!(
            with_bytes("poll", &[P, 2, neg(-1)], Some(2), 0, &both),
            "poll([{fd=5, events=0}, {fd=6, events=0x4000 /* POLL??? */}], 2, -1) = 2 \
             ([{fd=5, revents=POLLERR|POLLHUP}, {fd=6, revents=POLLIN|0x4000}])"
        );
    }

    #[test]
    fn nothing_captured_says_nothing() {
        // A poll that returned events but whose answer was not read: the
        // return value alone, no empty parentheses.
        assert_eq!(call("poll", &[P, 1, 0], Some(1)), "poll(0x1000, 1, 0) = 1");
        // ppoll: the time left still shows, as an address when unread.
        assert_eq!(
            call("ppoll", &[P, 1, P, 0, 8], Some(1)),
            "ppoll(0x1000, 1, 0x1000, NULL, 8) = 1 (left 0x1000)"
        );
    }

    #[test]
    fn long_arrays_stop_at_32() {
        let fds: Vec<_> = (0..40).map(|fd| (fd, 1u16, 1u16)).collect();
        let mut both = pollfds(&fds);
        both.extend(pollfds(&fds));
        let line = with_bytes("poll", &[P, 40, 0], Some(40), 0, &both);
        assert!(
            line.contains("{fd=31, events=POLLIN}, ...], 40, 0) = 40 ("),
            "{line}"
        );
        assert!(line.ends_with("{fd=31, revents=POLLIN}, ...])"), "{line}");
    }

    #[test]
    fn ppoll_with_timeouts_and_masks() {
        let entry = pollfds(&[(3, 1, 0), (4, 6, 0)]);
        let mut fds = entry.clone();
        fds.extend(pollfds(&[(3, 1, 1), (4, 6, 4)]));
        let mut times = ts(0, 1_000_000);
        times.extend(ts(0, 998_588));
        let mut ev = event("ppoll", &[P, 2, P, 0, 8], Some(2));
        set_bytes(&mut ev, 0, &fds);
        set_bytes(&mut ev, 2, &times);
        assert_eq!(
            render_event(&ev),
            "ppoll([{fd=3, events=POLLIN}, {fd=4, events=POLLPRI|POLLOUT}], 2, \
             {tv_sec=0, tv_nsec=1000000}, NULL, 8) = 2 ([{fd=3, revents=POLLIN}, \
             {fd=4, revents=POLLOUT}], left {tv_sec=0, tv_nsec=998588})"
        );
        let one = pollfds(&[(4, 1, 0)]);
        let mut ev = event("ppoll", &[P, 1, P, P, 8], Some(0));
        set_bytes(&mut ev, 0, &[one.clone(), one].concat());
        set_bytes(&mut ev, 2, &[ts(0, 1_000_000), ts(0, 0)].concat());
        set_bytes(&mut ev, 3, &(1u64 << 9).to_ne_bytes());
        assert_eq!(
            render_event(&ev),
            "ppoll([{fd=4, events=POLLIN}], 1, {tv_sec=0, tv_nsec=1000000}, [USR1], 8) = 0 (Timeout)"
        );
        let one = pollfds(&[(3, 1, 1)]);
        let mut ev = event("ppoll", &[P, 1, 0, 0, 8], Some(1));
        set_bytes(&mut ev, 0, &[one.clone(), one].concat());
        assert_eq!(
            render_event(&ev),
            "ppoll([{fd=3, events=POLLIN}], 1, NULL, NULL, 8) = 1 ([{fd=3, revents=POLLIN}])"
        );
    }

    #[test]
    fn pselect6_as_strace_prints_it() {
        // nfds 4: the capture holds 4 bytes of each set.
        let set = |bits: u32| bits.to_ne_bytes().to_vec();
        let mut ev = event("pselect6", &[4, P, 0, 0, P, 0], Some(2));
        set_bytes(&mut ev, 1, &[set(0b1001), set(0b1001)].concat());
        set_bytes(&mut ev, 4, &[ts(0, 1_000_000), ts(0, 995_954)].concat());
        assert_eq!(
            render_event(&ev),
            "pselect6(4, [0 3], NULL, NULL, {tv_sec=0, tv_nsec=1000000}, NULL) = 2 \
             (in [0 3], left {tv_sec=0, tv_nsec=995954})"
        );
        // nfds 5: 5 bytes of each set.
        let mut ev2 = event("pselect6", &[5, P, P, 0, 0, 0], Some(2));
        let five = |v: u32| {
            let mut b = v.to_ne_bytes().to_vec();
            b.push(0);
            b
        };
        set_bytes(&mut ev2, 1, &[five(0b1000), five(0b1000)].concat());
        set_bytes(&mut ev2, 2, &[five(0b10000), five(0b10000)].concat());
        assert_eq!(
            render_event(&ev2),
            "pselect6(5, [3], [4], NULL, NULL, NULL) = 2 (in [3], out [4])"
        );
        assert_eq!(
            call("pselect6", &[0, 0, 0, 0, P, 0], Some(0)),
            "pselect6(0, NULL, NULL, NULL, 0x1000, NULL) = 0 (Timeout)"
        );
    }
}
