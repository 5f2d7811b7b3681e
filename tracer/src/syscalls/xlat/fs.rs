//! Names of the values file and file-system calls carry: `open` flags,
//! file types, `AT_*` flags, `statx` masks, `access` modes, `lseek`
//! whence, `posix_fadvise` advice, `memfd_create` and `umount2` flags.

use super::Xlat;

pub const AT_FDCWD: i32 = -100;
pub const O_CREAT: u64 = 0o100;

/// `__O_TMPFILE`: `O_TMPFILE` without its `O_DIRECTORY` bit.
pub const O_TMPFILE_BIT: u64 = 0o20000000;

pub const S_IFMT: u64 = 0o170000;
pub const S_IFCHR: u64 = 0o020000;
pub const S_IFBLK: u64 = 0o060000;

pub const OPEN_FLAGS: Xlat = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    // O_SYNC includes O_DSYNC's bit, O_TMPFILE O_DIRECTORY's: first.
    (0o4010000, "O_SYNC"),
    (0o4000000, "__O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
    (0o20000000, "__O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

pub const FILE_TYPES: Xlat = &[
    (0o140000, "S_IFSOCK"),
    (0o120000, "S_IFLNK"),
    (0o100000, "S_IFREG"),
    (0o060000, "S_IFBLK"),
    (0o040000, "S_IFDIR"),
    (0o020000, "S_IFCHR"),
    (0o010000, "S_IFIFO"),
];

pub const AT_FLAGS: Xlat = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];

pub const FACCESSAT_FLAGS: Xlat = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];

pub const STATX_SYNC_MASK: u32 = 0x6000;

pub const STATX_SYNC: Xlat = &[
    (0, "AT_STATX_SYNC_AS_STAT"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
];

pub const STATX_MASKS: Xlat = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
    (0x20000, "STATX_DIO_READ_ALIGN"),
];

pub const ACCESS_MODES: Xlat = &[(0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

pub const WHENCE: Xlat = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

pub const FADVISE: Xlat = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];

pub const MFD_FLAGS: Xlat = &[
    (0x1, "MFD_CLOEXEC"),
    (0x2, "MFD_ALLOW_SEALING"),
    (0x4, "MFD_HUGETLB"),
    (0x8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

pub const UMOUNT_FLAGS: Xlat = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

/// The set-id and sticky bits, in the order strace names them in a mode.
pub const MODE_BITS: Xlat = &[
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
];

/// `statx`'s `stx_attributes`.
pub const STATX_ATTRS: Xlat = &[
    (0x4, "STATX_ATTR_COMPRESSED"),
    (0x10, "STATX_ATTR_IMMUTABLE"),
    (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"),
    (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x100000, "STATX_ATTR_VERITY"),
    (0x200000, "STATX_ATTR_DAX"),
    (0x400000, "STATX_ATTR_WRITE_ATOMIC"),
];

/// `statfs`'s `f_type`, as strace 6.1 names them (`xlat/fsmagic.in`);
/// unknown ones are plain hex.
pub const FS_MAGIC: Xlat = &[
    (0x0000002f, "QNX4_SUPER_MAGIC"),
    (0x00000033, "Z3FOLD_MAGIC"),
    (0x00000187, "AUTOFS_SUPER_MAGIC"),
    (0x00001373, "DEVFS_SUPER_MAGIC"),
    (0x0000137d, "EXT_SUPER_MAGIC"),
    (0x0000137f, "MINIX_SUPER_MAGIC"),
    (0x0000138f, "MINIX_SUPER_MAGIC2"),
    (0x00001cd1, "DEVPTS_SUPER_MAGIC"),
    (0x00002468, "MINIX2_SUPER_MAGIC"),
    (0x00002478, "MINIX2_SUPER_MAGIC2"),
    (0x00003434, "NILFS_SUPER_MAGIC"),
    (0x00004244, "HFS_SUPER_MAGIC"),
    (0x0000482b, "HFSPLUS_SUPER_MAGIC"),
    (0x00004d44, "MSDOS_SUPER_MAGIC"),
    (0x00004d5a, "MINIX3_SUPER_MAGIC"),
    (0x0000517b, "SMB_SUPER_MAGIC"),
    (0x0000564c, "NCP_SUPER_MAGIC"),
    (0x00005df5, "EXOFS_SUPER_MAGIC"),
    (0x00006969, "NFS_SUPER_MAGIC"),
    (0x00007275, "ROMFS_MAGIC"),
    (0x000072b6, "JFFS2_SUPER_MAGIC"),
    (0x00009660, "ISOFS_SUPER_MAGIC"),
    (0x00009fa0, "PROC_SUPER_MAGIC"),
    (0x00009fa1, "OPENPROM_SUPER_MAGIC"),
    (0x00009fa2, "USBDEVICE_SUPER_MAGIC"),
    (0x0000adf5, "ADFS_SUPER_MAGIC"),
    (0x0000adff, "AFFS_SUPER_MAGIC"),
    (0x0000ef51, "EXT2_OLD_SUPER_MAGIC"),
    (0x0000ef53, "EXT2_SUPER_MAGIC"),
    (0x0000f15f, "ECRYPTFS_SUPER_MAGIC"),
    (0x00011954, "UFS_MAGIC"),
    (0x0027e0eb, "CGROUP_SUPER_MAGIC"),
    (0x00414a53, "EFS_SUPER_MAGIC"),
    (0x00c0ffee, "HOSTFS_SUPER_MAGIC"),
    (0x00c36400, "CEPH_SUPER_MAGIC"),
    (0x01021994, "TMPFS_MAGIC"),
    (0x01021997, "V9FS_MAGIC"),
    (0x01161970, "GFS2_MAGIC"),
    (0x012fd16d, "XIAFS_SUPER_MAGIC"),
    (0x012ff7b4, "XENIX_SUPER_MAGIC"),
    (0x012ff7b5, "SYSV4_SUPER_MAGIC"),
    (0x012ff7b6, "SYSV2_SUPER_MAGIC"),
    (0x012ff7b7, "COH_SUPER_MAGIC"),
    (0x02011994, "SHMFS_SUPER_MAGIC"),
    (0x09041934, "ANON_INODE_FS_MAGIC"),
    (0x0bad1dea, "FUTEXFS_SUPER_MAGIC"),
    (0x11307854, "MTD_INODE_FS_MAGIC"),
    (0x13661366, "BALLOON_KVM_MAGIC"),
    (0x15013346, "UDF_SUPER_MAGIC"),
    (0x1badface, "BFS_MAGIC"),
    (0x2011bab0, "EXFAT_SUPER_MAGIC"),
    (0x24051905, "UBIFS_SUPER_MAGIC"),
    (0x28cd3d45, "CRAMFS_MAGIC"),
    (0x2fc12fc1, "ZFS_SUPER_MAGIC"),
    (0x3153464a, "JFS_SUPER_MAGIC"),
    (0x42465331, "BEFS_SUPER_MAGIC"),
    (0x42494e4d, "BINFMTFS_MAGIC"),
    (0x43415d53, "SMACK_MAGIC"),
    (0x444d4142, "DMA_BUF_MAGIC"),
    (0x453dcd28, "CRAMFS_MAGIC_WEND"),
    (0x454d444d, "DEVMEM_MAGIC"),
    (0x47504653, "GPFS_SUPER_MAGIC"),
    (0x50495045, "PIPEFS_MAGIC"),
    (0x52654973, "REISERFS_SUPER_MAGIC"),
    (0x5345434d, "SECRETMEM_MAGIC"),
    (0x5346414f, "AFS_SUPER_MAGIC"),
    (0x5346544e, "NTFS_SB_MAGIC"),
    (0x534f434b, "SOCKFS_MAGIC"),
    (0x54190100, "UFS_CIGAM"),
    (0x565a4653, "VZFS_SUPER_MAGIC"),
    (0x57ac6e9d, "STACK_END_MAGIC"),
    (0x58295829, "ZSMALLOC_MAGIC"),
    (0x58465342, "XFS_SUPER_MAGIC"),
    (0x5a3c69f0, "AAFS_MAGIC"),
    (0x5a4f4653, "ZONEFS_MAGIC"),
    (0x6165676c, "PSTOREFS_MAGIC"),
    (0x61756673, "AUFS_SUPER_MAGIC"),
    (0x62646576, "BDEVFS_MAGIC"),
    (0x62656570, "CONFIGFS_MAGIC"),
    (0x62656572, "SYSFS_MAGIC"),
    (0x63677270, "CGROUP2_SUPER_MAGIC"),
    (0x64626720, "DEBUGFS_MAGIC"),
    (0x64646178, "DAXFS_MAGIC"),
    (0x65735543, "FUSE_CTL_SUPER_MAGIC"),
    (0x65735546, "FUSE_SUPER_MAGIC"),
    (0x68191122, "QNX6_SUPER_MAGIC"),
    (0x6b414653, "AFS_FS_MAGIC"),
    (0x6c6f6f70, "BINDERFS_SUPER_MAGIC"),
    (0x6e736673, "NSFS_MAGIC"),
    (0x73636673, "SECURITYFS_MAGIC"),
    (0x73717368, "SQUASHFS_MAGIC"),
    (0x73727279, "BTRFS_TEST_MAGIC"),
    (0x73757245, "CODA_SUPER_MAGIC"),
    (0x7461636f, "OCFS2_SUPER_MAGIC"),
    (0x74726163, "TRACEFS_MAGIC"),
    (0x794c7630, "OVERLAYFS_SUPER_MAGIC"),
    (0x858458f6, "RAMFS_MAGIC"),
    (0x9123683e, "BTRFS_SUPER_MAGIC"),
    (0x958458f6, "HUGETLBFS_MAGIC"),
    (0xa501fcf5, "VXFS_SUPER_MAGIC"),
    (0xabba1974, "XENFS_SUPER_MAGIC"),
    (0xc7571590, "PPC_CMM_MAGIC"),
    (0xc97e8168, "LOGFS_MAGIC"),
    (0xcafe4a11, "BPF_FS_MAGIC"),
    (0xde5e81e4, "EFIVARFS_MAGIC"),
    (0xe0f5e1e2, "EROFS_SUPER_MAGIC_V1"),
    (0xf2f52010, "F2FS_SUPER_MAGIC"),
    (0xf97cff8c, "SELINUX_MAGIC"),
    (0xf995e849, "HPFS_SUPER_MAGIC"),
    (0xfe534d42, "SMB2_SUPER_MAGIC"),
    (0xff534d42, "CIFS_SUPER_MAGIC"),
];

/// `ST_VALID`: `f_flags` is meaningful (strace shows it only then).
pub const ST_VALID: u64 = 0x20;

/// `statfs`'s `f_flags`, in strace's order.
pub const STATFS_FLAGS: Xlat = &[
    (ST_VALID, "ST_VALID"),
    (0x1, "ST_RDONLY"),
    (0x2, "ST_NOSUID"),
    (0x4, "ST_NODEV"),
    (0x8, "ST_NOEXEC"),
    (0x10, "ST_SYNCHRONOUS"),
    (0x40, "ST_MANDLOCK"),
    (0x400, "ST_NOATIME"),
    (0x800, "ST_NODIRATIME"),
    (0x1000, "ST_RELATIME"),
    (0x2000, "ST_NOSYMFOLLOW"),
];
