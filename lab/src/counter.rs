//! The on-disk counter the lost-update races share: a fixed-width decimal
//! number at offset 0 of a file, read and rewritten with positioned I/O so
//! that a read-modify-write by two workers can lose an update, as a
//! database row or a config file would. `lost_update` and
//! `logging_service` both race on it.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};

/// Digits of the number: fixed, so a rewrite never leaves a longer tail.
const WIDTH: usize = 10;

/// A new counter file holding 0, with no name (`O_TMPFILE` in the
/// temporary directory): nobody can have prepared it, and a crashed run
/// leaves nothing behind.
pub fn anonymous() -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(std::env::temp_dir())?;
    store(&file, 0)?;
    Ok(file)
}

/// The number the file holds.
pub fn load(file: &File) -> io::Result<u64> {
    let mut text = [0u8; WIDTH];
    file.read_exact_at(&mut text, 0)?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| io::Error::other(format!("counter file holds {text:?}, not a number")))
}

/// Replaces the number the file holds with `value`.
pub fn store(file: &File, value: u64) -> io::Result<()> {
    file.write_all_at(format!("{value:0WIDTH$}").as_bytes(), 0)
}
