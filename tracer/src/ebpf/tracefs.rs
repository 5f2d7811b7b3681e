//! tracefs: where the kernel describes its tracepoints. The classic `sched`
//! tracepoints need it to attach, and their record layouts (which moved
//! between kernel versions) are read from their `format` files.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use thiserror::Error;

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

#[derive(Debug, Error)]
pub enum TracefsError {
    #[error("tracefs is not mounted and mounting it at {TRACEFS} failed: {0}")]
    Mount(io::Error),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, io::Error),
}

/// Returns the tracefs root, mounting tracefs at `/sys/kernel/tracing` when
/// neither usual place has it.
pub fn ensure_mounted() -> Result<PathBuf, TracefsError> {
    for root in [TRACEFS, DEBUGFS_TRACING] {
        if Path::new(root).join("events").is_dir() {
            return Ok(PathBuf::from(root));
        }
    }
    nix::mount::mount(
        Some("nodev"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| TracefsError::Mount(e.into()))?;
    Ok(PathBuf::from(TRACEFS))
}

/// Byte offset of `field` in the record of tracepoint `category/name`, or
/// `None` when the record has no such field.
pub fn field_offset(
    root: &Path,
    category: &str,
    name: &str,
    field: &str,
) -> Result<Option<u32>, TracefsError> {
    let path = root.join("events").join(category).join(name).join("format");
    let text = fs::read_to_string(&path).map_err(|e| TracefsError::Read(path, e))?;
    Ok(parse_offset(&text, field))
}

/// Finds `field:<type> <field>;\toffset:<n>;` in a tracepoint format.
fn parse_offset(format: &str, field: &str) -> Option<u32> {
    format.lines().find_map(|line| {
        let decl = line.trim().strip_prefix("field:")?;
        let (decl, rest) = decl.split_once(';')?;
        let ident = decl.rsplit([' ', '*']).next()?;
        let ident = ident.split('[').next()?;
        if ident != field {
            return None;
        }
        rest.trim()
            .strip_prefix("offset:")?
            .split(';')
            .next()?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK: &str = "name: sched_process_fork
ID: 366
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;
\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;
";

    #[test]
    fn finds_offsets() {
        assert_eq!(parse_offset(FORK, "child_pid"), Some(20));
        assert_eq!(parse_offset(FORK, "parent_pid"), Some(12));
        assert_eq!(parse_offset(FORK, "child_comm"), Some(16));
        assert_eq!(parse_offset(FORK, "pid"), None);
        assert_eq!(parse_offset("", "pid"), None);
    }

    #[test]
    fn finds_array_fields() {
        let exit = "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
                    \tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;";
        assert_eq!(parse_offset(exit, "comm"), Some(8));
        assert_eq!(parse_offset(exit, "group_dead"), Some(32));
    }

    #[test]
    fn the_running_kernel_has_the_fields_we_need() {
        let root = ensure_mounted().expect("tracefs (tests run as root)");
        let child = field_offset(&root, "sched", "sched_process_fork", "child_pid").unwrap();
        assert!(child.is_some());
    }
}
