//! Empty library target: lets `tracer`'s build script depend on this crate so
//! cargo rebuilds the eBPF object when it changes. The programs live in
//! `main.rs` and its modules, built for the bpf target by `aya-build`.
#![no_std]
