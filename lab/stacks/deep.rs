//! A known call chain for `tracer -k` tests, in Rust: `main` ->
//! `stack_outer` -> `stack_middle` -> `stack_inner`, which opens a file
//! through std (whose precompiled code has no frame pointers) and then
//! calls getppid with a raw `syscall` instruction. Built standalone with
//! `rustc -C force-frame-pointers=yes` by the tests (cargo profiles cannot
//! ask for frame pointers), so this file's frames are on the chain.

use std::hint::black_box;

#[inline(never)]
fn stack_inner() {
    let _ = black_box(std::fs::File::open("/nonexistent/tracer-stack-test"));
    let ret: i64;
    // SAFETY: getppid takes no arguments and touches no memory; the
    // registers the syscall instruction clobbers are declared.
    unsafe {
        std::arch::asm!("syscall", inlateout("rax") 110i64 => ret,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    black_box(ret);
}

#[inline(never)]
fn stack_middle() {
    stack_inner();
    black_box(());
}

#[inline(never)]
fn stack_outer() {
    stack_middle();
    black_box(());
}

fn main() {
    stack_outer();
}
