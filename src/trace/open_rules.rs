//! The rules a log file must pass before the shim writes to it: the
//! kernel's `fs.protected_symlinks`, `fs.protected_regular` and
//! `fs.protected_fifos`, applied here whatever the sysctls say (they are 0
//! on many distributions and in most containers), and a rule for hard
//! links. The library opens the file with [`open`]; the CLI checks
//! `--log-file` with [`check`] before it runs the program (it compiles
//! this file into itself), so both apply the same rules.
//!
//! A directory is *shared* when it is sticky and writable by its group or
//! by everyone (`/tmp`, `/var/tmp`, `/dev/shm`): other users can create
//! names in it, but not remove or rename names they do not own. The
//! kernel's symlink rule covers world-writable sticky directories only,
//! its regular-file and FIFO rules group-writable ones too at level 2;
//! here all three use level 2. In a shared directory, the final component
//! of the path:
//! - if a symbolic link, is followed only if owned by the effective uid or
//!   by the directory's owner (protected_symlinks);
//! - if an existing regular file or FIFO, is written to only if owned by
//!   the effective uid or by the directory's owner (protected_regular,
//!   protected_fifos), and only if it has one link: with
//!   `fs.protected_hardlinks` off, anyone may have linked someone else's
//!   file there, owner and all.
//!
//! A file this process creates (`O_CREAT | O_EXCL`) is its own. The other
//! components of the path are resolved by the kernel as usual; a followed
//! link's own target is checked by the same rules in the directory it
//! names, as the kernel checks every trailing link of a chain.
//!
//! No decision depends on a name looked up twice: the directory is held
//! open (`O_PATH`) and checked with `fstat`; the final name is opened with
//! `O_PATH | O_NOFOLLOW` (no side effect even on a FIFO or a device) and
//! checked with `fstat`; a link's target is read from that same fd. The
//! file is then opened for writing with `O_NOFOLLOW` relative to the
//! directory and checked again on the fd written to, so a name swapped in
//! between is caught. Names this process may trust cannot be swapped by
//! others: the sticky bit stops them.
//!
//! Raw system calls, `fstat` and `geteuid` only: async-signal-safe, no
//! allocation, no hooked libc function (the file may be opened from a signal handler or a
//! forked child of a threaded parent).

use crate::config::Escaped;
use core::ffi::{c_char, c_int, c_long};
use core::fmt;

/// Symbolic links followed before giving up with ELOOP (the kernel's
/// MAXSYMLINKS); also bounds the retries when a name changes under us.
const MAX_STEPS: usize = 40;

/// What the refused name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A symbolic link.
    Symlink,
    /// A regular file.
    Regular,
    /// A FIFO.
    Fifo,
}

/// Which rule refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Owned by neither the effective uid nor the directory's owner.
    Owner,
    /// A file with more than one hard link.
    Links,
}

/// Why a name in a shared directory was refused.
#[derive(Debug)]
pub struct Refusal<'a> {
    /// The path as given.
    pub path: &'a [u8],
    /// The link target refused, when it is not `path` itself.
    pub target: Option<&'a [u8]>,
    /// What it is.
    pub kind: Kind,
    /// Which rule refused it.
    pub rule: Rule,
    /// Its owner.
    pub owner: u32,
    /// Its number of hard links.
    pub links: libc::nlink_t,
    /// This process's effective uid.
    pub euid: u32,
    /// The directory's owner.
    pub dir_owner: u32,
    /// Whether the directory is world-writable (else group-writable).
    pub world_writable: bool,
}

/// Why the file was not opened (or would not be).
#[derive(Debug)]
pub enum Denied<'a> {
    /// A system call failed with this errno.
    Error(c_int),
    /// A rule refused it.
    Refused(Refusal<'a>),
}

/// Opens the path in `buf[..len]` for writing with `flags` (without
/// `O_CREAT`), creating it with `mode` if it does not exist. The rest of
/// `buf` holds the targets of the links followed: it needs at least one
/// byte for a NUL, and a target longer than it fails with ENAMETOOLONG.
/// Returns the fd.
pub fn open(
    buf: &mut [u8],
    len: usize,
    flags: c_int,
    mode: libc::mode_t,
) -> Result<c_int, Denied<'_>> {
    resolve(buf, len, Some((flags, mode)))
}

/// Applies the rules to the path in `buf[..len]` without opening it for
/// writing: Ok if it exists and passes them, or does not exist (it would
/// be created). `buf` as for [`open`].
pub fn check(buf: &mut [u8], len: usize) -> Result<(), Denied<'_>> {
    // Without `open`, resolve opens nothing for writing and returns no fd.
    resolve(buf, len, None).map(|_| ())
}

/// An fd this module opened, closed when dropped.
struct Fd(c_int);

impl Fd {
    /// Gives the fd up to the caller, unclosed.
    fn into_raw(self) -> c_int {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        close(self.0);
    }
}

fn close(fd: c_int) {
    if fd >= 0 {
        // SAFETY: close on an fd this module opened and owns.
        unsafe { libc::syscall(libc::SYS_close, fd) };
    }
}

/// `openat(dir, path, flags, mode)`; `path` must be NUL-terminated.
fn openat(dir: c_int, path: &[u8], flags: c_int, mode: libc::mode_t) -> Result<Fd, c_int> {
    if path.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    // SAFETY: `path` is NUL-terminated and outlives the call.
    let fd: c_long = unsafe {
        libc::syscall(
            libc::SYS_openat,
            dir,
            path.as_ptr().cast::<c_char>(),
            flags | libc::O_CLOEXEC,
            mode,
        )
    };
    match c_int::try_from(fd) {
        Ok(fd) if fd >= 0 => Ok(Fd(fd)),
        _ => Err(crate::errno::get()),
    }
}

/// fstat(2) as a system call: glibc's `fstat` is `fstat@GLIBC_2.33`, older
/// ones have only `__fxstat`. The kernel's `struct stat` is libc's on
/// 64-bit Linux.
fn fstat(fd: &Fd) -> Result<libc::stat, c_int> {
    // SAFETY: a zeroed stat is a valid value to be overwritten; the system
    // call only writes into it.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if libc::syscall(libc::SYS_fstat, fd.0, &mut st as *mut libc::stat) == 0 {
            Ok(st)
        } else {
            Err(crate::errno::get())
        }
    }
}

/// Reads the target of the link `fd` (opened with `O_PATH | O_NOFOLLOW`)
/// into `out`, NUL-terminated; returns its length.
fn read_link(fd: &Fd, out: &mut [u8]) -> Result<usize, c_int> {
    // SAFETY: the empty path is NUL-terminated; `out` is valid for writes
    // of its length.
    let n: c_long = unsafe {
        libc::syscall(
            libc::SYS_readlinkat,
            fd.0,
            c"".as_ptr(),
            out.as_mut_ptr().cast::<c_char>(),
            out.len(),
        )
    };
    let n = usize::try_from(n).map_err(|_| crate::errno::get())?;
    // A target that fills `out` may have been cut: too long for us.
    let slot = out.get_mut(n).filter(|_| n > 0).ok_or(libc::ENAMETOOLONG)?;
    *slot = 0;
    Ok(n)
}

fn is(st: &libc::stat, kind: libc::mode_t) -> bool {
    st.st_mode & libc::S_IFMT == kind
}

/// What the rules need to know about the directory holding the name.
struct Directory {
    fd: Fd,
    owner: u32,
    /// Sticky, and writable by its group or everyone.
    shared: bool,
    world_writable: bool,
}

impl Directory {
    /// Opens the directory of `buf[start..end]` (`.` when the path has no
    /// slash) relative to `base`. Returns it and where the final name
    /// starts; EISDIR if there is none (the path ends with a slash).
    fn open(buf: &mut [u8], start: usize, end: usize, base: c_int) -> Result<(Self, usize), c_int> {
        let path = buf.get(start..end).ok_or(libc::EINVAL)?;
        let slash = path.iter().rposition(|&b| b == b'/');
        let name = slash.map_or(start, |s| start + s + 1);
        if name == end {
            // The path ends with a slash: a directory, or none at all.
            return Err(libc::EISDIR);
        }
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        let fd = match slash {
            None => openat(base, b".\0", flags, 0),
            Some(0) => openat(base, b"/\0", flags, 0),
            Some(s) => {
                // Cut the path at its last slash for the call, then mend it.
                let at = start + s;
                let slot = buf.get_mut(at).ok_or(libc::EINVAL)?;
                *slot = 0;
                let fd = openat(base, buf.get(start..=at).unwrap_or_default(), flags, 0);
                if let Some(slot) = buf.get_mut(at) {
                    *slot = b'/';
                }
                fd
            }
        }?;
        let st = fstat(&fd)?;
        let writable = st.st_mode & (libc::S_IWGRP | libc::S_IWOTH) != 0;
        let directory = Directory {
            fd,
            owner: st.st_uid,
            shared: st.st_mode & libc::S_ISVTX != 0 && writable,
            world_writable: st.st_mode & libc::S_IWOTH != 0,
        };
        Ok((directory, name))
    }

    /// The rule, if any, that refuses writing to the existing file `st` in
    /// this directory.
    fn refuses(&self, st: &libc::stat, euid: u32) -> Option<(Kind, Rule)> {
        let kind = if is(st, libc::S_IFLNK) {
            Kind::Symlink
        } else if is(st, libc::S_IFREG) {
            Kind::Regular
        } else if is(st, libc::S_IFIFO) {
            Kind::Fifo
        } else {
            return None;
        };
        if !self.shared {
            None
        } else if st.st_uid != euid && st.st_uid != self.owner {
            Some((kind, Rule::Owner))
        } else if kind != Kind::Symlink && st.st_nlink > 1 {
            Some((kind, Rule::Links))
        } else {
            None
        }
    }
}

/// Resolves `buf[..len]` by the rules; with `open` `Some((flags, mode))`,
/// opens it for writing (creating it if needed), else only checks it and
/// returns -1.
fn resolve(
    buf: &mut [u8],
    len: usize,
    open: Option<(c_int, libc::mode_t)>,
) -> Result<c_int, Denied<'_>> {
    // SAFETY: geteuid has no preconditions (the raw system call: one
    // import less for the loader to bind in every process).
    let euid = unsafe { libc::syscall(libc::SYS_geteuid) } as libc::uid_t;
    // The given path is buf[..len], then a NUL; each link target read is
    // written after it, NUL-terminated, over the previous one.
    let targets = len + 1;
    match buf.get(..len) {
        Some([]) => return Err(Denied::Error(libc::ENOENT)),
        // The kernel would see a shorter path than the one checked.
        Some(path) if path.contains(&0) => return Err(Denied::Error(libc::EINVAL)),
        _ => {}
    }
    match buf.get_mut(len) {
        Some(nul) => *nul = 0,
        None => return Err(Denied::Error(libc::ENAMETOOLONG)),
    }
    // The current path, buf[start..end].
    let (mut start, mut end) = (0, len);
    // The directory of the last link followed: a relative target is
    // relative to it.
    let mut base: Option<Fd> = None;
    for _ in 0..MAX_STEPS {
        let at = base.as_ref().map_or(libc::AT_FDCWD, |fd| fd.0);
        let (dir, name) = Directory::open(buf, start, end, at).map_err(Denied::Error)?;
        // The final name, NUL-terminated.
        let name = buf.get(name..=end).unwrap_or_default();
        let found = match openat(dir.fd.0, name, libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => fd,
            Err(libc::ENOENT) => {
                let Some((flags, mode)) = open else {
                    return Ok(-1);
                };
                let created = libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
                match openat(dir.fd.0, name, flags | created, mode) {
                    Ok(fd) => return Ok(fd.into_raw()),
                    // Made by someone else meanwhile: look again.
                    Err(libc::EEXIST) => continue,
                    Err(error) => return Err(Denied::Error(error)),
                }
            }
            Err(error) => return Err(Denied::Error(error)),
        };
        let st = fstat(&found).map_err(Denied::Error)?;
        let (st, (kind, rule)) = match (dir.refuses(&st, euid), open) {
            (Some(refused), _) => (st, refused),
            (None, _) if is(&st, libc::S_IFLNK) => {
                let target = buf.get_mut(targets..).unwrap_or_default();
                let n = read_link(&found, target).map_err(Denied::Error)?;
                (start, end) = (targets, targets + n);
                base = Some(dir.fd);
                continue;
            }
            (None, None) => return Ok(-1),
            (None, Some((flags, _))) => {
                drop(found);
                let fd = match openat(dir.fd.0, name, flags | libc::O_NOFOLLOW, 0) {
                    Ok(fd) => fd,
                    // Replaced by a link, or removed, meanwhile: look again.
                    Err(libc::ELOOP | libc::ENOENT) => continue,
                    Err(error) => return Err(Denied::Error(error)),
                };
                // The fd written to decides: the name may have changed
                // since it was looked at.
                let st = fstat(&fd).map_err(Denied::Error)?;
                match dir.refuses(&st, euid) {
                    None => return Ok(fd.into_raw()),
                    Some(refused) => (st, refused),
                }
            }
        };
        let buf: &[u8] = buf;
        return Err(Denied::Refused(Refusal {
            path: buf.get(..len).unwrap_or_default(),
            target: (start != 0).then(|| buf.get(start..end).unwrap_or_default()),
            kind,
            rule,
            owner: st.st_uid,
            links: st.st_nlink,
            euid,
            dir_owner: dir.owner,
            world_writable: dir.world_writable,
        }));
    }
    Err(Denied::Error(libc::ELOOP))
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            None => f.write_str("it is")?,
            Some(target) => write!(f, "its link target '{}' is", Escaped(target))?,
        }
        let what = match self.kind {
            Kind::Symlink => "a symbolic link",
            Kind::Regular => "a regular file",
            Kind::Fifo => "a FIFO",
        };
        let dir = if self.world_writable {
            "world-writable"
        } else {
            "group-writable"
        };
        match (self.rule, self.kind) {
            (Rule::Owner, kind) => write!(
                f,
                " {what} owned by uid {} in a sticky {dir} directory, and the {} rule {} one \
                 there only if owned by the effective uid ({}) or the directory's owner ({})",
                self.owner,
                match kind {
                    Kind::Symlink => "protected_symlinks",
                    Kind::Regular => "protected_regular",
                    Kind::Fifo => "protected_fifos",
                },
                if kind == Kind::Symlink {
                    "follows"
                } else {
                    "writes to"
                },
                self.euid,
                self.dir_owner
            ),
            (Rule::Links, _) => write!(
                f,
                " {what} with {} hard links in a sticky {dir} directory, and the hard-link \
                 rule writes to one there only if it has a single link (another user may \
                 have made the others)",
                self.links
            ),
        }
    }
}

#[cfg(test)]
#[path = "open_rules/tests.rs"]
mod tests;
