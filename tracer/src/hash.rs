//! The hasher of tracer's hot maps, keyed by small integers (tids, tgids,
//! fds, syscall numbers): one multiply per word instead of SipHash.
//!
//! Its own low module so that every layer with such a map (request
//! attribution, the daemon's process registry, ...) shares one hasher
//! instead of writing its own. Keys come from the kernel (ids the kernel
//! hands out), not from the traced program's data, so an attacker cannot
//! choose keys that flood one bucket: the DoS resistance of SipHash buys
//! nothing here.

use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for small integer keys: see the module header.
#[derive(Clone, Copy, Debug, Default)]
pub struct IntHash(u64);

pub type IntHasher = BuildHasherDefault<IntHash>;

impl IntHash {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IntHash {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn write_isize(&mut self, n: isize) {
        self.add(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashSet,
        hash::{BuildHasher, Hash},
    };

    use super::*;

    fn hash<T: Hash>(key: T) -> u64 {
        IntHasher::default().hash_one(key)
    }

    #[test]
    fn small_keys_spread() {
        // Every tid below pid_max's default, and every (tgid, fd) pair of
        // a busy process, gets its own hash: no two keys share a bucket
        // chain for lack of bits.
        let tids: HashSet<u64> = (0..4_194_304u32).map(hash).collect();
        assert_eq!(tids.len(), 4_194_304);
        let pairs: HashSet<u64> = (0..64u32)
            .flat_map(|tgid| (0..1024i32).map(move |fd| hash((tgid, fd))))
            .collect();
        assert_eq!(pairs.len(), 64 * 1024);
        // The high bits (hashbrown's control bytes) vary too.
        let tops: HashSet<u64> = (0..1024u32).map(|k| hash(k) >> 57).collect();
        assert!(tops.len() > 64, "{}", tops.len());
    }

    #[test]
    fn signed_and_unsigned_agree() {
        assert_eq!(hash(-1i32), hash(u32::MAX));
        assert_eq!(hash(7usize), hash(7u64));
    }
}
