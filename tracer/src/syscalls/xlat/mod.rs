//! Value tables: the names of the numbers syscall arguments carry (flags,
//! commands, enumerations), as strace keeps them in its `xlat/` folder.
//!
//! Facts only, no rendering: the renderer (`super::format`) picks a table
//! and prints with it as flags or as an enumeration, and other modules
//! (request attribution's `F_DUPFD`) use the same constants instead of
//! writing their own. One file per family of calls; a table for a new
//! argument or structure field goes in its family's file (or a new file
//! named after the family), next to the decoder's `format/decode/` file of
//! the same name.
//!
//! The values are x86_64's (asm-generic where x86_64 has none of its own),
//! each table in the order strace prints it: for flags, a name whose bits
//! include another's comes first.

pub mod event;
pub mod fcntl;
pub mod fs;
pub mod futex;
pub mod ioctl;
pub mod mm;
pub mod net;
pub mod process;
pub mod random;
pub mod siginfo;
pub mod signal;
pub mod term;
pub mod time;

/// A table of named values: `(value, name)`, in strace's order.
pub type Xlat = &'static [(u64, &'static str)];
