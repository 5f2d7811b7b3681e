//! Where a task's credentials and exit code sit in this kernel's memory,
//! read from its BTF (`/sys/kernel/btf/vmlinux`), so that
//! `sched_process_exec` can record who owns a process at exec (see
//! `FLAG_OWNER` in `tracer-common`) and `sched_process_exit` how a task
//! ended (`FLAG_EXIT_STATUS`). The layouts of `task_struct` and `cred` change with
//! the kernel's version and configuration; the kernel describes its own.
//!
//! aya keeps its BTF lookups to itself, so this uses `btf-rs`.

use std::path::Path;

use btf_rs::{Btf, Member, Struct, Type};
use thiserror::Error;

/// The kernel's BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Byte offsets, each passed to the eBPF programs as a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredOffsets {
    /// `real_cred` in `struct task_struct` (a pointer).
    pub task_cred: u32,
    /// `uid`, `euid`, `suid` in `struct cred` (each a 4-byte `kuid_t`).
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
}

#[derive(Debug, Error)]
pub enum CredsError {
    #[error("cannot read BTF from {0}: {1}")]
    Read(String, btf_rs::Error),
    #[error("BTF has no struct {0}")]
    NoStruct(&'static str),
    #[error("struct {0} has no field {1} of the expected kind")]
    NoField(&'static str, &'static str),
}

/// Reads the offsets from the BTF at `path`.
pub fn cred_offsets(path: &Path) -> Result<CredOffsets, CredsError> {
    let btf = Btf::from_file(path).map_err(|e| CredsError::Read(path.display().to_string(), e))?;
    let task = named_struct(&btf, "task_struct")?;
    let cred = named_struct(&btf, "cred")?;
    let field = |s: &Struct, sname: &'static str, name: &'static str, want: Want| {
        find_field(&btf, s, name, want).ok_or(CredsError::NoField(sname, name))
    };
    Ok(CredOffsets {
        task_cred: field(&task, "task_struct", "real_cred", Want::Pointer)?,
        uid: field(&cred, "cred", "uid", Want::FourBytes)?,
        euid: field(&cred, "cred", "euid", Want::FourBytes)?,
        suid: field(&cred, "cred", "suid", Want::FourBytes)?,
    })
}

/// Byte offset of `exit_code` (an `int`) in `struct task_struct`, read
/// from the BTF at `path`.
pub fn exit_code_offset(path: &Path) -> Result<u32, CredsError> {
    let btf = Btf::from_file(path).map_err(|e| CredsError::Read(path.display().to_string(), e))?;
    let task = named_struct(&btf, "task_struct")?;
    find_field(&btf, &task, "exit_code", Want::FourBytes)
        .ok_or(CredsError::NoField("task_struct", "exit_code"))
}

/// The struct called `name` (not a forward declaration of it).
fn named_struct(btf: &Btf, name: &'static str) -> Result<Struct, CredsError> {
    btf.resolve_types_by_name(name)
        .map_err(|_| CredsError::NoStruct(name))?
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) => Some(s),
            _ => None,
        })
        .ok_or(CredsError::NoStruct(name))
}

#[derive(Clone, Copy)]
enum Want {
    Pointer,
    FourBytes,
}

/// Byte offset of field `name` in `s`, looking into anonymous struct and
/// union members (where a randomized or grouped layout puts fields), if
/// it is byte-aligned and of the wanted kind.
fn find_field(btf: &Btf, s: &Struct, name: &str, want: Want) -> Option<u32> {
    for member in &s.members {
        let member_name = btf.resolve_name(member).ok()?;
        let bits = member.bit_offset();
        if member_name == name {
            let fits = match (want, strip(btf, member)?) {
                (Want::Pointer, Type::Ptr(_)) => true,
                (Want::FourBytes, Type::Struct(t)) => t.size() == 4,
                (Want::FourBytes, Type::Int(t)) => t.size() == 4,
                _ => false,
            };
            return (fits && member.bitfield_size().unwrap_or(0) == 0 && bits % 8 == 0)
                .then_some(bits / 8);
        }
        if member_name.is_empty()
            && let Some(Type::Struct(inner) | Type::Union(inner)) = strip(btf, member)
            && let Some(offset) = find_field(btf, &inner, name, want)
        {
            return Some(bits / 8 + offset);
        }
    }
    None
}

/// The type of `member` with typedefs and qualifiers taken off.
fn strip(btf: &Btf, member: &Member) -> Option<Type> {
    let mut t = btf.resolve_chained_type(member).ok()?;
    for _ in 0..16 {
        t = match &t {
            Type::Typedef(x) => btf.resolve_chained_type(x).ok()?,
            Type::Const(x) => btf.resolve_chained_type(x).ok()?,
            Type::Volatile(x) => btf.resolve_chained_type(x).ok()?,
            Type::Restrict(x) => btf.resolve_chained_type(x).ok()?,
            Type::TypeTag(x) => btf.resolve_chained_type(x).ok()?,
            _ => return Some(t),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Userspace cannot read kernel memory to follow the offsets, so they
    /// are checked against what holds on every kernel: `cred` begins with its reference count, then `uid`,
    /// `gid`, `suid`, `sgid`, `euid` in this order (include/linux/cred.h
    /// since 2.6.29), and `real_cred` is a pointer-aligned field inside
    /// `task_struct`. The end-to-end proof is the daemon test that has a
    /// short-lived process of `nobody` recorded by its owner's watch.
    #[test]
    fn this_kernels_cred_layout_is_found() {
        let offsets = cred_offsets(Path::new(VMLINUX_BTF)).expect("this kernel has BTF");
        assert!(offsets.uid >= 4, "{offsets:?}");
        assert_eq!(offsets.suid, offsets.uid + 8, "{offsets:?}");
        assert_eq!(offsets.euid, offsets.uid + 16, "{offsets:?}");
        assert_eq!(offsets.task_cred % 8, 0, "{offsets:?}");
        assert!(offsets.task_cred > 0, "{offsets:?}");
    }

    /// The end-to-end proof is `ebpf::tests`' exit status test; here, that
    /// the field is found and is not the credentials' pointer.
    #[test]
    fn this_kernels_exit_code_is_found() {
        let offset = exit_code_offset(Path::new(VMLINUX_BTF)).expect("this kernel has BTF");
        let cred = cred_offsets(Path::new(VMLINUX_BTF)).unwrap();
        assert_eq!(offset % 4, 0);
        assert_ne!(offset, cred.task_cred);
        assert!(exit_code_offset(Path::new("/no/such/btf")).is_err());
    }

    #[test]
    fn a_missing_file_or_struct_is_an_error_not_a_panic() {
        let err = cred_offsets(Path::new("/no/such/btf")).unwrap_err();
        assert!(err.to_string().contains("/no/such/btf"), "{err}");
        let btf = Btf::from_file(VMLINUX_BTF).unwrap();
        assert!(matches!(
            named_struct(&btf, "no_such_struct_here"),
            Err(CredsError::NoStruct(_))
        ));
        let cred = named_struct(&btf, "cred").unwrap();
        assert_eq!(
            find_field(&btf, &cred, "no_such_field", Want::FourBytes),
            None
        );
        // `uid` is not a pointer: the kind is checked.
        assert_eq!(find_field(&btf, &cred, "uid", Want::Pointer), None);
    }
}
