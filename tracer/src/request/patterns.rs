//! The patterns that find a request ID in captured bytes.
//!
//! Each pattern is a `regex::bytes` regex with exactly one capture group,
//! the ID. Built in, in this order of precedence after the user's own
//! (`--request-id`, which come first):
//!
//! - the `X-Request-Id` header, any case: `X-Request-Id: <id>\r\n`;
//! - the W3C `traceparent` header: its trace id (32 hex digits);
//! - log tokens: `req=<id>`, `request_id=<id>`, `request-id=<id>`.
//!
//! Every built-in pattern needs the end of its ID to be in the bytes (a line
//! end after a header value, a space or punctuation after a log token, the
//! fixed-size fields after a trace id), so that a header cut in two by a
//! read boundary is never taken for a shorter ID: it is found once the rest
//! arrives (see `stream.rs`). User patterns should be written the same way.

use regex::bytes::{CaptureLocations, Regex};

/// Longest ID the built-in patterns accept, and longest ID kept from a user
/// pattern (longer ones are cut).
pub const MAX_ID: usize = 128;

/// The `X-Request-Id` header.
const X_REQUEST_ID: &str = r"(?i-u)\bx-request-id[ \t]*:[ \t]*([!-~]{1,128})[ \t]*\r?\n";
/// The W3C `traceparent` header: `version-traceid-parentid-flags`.
const TRACEPARENT: &str =
    r"(?i-u)\btraceparent[ \t]*:[ \t]*[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}";
/// Log tokens. The ID ends at whitespace or punctuation that cannot be part
/// of it, which must be present.
const LOG_TOKEN: &str =
    r#"(?-u)\b(?:req|request_id|request-id)=([A-Za-z0-9._:/+@-]{1,128})[\s,;&"'\])}]"#;

/// The set of patterns in use, in order of precedence.
#[derive(Clone, Debug)]
pub struct Patterns {
    count: usize,
    /// Normally one regex, the alternation of every pattern, so that a
    /// chunk is searched once whatever the number of patterns; the patterns
    /// one by one when they cannot be joined (duplicate group names).
    searchers: Vec<Searcher>,
}

#[derive(Clone, Debug)]
struct Searcher {
    regex: Regex,
    /// Reusable capture slots: matching allocates nothing.
    locations: CaptureLocations,
    /// Capture group `g` (from 1) is the ID of pattern `first + g - 1`.
    first: usize,
}

impl Searcher {
    fn new(regex: Regex, first: usize) -> Self {
        let locations = regex.capture_locations();
        Self {
            regex,
            locations,
            first,
        }
    }
}

/// Where an ID was found: in `hay[start..end]`, by pattern number `pattern`
/// (lower numbers take precedence).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

/// Why a `--request-id` pattern was refused.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("invalid regex: {0}")]
    Invalid(#[from] regex::Error),
    #[error(
        "needs exactly one capture group, the request ID (found {0}); \
         use (?:...) for groups that are not the ID"
    )]
    Groups(usize),
}

/// Compiles a `--request-id` pattern, which must have exactly one capture
/// group.
pub fn parse(pattern: &str) -> Result<Regex, PatternError> {
    let regex = Regex::new(pattern)?;
    match regex.captures_len() - 1 {
        1 => Ok(regex),
        n => Err(PatternError::Groups(n)),
    }
}

/// The built-in patterns, compiled.
pub fn builtin() -> Vec<Regex> {
    [X_REQUEST_ID, TRACEPARENT, LOG_TOKEN]
        .iter()
        .map(|p| parse(p).expect("built-in request ID patterns are valid"))
        .collect()
}

impl Patterns {
    /// `user` patterns first, then the built-ins unless `defaults` is off.
    pub fn new(user: Vec<Regex>, defaults: bool) -> Self {
        let mut regexes = user;
        if defaults {
            regexes.extend(builtin());
        }
        let count = regexes.len();
        let joined = regexes
            .iter()
            .map(|r| format!("(?:{})", r.as_str()))
            .collect::<Vec<_>>()
            .join("|");
        let searchers = match Regex::new(&joined) {
            Ok(regex) if count > 0 && regex.captures_len() == count + 1 => {
                vec![Searcher::new(regex, 0)]
            }
            _ => regexes
                .into_iter()
                .enumerate()
                .map(|(i, regex)| Searcher::new(regex, i))
                .collect(),
        };
        Self { count, searchers }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends to `out` every ID in `hay` whose match ends after `fresh`
    /// (the bytes before it were searched already, as the tail of an
    /// earlier chunk), ordered by position. Matches do not overlap: where
    /// two patterns match at the same place, the leftmost match wins, then
    /// the pattern that comes first.
    pub fn find(&mut self, hay: &[u8], fresh: usize, out: &mut Vec<Found>) {
        let first = out.len();
        for searcher in &mut self.searchers {
            let locs = &mut searcher.locations;
            let mut at = 0;
            while at <= hay.len() {
                let Some(whole) = searcher.regex.captures_read_at(locs, hay, at) else {
                    break;
                };
                at = if whole.end() > whole.start() {
                    whole.end()
                } else {
                    whole.end() + 1
                };
                if whole.end() <= fresh {
                    continue;
                }
                // The one group that took part: the ID of its pattern.
                let group = (1..locs.len()).find_map(|g| locs.get(g).map(|span| (g, span)));
                if let Some((g, (start, end))) = group
                    && end > start
                {
                    out.push(Found {
                        pattern: searcher.first + g - 1,
                        start,
                        end: end.min(start + MAX_ID),
                    });
                }
            }
        }
        if self.searchers.len() > 1 {
            out[first..].sort_unstable_by_key(|f| (f.start, f.pattern));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(patterns: &mut Patterns, hay: &str) -> Vec<String> {
        let mut found = Vec::new();
        patterns.find(hay.as_bytes(), 0, &mut found);
        found
            .iter()
            .map(|f| hay[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn builtin_patterns() {
        let mut p = Patterns::new(vec![], true);
        assert_eq!(
            ids(
                &mut p,
                "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-17\r\n\r\n"
            ),
            ["req-17"]
        );
        assert_eq!(ids(&mut p, "x-request-id:abc\n"), ["abc"]);
        assert_eq!(ids(&mut p, "X-REQUEST-ID:  a/b=c  \r\n"), ["a/b=c"]);
        assert_eq!(
            ids(
                &mut p,
                "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
            ),
            ["4bf92f3577b34da6a3ce929d0e0e4736"]
        );
        assert_eq!(
            ids(
                &mut p,
                "ts=1 req=r1 status=200\nrequest_id=r2, request-id=\"x\" request-id=r3\n"
            ),
            ["r1", "r2", "r3"]
        );
        // Not tokens: part of a longer word, or no end in sight.
        assert!(ids(&mut p, "prereq=r1 \n").is_empty());
        assert!(ids(&mut p, "myrequest_id=r1 \n").is_empty());
        assert!(ids(&mut p, "req=r1").is_empty());
        assert!(ids(&mut p, "X-Request-Id: req-1").is_empty());
        assert!(ids(&mut p, "X-Request-Id: \r\n").is_empty());
        assert!(ids(&mut p, "X-Request-Ids: a\r\n").is_empty());
    }

    #[test]
    fn ordered_by_position_and_fresh_bytes_only() {
        let mut p = Patterns::new(vec![], true);
        let hay = "req=a \nX-Request-Id: b\r\nreq=c \n";
        assert_eq!(ids(&mut p, hay), ["a", "b", "c"]);
        let mut found = Vec::new();
        // The first line was searched before: only b and c are new.
        p.find(hay.as_bytes(), 7, &mut found);
        let got: Vec<_> = found.iter().map(|f| &hay[f.start..f.end]).collect();
        assert_eq!(got, ["b", "c"]);
        assert_eq!((found[0].pattern, found[1].pattern), (0, 2));
    }

    #[test]
    fn user_patterns_come_first_and_defaults_can_go() {
        let user = parse(r"X-Correlation-Id: (\w+)\r\n").unwrap();
        let mut p = Patterns::new(vec![user.clone()], false);
        assert_eq!(
            ids(&mut p, "X-Correlation-Id: c1\r\nX-Request-Id: r1\r\n"),
            ["c1"]
        );
        let mut p = Patterns::new(vec![user], true);
        let mut found = Vec::new();
        p.find(
            b"X-Request-Id: r1\r\nX-Correlation-Id: c1\r\n",
            0,
            &mut found,
        );
        assert_eq!(found[1].pattern, 0, "{found:?}");
        assert!(Patterns::new(vec![], false).is_empty());
    }

    #[test]
    fn patterns_that_cannot_be_joined_are_searched_one_by_one() {
        let a = parse(r"a=(?P<id>\w+) ").unwrap();
        let b = parse(r"b=(?P<id>\w+) ").unwrap();
        let mut p = Patterns::new(vec![a, b], true);
        assert_eq!(p.searchers.len(), 5);
        let hay = "b=2 X-Request-Id: x\r\na=1 ";
        assert_eq!(ids(&mut p, hay), ["2", "x", "1"]);
        let mut found = Vec::new();
        p.find(hay.as_bytes(), 0, &mut found);
        let order: Vec<_> = found.iter().map(|f| f.pattern).collect();
        assert_eq!(order, [1, 2, 0]);
        // Joined, the same answer from one search.
        let mut p = Patterns::new(vec![parse(r"a=(\w+) ").unwrap()], true);
        assert_eq!(p.searchers.len(), 1);
        assert_eq!(ids(&mut p, hay), ["x", "1"]);
    }

    #[test]
    fn user_patterns_need_one_group() {
        assert!(parse(r"id=(\w+) ").is_ok());
        assert!(parse(r"(?:id|rid)=(?P<id>\w+) ").is_ok());
        let err = parse(r"id=\w+").unwrap_err().to_string();
        assert!(err.contains("exactly one capture group"), "{err}");
        assert!(err.contains("found 0"), "{err}");
        let err = parse(r"(id)=(\w+)").unwrap_err().to_string();
        assert!(err.contains("found 2"), "{err}");
        assert!(
            parse(r"id=(\w+")
                .unwrap_err()
                .to_string()
                .contains("invalid")
        );
    }

    #[test]
    fn empty_matches_do_not_loop() {
        let mut p = Patterns::new(vec![parse(r"x=(\w*)").unwrap()], false);
        assert_eq!(ids(&mut p, "x= x=ab"), ["ab"]);
        let mut p = Patterns::new(vec![parse(r"()").unwrap()], false);
        assert!(ids(&mut p, "abc").is_empty());
    }

    #[test]
    fn long_ids_are_cut() {
        let long = "a".repeat(300);
        let mut p = Patterns::new(vec![parse(r"id=(\w+)").unwrap()], false);
        assert_eq!(ids(&mut p, &format!("id={long}"))[0].len(), MAX_ID);
    }
}
