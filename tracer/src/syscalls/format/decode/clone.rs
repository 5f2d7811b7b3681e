//! `clone`: strace's own layout, with named arguments shown only when the
//! flags make the kernel use them. (`unshare`/`setns` flags are a table,
//! rendered by the generic layout.)

use tracer_common::MAX_ARGS;

use super::signal::write_signal;
use crate::syscalls::{
    format::print::{push_ptr, write_flags},
    xlat::process::{
        CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_FLAGS, CLONE_PARENT_SETTID, CLONE_PIDFD,
        CLONE_SETTLS,
    },
};

/// `clone(child_stack=…, flags=…, …)`: strace names the arguments and
/// shows the optional ones only when the flags make the kernel use them.
pub fn write_clone(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
    let [raw_flags, stack, parent_tid, child_tid, tls, _] = *args;
    out.extend_from_slice(b"child_stack=");
    push_ptr(out, stack);
    out.extend_from_slice(b", flags=");
    // The low byte is the signal sent to the parent when the child exits.
    let signal = (raw_flags & 0xff) as i32;
    let flags = raw_flags & !0xff;
    if flags != 0 {
        write_flags(out, flags, CLONE_FLAGS, Some("CLONE_???"));
        if signal != 0 {
            out.push(b'|');
        }
    }
    if signal != 0 {
        write_signal(out, signal);
    } else if flags == 0 {
        out.push(b'0');
    }
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
        out.extend_from_slice(b", parent_tid=");
        push_ptr(out, parent_tid);
    }
    if flags & CLONE_SETTLS != 0 {
        out.extend_from_slice(b", tls=");
        push_ptr(out, tls);
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        out.extend_from_slice(b", child_tidptr=");
        push_ptr(out, child_tid);
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn clone_names_its_arguments() {
        let clone = |flags| args("clone", &[flags, 0x7f00, 0x7f10, 0x7f20, 0x7f30]);
        assert_eq!(
            clone(0x1200011),
            "clone(child_stack=0x7f00, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f20)"
        );
        assert_eq!(
            clone(0x3d0f00),
            "clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|\
             CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0x7f10, \
             tls=0x7f30, child_tidptr=0x7f20)"
        );
        assert_eq!(clone(0), "clone(child_stack=0x7f00, flags=0)");
        assert_eq!(clone(0x11), "clone(child_stack=0x7f00, flags=SIGCHLD)");
        assert_eq!(
            clone(0x1011),
            "clone(child_stack=0x7f00, flags=CLONE_PIDFD|SIGCHLD, parent_tid=0x7f10)"
        );
        assert_eq!(
            clone(0x200000000),
            "clone(child_stack=0x7f00, flags=0x200000000 /* CLONE_??? */)"
        );
        assert_eq!(args("unshare", &[0x80]), "unshare(CLONE_NEWTIME)");
        assert_eq!(
            args("unshare", &[0x40020000]),
            "unshare(CLONE_NEWNS|CLONE_NEWNET)"
        );
        assert_eq!(args("unshare", &[0x11]), "unshare(0x11 /* CLONE_??? */)");
        assert_eq!(args("setns", &[3, 0]), "setns(3, 0)");
    }
}
