//! errno names and messages, as strace prints them: `ENOENT` and
//! `No such file or directory`.
//!
//! The numbers come from `libc`; the messages are glibc's `strerror` texts,
//! which is what strace prints. (`nix`'s `Errno::desc` is no substitute: it
//! carries the kernel's header comments, "Try again" where strace says
//! "Resource temporarily unavailable".) The tests check every entry against
//! `nix` (names) and the C library (messages) of the machine.
//!
//! Also covered: the kernel-internal codes above 511 that a tracer sees when
//! a signal interrupts a syscall (`ERESTARTSYS`, …). They never reach the
//! traced program, which sees `EINTR` or a transparent restart instead.

/// `ERESTARTSYS`: restarted if the signal handler has `SA_RESTART`, else
/// `EINTR`.
pub const ERESTARTSYS: i32 = 512;
/// `ERESTARTNOINTR`: always restarted.
pub const ERESTARTNOINTR: i32 = 513;
/// `ERESTARTNOHAND`: restarted only if no handler ran.
pub const ERESTARTNOHAND: i32 = 514;
/// `ERESTART_RESTARTBLOCK`: restarted through `restart_syscall`.
pub const ERESTART_RESTARTBLOCK: i32 = 516;

/// The symbolic name of `errno` (`"ENOENT"`), if it has one.
pub fn name(errno: i32) -> Option<&'static str> {
    entry(errno).map(|(name, _)| name)
}

/// What [`description`] returns for numbers without a message; glibc's
/// `strerror` then says "Unknown error N".
pub const UNKNOWN: &str = "Unknown error";

/// The message for `errno`: glibc's `strerror` text, strace's for the
/// restart codes, else [`UNKNOWN`].
pub fn description(errno: i32) -> &'static str {
    message(errno).unwrap_or(UNKNOWN)
}

fn message(errno: i32) -> Option<&'static str> {
    entry(errno).and_then(|(_, message)| message)
}

/// Whether `errno` is one of the restart codes, which strace shows as
/// `= ? ERESTARTSYS (…)`: the call did not complete, it will be restarted
/// or turned into `EINTR`.
pub fn is_restart(errno: i32) -> bool {
    matches!(
        errno,
        ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK
    )
}

fn entry(errno: i32) -> Option<(&'static str, Option<&'static str>)> {
    let index = usize::try_from(errno).ok()?;
    if let Some(&(name, message)) = USER.get(index) {
        return (!name.is_empty()).then_some((name, Some(message)));
    }
    let &(name, message) = KERNEL.get(index.checked_sub(KERNEL_BASE)?)?;
    (!name.is_empty()).then_some((name, message))
}

/// `errno` values the C library knows, as (number, name, message).
const ERRNOS: &[(i32, &str, &str)] = &[
    (libc::EPERM, "EPERM", "Operation not permitted"),
    (libc::ENOENT, "ENOENT", "No such file or directory"),
    (libc::ESRCH, "ESRCH", "No such process"),
    (libc::EINTR, "EINTR", "Interrupted system call"),
    (libc::EIO, "EIO", "Input/output error"),
    (libc::ENXIO, "ENXIO", "No such device or address"),
    (libc::E2BIG, "E2BIG", "Argument list too long"),
    (libc::ENOEXEC, "ENOEXEC", "Exec format error"),
    (libc::EBADF, "EBADF", "Bad file descriptor"),
    (libc::ECHILD, "ECHILD", "No child processes"),
    (libc::EAGAIN, "EAGAIN", "Resource temporarily unavailable"),
    (libc::ENOMEM, "ENOMEM", "Cannot allocate memory"),
    (libc::EACCES, "EACCES", "Permission denied"),
    (libc::EFAULT, "EFAULT", "Bad address"),
    (libc::ENOTBLK, "ENOTBLK", "Block device required"),
    (libc::EBUSY, "EBUSY", "Device or resource busy"),
    (libc::EEXIST, "EEXIST", "File exists"),
    (libc::EXDEV, "EXDEV", "Invalid cross-device link"),
    (libc::ENODEV, "ENODEV", "No such device"),
    (libc::ENOTDIR, "ENOTDIR", "Not a directory"),
    (libc::EISDIR, "EISDIR", "Is a directory"),
    (libc::EINVAL, "EINVAL", "Invalid argument"),
    (libc::ENFILE, "ENFILE", "Too many open files in system"),
    (libc::EMFILE, "EMFILE", "Too many open files"),
    (libc::ENOTTY, "ENOTTY", "Inappropriate ioctl for device"),
    (libc::ETXTBSY, "ETXTBSY", "Text file busy"),
    (libc::EFBIG, "EFBIG", "File too large"),
    (libc::ENOSPC, "ENOSPC", "No space left on device"),
    (libc::ESPIPE, "ESPIPE", "Illegal seek"),
    (libc::EROFS, "EROFS", "Read-only file system"),
    (libc::EMLINK, "EMLINK", "Too many links"),
    (libc::EPIPE, "EPIPE", "Broken pipe"),
    (libc::EDOM, "EDOM", "Numerical argument out of domain"),
    (libc::ERANGE, "ERANGE", "Numerical result out of range"),
    (libc::EDEADLK, "EDEADLK", "Resource deadlock avoided"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG", "File name too long"),
    (libc::ENOLCK, "ENOLCK", "No locks available"),
    (libc::ENOSYS, "ENOSYS", "Function not implemented"),
    (libc::ENOTEMPTY, "ENOTEMPTY", "Directory not empty"),
    (libc::ELOOP, "ELOOP", "Too many levels of symbolic links"),
    (libc::ENOMSG, "ENOMSG", "No message of desired type"),
    (libc::EIDRM, "EIDRM", "Identifier removed"),
    (libc::ECHRNG, "ECHRNG", "Channel number out of range"),
    (libc::EL2NSYNC, "EL2NSYNC", "Level 2 not synchronized"),
    (libc::EL3HLT, "EL3HLT", "Level 3 halted"),
    (libc::EL3RST, "EL3RST", "Level 3 reset"),
    (libc::ELNRNG, "ELNRNG", "Link number out of range"),
    (libc::EUNATCH, "EUNATCH", "Protocol driver not attached"),
    (libc::ENOCSI, "ENOCSI", "No CSI structure available"),
    (libc::EL2HLT, "EL2HLT", "Level 2 halted"),
    (libc::EBADE, "EBADE", "Invalid exchange"),
    (libc::EBADR, "EBADR", "Invalid request descriptor"),
    (libc::EXFULL, "EXFULL", "Exchange full"),
    (libc::ENOANO, "ENOANO", "No anode"),
    (libc::EBADRQC, "EBADRQC", "Invalid request code"),
    (libc::EBADSLT, "EBADSLT", "Invalid slot"),
    (libc::EBFONT, "EBFONT", "Bad font file format"),
    (libc::ENOSTR, "ENOSTR", "Device not a stream"),
    (libc::ENODATA, "ENODATA", "No data available"),
    (libc::ETIME, "ETIME", "Timer expired"),
    (libc::ENOSR, "ENOSR", "Out of streams resources"),
    (libc::ENONET, "ENONET", "Machine is not on the network"),
    (libc::ENOPKG, "ENOPKG", "Package not installed"),
    (libc::EREMOTE, "EREMOTE", "Object is remote"),
    (libc::ENOLINK, "ENOLINK", "Link has been severed"),
    (libc::EADV, "EADV", "Advertise error"),
    (libc::ESRMNT, "ESRMNT", "Srmount error"),
    (libc::ECOMM, "ECOMM", "Communication error on send"),
    (libc::EPROTO, "EPROTO", "Protocol error"),
    (libc::EMULTIHOP, "EMULTIHOP", "Multihop attempted"),
    (libc::EDOTDOT, "EDOTDOT", "RFS specific error"),
    (libc::EBADMSG, "EBADMSG", "Bad message"),
    (
        libc::EOVERFLOW,
        "EOVERFLOW",
        "Value too large for defined data type",
    ),
    (libc::ENOTUNIQ, "ENOTUNIQ", "Name not unique on network"),
    (libc::EBADFD, "EBADFD", "File descriptor in bad state"),
    (libc::EREMCHG, "EREMCHG", "Remote address changed"),
    (
        libc::ELIBACC,
        "ELIBACC",
        "Can not access a needed shared library",
    ),
    (
        libc::ELIBBAD,
        "ELIBBAD",
        "Accessing a corrupted shared library",
    ),
    (libc::ELIBSCN, "ELIBSCN", ".lib section in a.out corrupted"),
    (
        libc::ELIBMAX,
        "ELIBMAX",
        "Attempting to link in too many shared libraries",
    ),
    (
        libc::ELIBEXEC,
        "ELIBEXEC",
        "Cannot exec a shared library directly",
    ),
    (
        libc::EILSEQ,
        "EILSEQ",
        "Invalid or incomplete multibyte or wide character",
    ),
    (
        libc::ERESTART,
        "ERESTART",
        "Interrupted system call should be restarted",
    ),
    (libc::ESTRPIPE, "ESTRPIPE", "Streams pipe error"),
    (libc::EUSERS, "EUSERS", "Too many users"),
    (libc::ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket"),
    (
        libc::EDESTADDRREQ,
        "EDESTADDRREQ",
        "Destination address required",
    ),
    (libc::EMSGSIZE, "EMSGSIZE", "Message too long"),
    (
        libc::EPROTOTYPE,
        "EPROTOTYPE",
        "Protocol wrong type for socket",
    ),
    (libc::ENOPROTOOPT, "ENOPROTOOPT", "Protocol not available"),
    (
        libc::EPROTONOSUPPORT,
        "EPROTONOSUPPORT",
        "Protocol not supported",
    ),
    (
        libc::ESOCKTNOSUPPORT,
        "ESOCKTNOSUPPORT",
        "Socket type not supported",
    ),
    (libc::EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported"),
    (
        libc::EPFNOSUPPORT,
        "EPFNOSUPPORT",
        "Protocol family not supported",
    ),
    (
        libc::EAFNOSUPPORT,
        "EAFNOSUPPORT",
        "Address family not supported by protocol",
    ),
    (libc::EADDRINUSE, "EADDRINUSE", "Address already in use"),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "Cannot assign requested address",
    ),
    (libc::ENETDOWN, "ENETDOWN", "Network is down"),
    (libc::ENETUNREACH, "ENETUNREACH", "Network is unreachable"),
    (
        libc::ENETRESET,
        "ENETRESET",
        "Network dropped connection on reset",
    ),
    (
        libc::ECONNABORTED,
        "ECONNABORTED",
        "Software caused connection abort",
    ),
    (libc::ECONNRESET, "ECONNRESET", "Connection reset by peer"),
    (libc::ENOBUFS, "ENOBUFS", "No buffer space available"),
    (
        libc::EISCONN,
        "EISCONN",
        "Transport endpoint is already connected",
    ),
    (
        libc::ENOTCONN,
        "ENOTCONN",
        "Transport endpoint is not connected",
    ),
    (
        libc::ESHUTDOWN,
        "ESHUTDOWN",
        "Cannot send after transport endpoint shutdown",
    ),
    (
        libc::ETOOMANYREFS,
        "ETOOMANYREFS",
        "Too many references: cannot splice",
    ),
    (libc::ETIMEDOUT, "ETIMEDOUT", "Connection timed out"),
    (libc::ECONNREFUSED, "ECONNREFUSED", "Connection refused"),
    (libc::EHOSTDOWN, "EHOSTDOWN", "Host is down"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH", "No route to host"),
    (libc::EALREADY, "EALREADY", "Operation already in progress"),
    (
        libc::EINPROGRESS,
        "EINPROGRESS",
        "Operation now in progress",
    ),
    (libc::ESTALE, "ESTALE", "Stale file handle"),
    (libc::EUCLEAN, "EUCLEAN", "Structure needs cleaning"),
    (libc::ENOTNAM, "ENOTNAM", "Not a XENIX named type file"),
    (libc::ENAVAIL, "ENAVAIL", "No XENIX semaphores available"),
    (libc::EISNAM, "EISNAM", "Is a named type file"),
    (libc::EREMOTEIO, "EREMOTEIO", "Remote I/O error"),
    (libc::EDQUOT, "EDQUOT", "Disk quota exceeded"),
    (libc::ENOMEDIUM, "ENOMEDIUM", "No medium found"),
    (libc::EMEDIUMTYPE, "EMEDIUMTYPE", "Wrong medium type"),
    (libc::ECANCELED, "ECANCELED", "Operation canceled"),
    (libc::ENOKEY, "ENOKEY", "Required key not available"),
    (libc::EKEYEXPIRED, "EKEYEXPIRED", "Key has expired"),
    (libc::EKEYREVOKED, "EKEYREVOKED", "Key has been revoked"),
    (
        libc::EKEYREJECTED,
        "EKEYREJECTED",
        "Key was rejected by service",
    ),
    (libc::EOWNERDEAD, "EOWNERDEAD", "Owner died"),
    (
        libc::ENOTRECOVERABLE,
        "ENOTRECOVERABLE",
        "State not recoverable",
    ),
    (
        libc::ERFKILL,
        "ERFKILL",
        "Operation not possible due to RF-kill",
    ),
    (
        libc::EHWPOISON,
        "EHWPOISON",
        "Memory page has hardware error",
    ),
];

/// [`ERRNOS`] indexed by number, `("", "")` for unused numbers.
static USER: [(&str, &str); USER_LEN] = index_errnos();
const USER_LEN: usize = 134;

const fn index_errnos() -> [(&'static str, &'static str); USER_LEN] {
    let mut table = [("", ""); USER_LEN];
    let mut i = 0;
    while i < ERRNOS.len() {
        let (nr, name, message) = ERRNOS[i];
        // An out-of-range number fails the build, not the trace.
        table[nr as usize] = (name, message);
        i += 1;
    }
    table
}

/// Kernel-internal codes from `include/linux/errno.h`, from 512 on. Only
/// the restart codes have messages (strace's); glibc knows none of them.
/// (strace 6.1 lacks `ENOPARAM` and `ENOGRACE` and shows `(errno 519)`.)
const KERNEL_BASE: usize = 512;
static KERNEL: [(&str, Option<&str>); 20] = [
    ("ERESTARTSYS", Some("To be restarted if SA_RESTART is set")),
    ("ERESTARTNOINTR", Some("To be restarted")),
    ("ERESTARTNOHAND", Some("To be restarted if no handler")),
    ("ENOIOCTLCMD", None),
    ("ERESTART_RESTARTBLOCK", Some("Interrupted by signal")),
    ("EPROBE_DEFER", None),
    ("EOPENSTALE", None),
    ("ENOPARAM", None),
    ("", None),
    ("EBADHANDLE", None),
    ("ENOTSYNC", None),
    ("EBADCOOKIE", None),
    ("ENOTSUPP", None),
    ("ETOOSMALL", None),
    ("ESERVERFAULT", None),
    ("EBADTYPE", None),
    ("EJUKEBOX", None),
    ("EIOCBQUEUED", None),
    ("ERECALLCONFLICT", None),
    ("ENOGRACE", None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages() {
        assert_eq!(name(libc::ENOENT), Some("ENOENT"));
        assert_eq!(description(libc::ENOENT), "No such file or directory");
        assert_eq!(name(libc::EAGAIN), Some("EAGAIN"));
        assert_eq!(
            description(libc::EAGAIN),
            "Resource temporarily unavailable"
        );
        assert_eq!(name(libc::EHWPOISON), Some("EHWPOISON"));
    }

    #[test]
    fn restart_codes() {
        assert_eq!(name(512), Some("ERESTARTSYS"));
        assert_eq!(description(512), "To be restarted if SA_RESTART is set");
        assert_eq!(name(516), Some("ERESTART_RESTARTBLOCK"));
        assert_eq!(description(516), "Interrupted by signal");
        assert!(is_restart(512) && is_restart(513) && is_restart(514) && is_restart(516));
        assert!(!is_restart(515) && !is_restart(libc::EINTR));
        // Named by the kernel, unknown to glibc.
        assert_eq!(name(515), Some("ENOIOCTLCMD"));
        assert_eq!(message(515), None);
        assert_eq!(description(515), UNKNOWN);
        assert_eq!(name(531), Some("ENOGRACE"));
    }

    #[test]
    fn unknown_numbers() {
        for errno in [0, -1, 41, 58, 134, 511, 520, 532, 4095, i32::MIN, i32::MAX] {
            assert_eq!(name(errno), None, "{errno}");
            assert_eq!(message(errno), None, "{errno}");
            assert_eq!(description(errno), "Unknown error", "{errno}");
        }
    }

    /// Every name is nix's name for that number (nix has no `&'static`
    /// name, hence the table), and there is a name for each of nix's.
    #[test]
    fn names_agree_with_nix() {
        for errno in 1..USER_LEN as i32 {
            let nix = format!("{:?}", nix::errno::Errno::from_raw(errno));
            match name(errno) {
                Some(name) => assert_eq!(name, nix, "errno {errno}"),
                None => assert_eq!(nix, "UnknownErrno", "errno {errno}"),
            }
        }
    }

    /// Every message is the C library's `strerror` text, as Rust's
    /// `io::Error` renders it (`"<message> (os error N)"`).
    #[test]
    fn messages_agree_with_the_c_library() {
        for errno in 1..USER_LEN as i32 {
            let libc = std::io::Error::from_raw_os_error(errno).to_string();
            let expected = libc
                .strip_suffix(&format!(" (os error {errno})"))
                .unwrap_or(&libc);
            match message(errno) {
                Some(message) => assert_eq!(message, expected, "errno {errno}"),
                None => assert_eq!(expected, format!("Unknown error {errno}")),
            }
        }
    }
}
