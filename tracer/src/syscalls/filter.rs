//! strace's `-e trace=` language: which syscalls to record.
//!
//! An expression is `trace=SET` (or `t=SET`, or just `SET`). `SET` is
//! `all`, `none`, or a comma-separated list of syscall names, numbers,
//! classes (`%file`, and the old spellings `file`, `network`, … without
//! `%`), each optionally prefixed by `?` to ignore it when unknown. Leading
//! `!`s negate the whole set; `/REGEX` selects the syscalls whose name it
//! matches (unanchored, like strace's POSIX extended regex). As in strace,
//! each `trace=` replaces the previous one, so the last expression wins.
//! strace's other qualifiers (`signal=`, `read=`, …) are rejected with an
//! error rather than silently ignored.
//!
//! One difference: strace shows syscalls it has no name for whatever the
//! filter; here numbers without a name are selected only by `all`, by
//! their number, or by a negation.

use std::str::FromStr;

use thiserror::Error;

use super::{Class, NR_END, by_name, iter};

/// Why an expression was rejected. The messages follow strace's.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("invalid system call '{0}'")]
    InvalidSyscall(String),
    #[error("unknown class '{0}'")]
    UnknownClass(String),
    #[error("unsupported qualifier '{0}'")]
    UnsupportedQualifier(String),
    /// Fatal even with `?`, as in strace.
    #[error("invalid regular expression '{pattern}': {reason}")]
    InvalidRegex { pattern: String, reason: String },
}

const WORDS: usize = (NR_END as usize).div_ceil(64);

/// The syscalls to record: a bitset over syscall numbers, so that
/// [`SyscallFilter::matches`] costs a shift and a mask per event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallFilter {
    /// Bit `nr` (for `nr < NR_END`, known syscall or not).
    bits: [u64; WORDS],
    /// Whether numbers from `NR_END` on are selected: syscalls newer than
    /// the table, or x32 numbers. Only `all` and negations select them.
    beyond: bool,
}

impl Default for SyscallFilter {
    /// Everything, as without `-e trace=`.
    fn default() -> Self {
        Self::all()
    }
}

impl SyscallFilter {
    /// Every syscall.
    pub fn all() -> Self {
        let mut filter = Self::none();
        filter.invert();
        filter
    }

    /// No syscall.
    pub fn none() -> Self {
        SyscallFilter {
            bits: [0; WORDS],
            beyond: false,
        }
    }

    /// The filter of a list of `-e` expressions: everything when the list is
    /// empty, else what the last `trace=` selects.
    pub fn parse<S: AsRef<str>>(exprs: &[S]) -> Result<Self, FilterError> {
        let mut filter = Self::all();
        for expr in exprs {
            filter = expr.as_ref().parse()?;
        }
        Ok(filter)
    }

    /// Whether syscall `nr` is selected.
    #[inline]
    pub fn matches(&self, nr: u32) -> bool {
        match self.bits.get(nr as usize / 64) {
            Some(word) if nr < NR_END => word & (1 << (nr % 64)) != 0,
            _ => self.beyond,
        }
    }

    /// This set plus the syscalls `also` selects (what a feature needs
    /// recorded whatever `-e` shows).
    pub fn with(&self, also: impl Fn(u32) -> bool) -> Self {
        let mut wider = self.clone();
        for nr in (0..NR_END).filter(|&nr| also(nr)) {
            wider.insert(nr);
        }
        wider
    }

    /// Whether every syscall is selected (nothing to filter).
    pub fn is_all(&self) -> bool {
        self.beyond && (0..NR_END).all(|nr| self.matches(nr))
    }

    /// The selected numbers below [`NR_END`], ascending. Numbers from
    /// `NR_END` on are selected as a whole or not at all: see
    /// [`SyscallFilter::includes_beyond_table`].
    #[allow(dead_code, reason = "for the seccomp prefilter, not wired yet")]
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..NR_END).filter(|&nr| self.matches(nr))
    }

    /// Whether numbers from [`NR_END`] on are selected.
    #[allow(dead_code, reason = "for the seccomp prefilter, not wired yet")]
    pub fn includes_beyond_table(&self) -> bool {
        self.beyond
    }

    fn insert(&mut self, nr: u32) {
        if let Some(word) = self.bits.get_mut(nr as usize / 64) {
            *word |= 1 << (nr % 64);
        }
    }

    fn invert(&mut self) {
        for word in &mut self.bits {
            *word = !*word;
        }
        // Keep the bits past NR_END clear, so that equal sets compare equal.
        if let Some(last) = self.bits.last_mut()
            && !NR_END.is_multiple_of(64)
        {
            *last &= (1 << (NR_END % 64)) - 1;
        }
        self.beyond = !self.beyond;
    }

    /// Parses a `SET`: `all`, `none`, or a list, after any `!`s.
    fn parse_set(spec: &str) -> Result<Self, FilterError> {
        let mut set = spec;
        let mut negated = false;
        while let Some(rest) = set.strip_prefix('!') {
            negated = !negated;
            set = rest;
        }
        let mut filter = match set {
            "all" => Self::all(),
            "none" => Self::none(),
            _ => {
                let mut filter = Self::none();
                let mut tokens = set.split(',').filter(|token| !token.is_empty()).peekable();
                if tokens.peek().is_none() {
                    return Err(FilterError::InvalidSyscall(spec.to_owned()));
                }
                for token in tokens {
                    filter.add(token)?;
                }
                filter
            }
        };
        if negated {
            filter.invert();
        }
        Ok(filter)
    }

    /// Adds what one list item names.
    fn add(&mut self, token: &str) -> Result<(), FilterError> {
        let name = token.trim_start_matches('?');
        let optional = name.len() != token.len();
        let added = if name.starts_with(|c: char| c.is_ascii_digit()) {
            match name.parse::<u32>() {
                Ok(nr) if nr < NR_END => {
                    self.insert(nr);
                    Ok(())
                }
                _ => Err(FilterError::InvalidSyscall(name.to_owned())),
            }
        } else if let Some(pattern) = name.strip_prefix('/') {
            let regex = regex::Regex::new(pattern).map_err(|err| FilterError::InvalidRegex {
                pattern: pattern.to_owned(),
                reason: err.to_string(),
            })?;
            let mut found = false;
            for (nr, _) in iter().filter(|(_, sc)| regex.is_match(sc.name)) {
                self.insert(nr);
                found = true;
            }
            if found {
                Ok(())
            } else {
                Err(FilterError::InvalidSyscall(name.to_owned()))
            }
        } else if let Some(class) = Class::from_name(name) {
            for (nr, _) in iter().filter(|(_, sc)| sc.classes.contains(class)) {
                self.insert(nr);
            }
            Ok(())
        } else if name.starts_with('%') {
            Err(FilterError::UnknownClass(name.to_owned()))
        } else if let Some(nr) = by_name(name) {
            self.insert(nr);
            Ok(())
        } else {
            Err(FilterError::InvalidSyscall(name.to_owned()))
        };
        match added {
            Err(_) if optional => Ok(()),
            result => result,
        }
    }
}

/// strace's qualifiers other than `trace`, with their aliases.
const OTHER_QUALIFIERS: &[&str] = &[
    "trace-fds",
    "trace-fd",
    "fd",
    "fds",
    "abbrev",
    "a",
    "verbose",
    "v",
    "raw",
    "x",
    "signal",
    "signals",
    "s",
    "status",
    "read",
    "reads",
    "r",
    "write",
    "writes",
    "w",
    "fault",
    "inject",
    "kvm",
    "quiet",
    "silent",
    "silence",
    "q",
    "decode-fds",
    "decode-fd",
    "decode-pids",
    "decode-pid",
    "secontext",
];

impl FromStr for SyscallFilter {
    type Err = FilterError;

    /// Parses one `-e` expression.
    fn from_str(expr: &str) -> Result<Self, FilterError> {
        if let Some((qualifier, set)) = expr.split_once('=') {
            if matches!(qualifier, "trace" | "t") {
                return Self::parse_set(set);
            }
            if OTHER_QUALIFIERS.contains(&qualifier) {
                return Err(FilterError::UnsupportedQualifier(qualifier.to_owned()));
            }
        }
        // No qualifier: the whole expression is a `trace=` set, as in
        // strace (so `foo=bar` is an invalid system call).
        Self::parse_set(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(exprs: &[&str]) -> SyscallFilter {
        SyscallFilter::parse(exprs).unwrap_or_else(|err| panic!("{exprs:?}: {err}"))
    }

    fn nr(name: &str) -> u32 {
        by_name(name).unwrap()
    }

    fn selected(exprs: &[&str]) -> Vec<&'static str> {
        filter(exprs)
            .iter()
            .filter_map(super::super::name)
            .collect()
    }

    fn error(exprs: &[&str]) -> String {
        SyscallFilter::parse(exprs).unwrap_err().to_string()
    }

    #[test]
    fn no_expression_selects_everything() {
        let all = filter(&[]);
        assert!(all.is_all());
        assert!(all.matches(0) && all.matches(NR_END - 1));
        assert!(all.matches(NR_END) && all.matches(u32::MAX));
        assert_eq!(all, SyscallFilter::default());
        assert_eq!(all.iter().count(), NR_END as usize);
    }

    #[test]
    fn names() {
        assert_eq!(selected(&["trace=open,close"]), ["open", "close"]);
        assert_eq!(selected(&["close,open"]), ["open", "close"]);
        assert_eq!(selected(&["t=read"]), ["read"]);
        assert_eq!(selected(&["trace=read,"]), ["read"]);
        let f = filter(&["trace=openat"]);
        assert!(f.matches(257) && !f.matches(2) && !f.matches(NR_END) && !f.is_all());
        assert!(!f.includes_beyond_table());
    }

    #[test]
    fn numbers() {
        assert_eq!(selected(&["trace=0,3"]), ["read", "close"]);
        // A number without a syscall, below the table's end, is accepted.
        assert_eq!(filter(&["trace=400"]).iter().collect::<Vec<_>>(), [400]);
        assert_eq!(error(&["trace=99999"]), "invalid system call '99999'");
        assert_eq!(error(&["trace=1x"]), "invalid system call '1x'");
    }

    #[test]
    fn classes() {
        let file = filter(&["trace=%file"]);
        assert!(file.matches(nr("openat")) && file.matches(nr("execve")));
        assert!(!file.matches(nr("read")) && !file.matches(nr("close")));
        assert_eq!(filter(&["file"]), file);
        let desc = filter(&["%desc"]);
        assert!(desc.matches(nr("read")) && desc.matches(nr("openat")));
        assert!(filter(&["%net"]).matches(nr("socket")));
        assert_eq!(filter(&["%net"]), filter(&["%network"]));
        assert_eq!(
            selected(&["%%stat"]),
            ["stat", "fstat", "lstat", "newfstatat", "statx"]
        );
        assert_eq!(
            selected(&["%fstat,close"]),
            ["close", "fstat", "newfstatat", "statx"]
        );
        assert_eq!(error(&["%fil"]), "unknown class '%fil'");
        // No `%`-less spelling for newer classes.
        assert_eq!(error(&["creds"]), "invalid system call 'creds'");
    }

    #[test]
    fn negation() {
        let f = filter(&["trace=!read,write"]);
        assert!(!f.matches(0) && !f.matches(1) && f.matches(2));
        // Unknown numbers are not read or write either.
        assert!(f.matches(400) && f.matches(NR_END + 5) && f.includes_beyond_table());
        assert!(!f.is_all());
        assert_eq!(filter(&["!!close"]), filter(&["close"]));
        assert_eq!(filter(&["!all"]), SyscallFilter::none());
        assert_eq!(filter(&["!none"]), SyscallFilter::all());
        assert!(!filter(&["trace=!%file"]).matches(nr("openat")));
    }

    #[test]
    fn all_and_none() {
        assert!(filter(&["trace=all"]).is_all());
        let none = filter(&["trace=none"]);
        assert!((0..NR_END + 10).all(|nr| !none.matches(nr)));
        assert_eq!(none.iter().count(), 0);
    }

    #[test]
    fn question_mark_ignores_unknown_items() {
        assert_eq!(selected(&["trace=?foo,close"]), ["close"]);
        assert_eq!(selected(&["trace=??%nope,?/^nope$,read"]), ["read"]);
        assert_eq!(selected(&["trace=?open"]), ["open"]);
    }

    #[test]
    fn regular_expressions_match_names() {
        assert_eq!(
            selected(&["trace=/^open"]),
            [
                "open",
                "openat",
                "open_by_handle_at",
                "open_tree",
                "openat2",
                "open_tree_attr"
            ]
        );
        assert_eq!(selected(&["trace=/^(read|write)$"]), ["read", "write"]);
        assert!(selected(&["/stat"]).contains(&"newfstatat"));
        assert_eq!(
            error(&["trace=/^nomatch$"]),
            "invalid system call '/^nomatch$'"
        );
        assert_eq!(selected(&["trace=?/^nomatch$,close"]), ["close"]);
    }

    #[test]
    fn the_last_trace_expression_wins() {
        assert_eq!(selected(&["trace=open", "trace=close"]), ["close"]);
        assert_eq!(selected(&["trace=!read", "trace=write"]), ["write"]);
    }

    #[test]
    fn errors_name_the_bad_token() {
        assert_eq!(error(&["trace=opn"]), "invalid system call 'opn'");
        assert_eq!(error(&["trace=open,opn"]), "invalid system call 'opn'");
        assert_eq!(error(&["trace="]), "invalid system call ''");
        assert_eq!(error(&["trace=!,"]), "invalid system call '!,'");
        assert_eq!(error(&["signal=SIGINT"]), "unsupported qualifier 'signal'");
        assert_eq!(error(&["read=3"]), "unsupported qualifier 'read'");
        assert_eq!(error(&["foo=bar"]), "invalid system call 'foo=bar'");
        assert!(error(&["trace=/("]).starts_with("invalid regular expression '(': "));
        // Fatal even when optional.
        assert!(error(&["trace=?/("]).starts_with("invalid regular expression"));
        // A later valid expression does not hide an earlier error.
        assert!(SyscallFilter::parse(&["trace=opn", "trace=open"]).is_err());
        assert_eq!(
            "trace=opn".parse::<SyscallFilter>(),
            Err(FilterError::InvalidSyscall("opn".into()))
        );
    }
}
