//! Parses the failure criterion `log=FILE:REGEX` of `compare -p`: count as
//! failures the lines appended to FILE that REGEX matches.
//!
//! FILE ends at the first `:` that is not escaped. Regexes of log lines
//! are full of colons (`ERROR:`, `\d+:\d+`, `(?:...)`) and paths almost
//! never hold one, so the split favours the regex: everything after that
//! colon is the regex, verbatim. A path with a colon in it writes it as
//! `\:`, and a backslash just before the separating colon as `\\`; any
//! other backslash in FILE is itself (`log=/var/log/a\:b.log:ERROR` is
//! the file `/var/log/a:b.log` and the regex `ERROR`).
//!
//! The regex is compiled for bytes (`regex::bytes`), as the log follower
//! matches lines that need not be UTF-8.

use std::path::PathBuf;

use regex::bytes::Regex;

/// The prefix that selects this criterion among the `--fail-on` values.
pub const PREFIX: &str = "log=";

/// A parsed `log=FILE:REGEX`.
#[derive(Clone, Debug)]
pub struct LogCriterion {
    pub path: PathBuf,
    pub regex: Regex,
}

/// What is wrong with a `log=FILE:REGEX` criterion.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CriterionError {
    #[error("{0:?} is not a log criterion: expected log=FILE:REGEX")]
    NotLog(String),
    #[error("log criterion {0:?} has no ':' between FILE and REGEX (a ':' in FILE is written \\:)")]
    NoSeparator(String),
    #[error("log criterion {0:?} names no FILE")]
    EmptyFile(String),
    #[error(
        "log criterion {0:?} has an empty REGEX, which would count every line; write ^ if that is meant"
    )]
    EmptyRegex(String),
    #[error("invalid REGEX {regex:?} in log criterion: {message}")]
    BadRegex { regex: String, message: String },
}

/// Parses `log=FILE:REGEX` (see the module docs for where FILE ends).
/// Does not look at the file: whether it exists is for the follower to
/// say when it opens it.
pub fn parse(criterion: &str) -> Result<LogCriterion, CriterionError> {
    let body = criterion
        .strip_prefix(PREFIX)
        .ok_or_else(|| CriterionError::NotLog(criterion.to_string()))?;
    let mut path = String::new();
    let mut chars = body.char_indices();
    let regex = loop {
        match chars.next() {
            None => return Err(CriterionError::NoSeparator(criterion.to_string())),
            Some((i, ':')) => break &body[i + 1..],
            Some((_, '\\')) => match chars.clone().next() {
                Some((_, c @ (':' | '\\'))) => {
                    chars.next();
                    path.push(c);
                }
                _ => path.push('\\'),
            },
            Some((_, c)) => path.push(c),
        }
    };
    if path.is_empty() {
        return Err(CriterionError::EmptyFile(criterion.to_string()));
    }
    if regex.is_empty() {
        return Err(CriterionError::EmptyRegex(criterion.to_string()));
    }
    let compiled = Regex::new(regex).map_err(|e| CriterionError::BadRegex {
        regex: regex.to_string(),
        message: e.to_string(),
    })?;
    Ok(LogCriterion {
        path: PathBuf::from(path),
        regex: compiled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, String) {
        let c = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            c.path.to_str().unwrap().to_string(),
            c.regex.as_str().to_string(),
        )
    }

    fn owned(path: &str, regex: &str) -> (String, String) {
        (path.to_string(), regex.to_string())
    }

    #[test]
    fn splits_at_the_first_unescaped_colon() {
        assert_eq!(
            ok("log=/var/log/app.log:FAIL"),
            owned("/var/log/app.log", "FAIL")
        );
        // Colons in the regex stay there.
        assert_eq!(
            ok(r"log=app.log:ERROR: \d+:\d+ (?:lost|torn)"),
            owned("app.log", r"ERROR: \d+:\d+ (?:lost|torn)")
        );
        assert_eq!(ok("log=a:b:c"), owned("a", "b:c"));
        // Escaped colons and backslashes in the path.
        assert_eq!(
            ok(r"log=/logs/a\:b.log:FAIL"),
            owned("/logs/a:b.log", "FAIL")
        );
        assert_eq!(ok(r"log=/logs/dir\\:FAIL"), owned(r"/logs/dir\", "FAIL"));
        // Any other backslash in the path is itself, and the regex is
        // verbatim, escapes included.
        assert_eq!(ok(r"log=/logs/a\b:x\:y"), owned(r"/logs/a\b", r"x\:y"));
        // Not UTF-8 in the file? The regex still compiles for bytes.
        let c = parse(r"log=f:(?-u)\xff").unwrap();
        assert!(c.regex.is_match(b"a\xffb"));
    }

    #[test]
    fn bad_input_gets_a_typed_error() {
        assert_eq!(
            parse("exit").unwrap_err(),
            CriterionError::NotLog("exit".into())
        );
        assert_eq!(
            parse("output=x").unwrap_err(),
            CriterionError::NotLog("output=x".into())
        );
        assert_eq!(
            parse("log=app.log").unwrap_err(),
            CriterionError::NoSeparator("log=app.log".into())
        );
        // An escaped colon is not the separator.
        assert_eq!(
            parse(r"log=app\:log").unwrap_err(),
            CriterionError::NoSeparator(r"log=app\:log".into())
        );
        assert_eq!(
            parse("log=:FAIL").unwrap_err(),
            CriterionError::EmptyFile("log=:FAIL".into())
        );
        assert_eq!(
            parse("log=app.log:").unwrap_err(),
            CriterionError::EmptyRegex("log=app.log:".into())
        );
        let e = parse("log=app.log:(unclosed").unwrap_err();
        assert!(
            matches!(&e, CriterionError::BadRegex { regex, .. } if regex == "(unclosed"),
            "{e:?}"
        );
        // The messages say what to do.
        assert!(e.to_string().contains("(unclosed"), "{e}");
        let msg = parse("log=app.log").unwrap_err().to_string();
        assert!(msg.contains(r"\:"), "{msg}");
    }
}
