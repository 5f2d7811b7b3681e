//! `futex`: which arguments follow the operation depends on it, and
//! `FUTEX_WAKE_OP` encodes a whole operation in `val3`.

use tracer_common::MAX_ARGS;

use crate::syscalls::{
    format::print::{comment, push_hex0, push_ptr, push_u64, unknown},
    xlat::futex::*,
};

/// `futex(uaddr, op, …)`: which arguments follow depends on the operation.
pub fn write_futex(out: &mut Vec<u8>, args: &[u64; MAX_ARGS]) {
    /// The arguments after `op`.
    enum Field {
        Val,
        Timeout,
        /// The timeout slot holds a count for the requeue operations.
        Val2,
        Uaddr2,
        Val3,
        Val3Hex,
        Bitset,
        WakeOp,
    }
    use Field::*;
    let [uaddr, op, val, timeout, uaddr2, val3] = *args;
    let (op, val3) = (op as u32, val3 as u32);
    push_ptr(out, uaddr);
    out.extend_from_slice(b", ");
    write_futex_op(out, op);
    let fields: &[Field] = match op & FUTEX_CMD_MASK {
        FUTEX_WAIT => &[Val, Timeout],
        FUTEX_WAKE | FUTEX_FD => &[Val],
        FUTEX_REQUEUE => &[Val, Val2, Uaddr2],
        FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI => &[Val, Val2, Uaddr2, Val3],
        FUTEX_WAKE_OP => &[Val, Val2, Uaddr2, WakeOp],
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => &[Timeout],
        FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI => &[],
        FUTEX_WAIT_BITSET => &[Val, Timeout, Bitset],
        FUTEX_WAKE_BITSET => &[Val, Bitset],
        FUTEX_WAIT_REQUEUE_PI => &[Val, Timeout, Uaddr2],
        _ => &[Val, Timeout, Uaddr2, Val3Hex],
    };
    for field in fields {
        out.extend_from_slice(b", ");
        match field {
            Val => push_u64(out, u64::from(val as u32)),
            Timeout => push_ptr(out, timeout),
            Val2 => push_u64(out, u64::from(timeout as u32)),
            Uaddr2 => push_ptr(out, uaddr2),
            Val3 => push_u64(out, val3.into()),
            Val3Hex => push_hex0(out, val3.into()),
            Bitset => write_futex_bitset(out, val3),
            WakeOp => write_futex_wake_op(out, val3),
        }
    }
}

pub fn write_futex_op(out: &mut Vec<u8>, op: u32) {
    let cmd = op & FUTEX_CMD_MASK;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let flags_ok = op & !(FUTEX_CMD_MASK | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == 0;
    // Only the waiting operations take FUTEX_CLOCK_REALTIME.
    let clock_ok =
        !realtime || matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI);
    match FUTEX_CMDS.get(cmd as usize) {
        Some(name) if flags_ok && clock_ok => {
            out.extend_from_slice(name.as_bytes());
            if private {
                // strace's one irregular name.
                let suffix: &[u8] = if cmd == FUTEX_FD {
                    b"|FUTEX_PRIVATE_FLAG"
                } else {
                    b"_PRIVATE"
                };
                out.extend_from_slice(suffix);
            }
            if realtime {
                out.extend_from_slice(b"|FUTEX_CLOCK_REALTIME");
            }
        }
        _ => unknown(out, op.into(), "FUTEX_???"),
    }
}

pub fn write_futex_bitset(out: &mut Vec<u8>, bitset: u32) {
    if bitset == u32::MAX {
        out.extend_from_slice(b"FUTEX_BITSET_MATCH_ANY");
    } else {
        push_hex0(out, bitset.into());
    }
}

/// `FUTEX_WAKE_OP`'s encoded operation: `FUTEX_OP_SET<<28|0<<12|
/// FUTEX_OP_CMP_EQ<<24|0`.
pub fn write_futex_wake_op(out: &mut Vec<u8>, val3: u32) {
    let op = val3 >> 28;
    if op & FUTEX_OP_OPARG_SHIFT != 0 {
        out.extend_from_slice(b"FUTEX_OP_OPARG_SHIFT<<28|");
    }
    write_shifted(out, op & 7, FUTEX_WAKE_OPS, b"<<28", "FUTEX_OP_???");
    out.push(b'|');
    push_hex0(out, ((val3 >> 12) & 0xfff).into());
    out.extend_from_slice(b"<<12|");
    write_shifted(
        out,
        (val3 >> 24) & 0xf,
        FUTEX_WAKE_CMPS,
        b"<<24",
        "FUTEX_OP_CMP_???",
    );
    out.push(b'|');
    push_hex0(out, (val3 & 0xfff).into());
}

pub fn write_shifted(out: &mut Vec<u8>, value: u32, names: &[&str], shift: &[u8], unknown: &str) {
    match names.get(value as usize) {
        Some(name) => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(shift);
        }
        None => {
            push_hex0(out, value.into());
            out.extend_from_slice(shift);
            comment(out, unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn futex_arguments_follow_the_operation() {
        let futex = |op, val3| args("futex", &[P, op, 1, 0, 0x2000, val3]);
        let any = 0xffff_ffff;
        assert_eq!(
            futex(128, any),
            "futex(0x1000, FUTEX_WAIT_PRIVATE, 1, NULL)"
        );
        assert_eq!(futex(129, any), "futex(0x1000, FUTEX_WAKE_PRIVATE, 1)");
        assert_eq!(futex(3, any), "futex(0x1000, FUTEX_REQUEUE, 1, 0, 0x2000)");
        assert_eq!(
            futex(4, any),
            "futex(0x1000, FUTEX_CMP_REQUEUE, 1, 0, 0x2000, 4294967295)"
        );
        assert_eq!(
            futex(5, any),
            "futex(0x1000, FUTEX_WAKE_OP, 1, 0, 0x2000, FUTEX_OP_OPARG_SHIFT<<28|0x7<<28 /* FUTEX_OP_??? */\
             |0xfff<<12|0xf<<24 /* FUTEX_OP_CMP_??? */|0xfff)"
        );
        assert_eq!(
            futex(5, 0x1000_0001 | 1 << 24 | 2 << 12),
            "futex(0x1000, FUTEX_WAKE_OP, 1, 0, 0x2000, FUTEX_OP_ADD<<28|0x2<<12|FUTEX_OP_CMP_NE<<24|0x1)"
        );
        assert_eq!(futex(6, any), "futex(0x1000, FUTEX_LOCK_PI, NULL)");
        assert_eq!(futex(7, any), "futex(0x1000, FUTEX_UNLOCK_PI)");
        assert_eq!(
            futex(128 | 9 | 256, any),
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY)"
        );
        assert_eq!(
            futex(128 | 9, 5),
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, 0x5)"
        );
        assert_eq!(
            futex(128 | 10, 0),
            "futex(0x1000, FUTEX_WAKE_BITSET_PRIVATE, 1, 0)"
        );
        assert_eq!(
            futex(11, any),
            "futex(0x1000, FUTEX_WAIT_REQUEUE_PI, 1, NULL, 0x2000)"
        );
        assert_eq!(
            futex(130, any),
            "futex(0x1000, FUTEX_FD|FUTEX_PRIVATE_FLAG, 1)"
        );
        assert_eq!(
            futex(14, any),
            "futex(0x1000, 0xe /* FUTEX_??? */, 1, NULL, 0x2000, 0xffffffff)"
        );
        assert_eq!(
            futex(0x200, any),
            "futex(0x1000, 0x200 /* FUTEX_??? */, 1, NULL)"
        );
        assert_eq!(futex(0x181, any), "futex(0x1000, 0x181 /* FUTEX_??? */, 1)");
    }
}
