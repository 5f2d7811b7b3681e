//! Per-(process, fd, direction) byte streams, reassembled just enough that
//! an ID cut in two by a read or write boundary is still found.
//!
//! Each stream keeps the last [`TAIL`] bytes it carried. A new chunk is
//! searched with that tail in front of it, and only matches that end in the
//! new bytes count: a match that ended in the tail was reported with the
//! chunk that completed it. So a match is reported once, with the syscall
//! that carried its last byte, as long as it is at most `TAIL` bytes long
//! (the built-in patterns are well under that).
//!
//! A capture that was cut short (the syscall moved more bytes than were
//! captured) or missing leaves a gap: the tail is dropped rather than
//! joined to bytes that did not follow it. Streams are forgotten when the
//! fd is closed or reused, and with their process.

use std::collections::HashMap;

use super::patterns::{Found, Patterns};
use crate::{hash::IntHasher, syscalls::data::Dir};

/// Bytes of a stream kept to join to its next chunk.
pub const TAIL: usize = 256;

#[derive(Debug, Default)]
pub struct Streams {
    tails: HashMap<(u32, i32, Dir), Vec<u8>, IntHasher>,
    /// Tail and chunk joined, reused.
    scratch: Vec<u8>,
}

impl Streams {
    pub fn is_empty(&self) -> bool {
        self.tails.is_empty()
    }

    /// Searches `chunk`, the next bytes of stream `(tgid, fd, dir)`, for
    /// IDs; appends them to `found` with offsets into the returned bytes.
    /// `complete`: `chunk` is everything the syscall moved, so the stream's
    /// next chunk follows on from it.
    pub fn scan<'a>(
        &'a mut self,
        key: (u32, i32, Dir),
        chunk: &'a [u8],
        complete: bool,
        patterns: &mut Patterns,
        found: &mut Vec<Found>,
    ) -> &'a [u8] {
        let tail = self.tails.entry(key).or_default();
        let (hay, fresh): (&[u8], usize) = if tail.is_empty() {
            (chunk, 0)
        } else {
            self.scratch.clear();
            self.scratch.extend_from_slice(tail);
            self.scratch.extend_from_slice(chunk);
            (&self.scratch, tail.len())
        };
        patterns.find(hay, fresh, found);
        // The new tail: the last TAIL bytes of what was searched.
        tail.clear();
        if complete {
            tail.extend_from_slice(&hay[hay.len().saturating_sub(TAIL)..]);
        }
        hay
    }

    /// The stream moved bytes that were not captured: what comes next does
    /// not follow on from the tail.
    pub fn gap(&mut self, key: (u32, i32, Dir)) {
        if let Some(tail) = self.tails.get_mut(&key) {
            tail.clear();
        }
    }

    /// `fd` of `tgid` was closed or now names something else.
    pub fn forget_fd(&mut self, tgid: u32, fd: i32) {
        self.tails.remove(&(tgid, fd, Dir::In));
        self.tails.remove(&(tgid, fd, Dir::Out));
    }

    /// Forgets the fds of `tgid` that `keep` says no to.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, i32) -> bool) {
        self.tails.retain(|&(tgid, fd, _), _| keep(tgid, fd));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` to one stream, returns the IDs found per chunk.
    fn feed(chunks: &[(&str, bool)]) -> Vec<Vec<String>> {
        let mut streams = Streams::default();
        let mut patterns = Patterns::new(vec![], true);
        chunks
            .iter()
            .map(|&(chunk, complete)| {
                let mut found = Vec::new();
                let hay = streams.scan(
                    (1, 5, Dir::In),
                    chunk.as_bytes(),
                    complete,
                    &mut patterns,
                    &mut found,
                );
                found
                    .iter()
                    .map(|f| String::from_utf8_lossy(&hay[f.start..f.end]).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn header_split_across_reads_is_found_once() {
        let got = feed(&[
            ("GET / HTTP/1.1\r\nX-Requ", true),
            ("est-Id: ab", true),
            ("c123\r\n", true),
            ("\r\n", true),
            ("X-Request-Id: def\r\n", true),
        ]);
        assert_eq!(
            got,
            [
                vec![],
                vec![],
                vec!["abc123".to_string()],
                vec![],
                vec!["def".to_string()]
            ]
        );
    }

    #[test]
    fn every_split_point_finds_the_whole_id_exactly_once() {
        let text = "HTTP/1.1 200 OK\r\nX-Request-Id: req-42\r\n\r\nreq=req-42 status=200\n";
        for cut in 0..=text.len() {
            let got = feed(&[(&text[..cut], true), (&text[cut..], true)]);
            let all: Vec<_> = got.concat();
            assert_eq!(all, ["req-42", "req-42"], "cut at {cut}: {got:?}");
        }
    }

    #[test]
    fn a_gap_is_not_bridged() {
        // The first capture was cut short: its end is not followed by the
        // next chunk, so the pieces must not be joined into an ID.
        let got = feed(&[("X-Request-Id: ab", false), ("c\r\n", true)]);
        assert_eq!(got, [Vec::<String>::new(), vec![]]);
        let mut streams = Streams::default();
        let mut patterns = Patterns::new(vec![], true);
        let key = (1, 5, Dir::Out);
        let mut found = Vec::new();
        streams.scan(key, b"req=a", true, &mut patterns, &mut found);
        streams.gap(key);
        streams.scan(key, b"bc ", true, &mut patterns, &mut found);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn directions_and_fds_are_separate_streams() {
        let mut streams = Streams::default();
        let mut patterns = Patterns::new(vec![], true);
        let mut found = Vec::new();
        streams.scan((1, 5, Dir::In), b"req=a", true, &mut patterns, &mut found);
        streams.scan((1, 5, Dir::Out), b"b ", true, &mut patterns, &mut found);
        streams.scan((1, 6, Dir::In), b"c ", true, &mut patterns, &mut found);
        streams.scan((2, 5, Dir::In), b"d ", true, &mut patterns, &mut found);
        assert!(found.is_empty(), "{found:?}");
        let hay = streams.scan((1, 5, Dir::In), b"e ", true, &mut patterns, &mut found);
        assert_eq!(&hay[found[0].start..found[0].end], b"ae");
    }

    #[test]
    fn closing_forgets_and_tails_stay_bounded() {
        let mut streams = Streams::default();
        let mut patterns = Patterns::new(vec![], true);
        let mut found = Vec::new();
        let big = vec![b'x'; 10_000];
        streams.scan((1, 5, Dir::In), &big, true, &mut patterns, &mut found);
        assert_eq!(streams.tails[&(1, 5, Dir::In)].len(), TAIL);
        streams.scan((1, 5, Dir::In), b"req=a", true, &mut patterns, &mut found);
        streams.forget_fd(1, 5);
        streams.scan((1, 5, Dir::In), b" ", true, &mut patterns, &mut found);
        assert!(found.is_empty());
        streams.scan((1, 6, Dir::In), b"z", true, &mut patterns, &mut found);
        streams.scan((2, 6, Dir::In), b"z", true, &mut patterns, &mut found);
        streams.retain(|tgid, _| tgid != 1);
        assert_eq!(streams.tails.len(), 1);
        assert!(!streams.is_empty());
    }
}
