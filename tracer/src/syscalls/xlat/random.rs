//! `getrandom` flags.

use super::Xlat;

pub const GRND_FLAGS: Xlat = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];
