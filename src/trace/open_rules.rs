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
    walk(buf, len, Some((flags, mode)))
}

/// Applies the rules to the path in `buf[..len]` without opening it for
/// writing: Ok if it exists and passes them, or does not exist (it would
/// be created). `buf` as for [`open`].
pub fn check(buf: &mut [u8], len: usize) -> Result<(), Denied<'_>> {
    // Without `open`, walk opens nothing for writing and returns no fd.
    walk(buf, len, None).map(|_| ())
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
fn walk(
    buf: &mut [u8],
    len: usize,
    open: Option<(c_int, libc::mode_t)>,
) -> Result<c_int, Denied<'_>> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
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
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    const OTHER: u32 = 65534;

    /// A fresh directory with `mode`, owned by root, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str, mode: u32) -> Dir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "eintrfix-rules-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir(&path).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            Dir(path)
        }

        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn root() -> bool {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            eprintln!("skipped: needs root to make files of another user");
        }
        root
    }

    /// What the rules say about `path`: Ok(()) opened (the fd is closed),
    /// or the refusal's text, or the errno.
    fn open_path(path: &Path) -> Result<(), String> {
        let mut buf = [0u8; 4096];
        let bytes = path.as_os_str().as_bytes();
        buf[..bytes.len()].copy_from_slice(bytes);
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_NONBLOCK;
        match open(&mut buf, bytes.len(), flags, 0o600) {
            Ok(fd) => {
                assert!(fd >= 0);
                // SAFETY: the fd just opened, written once then closed.
                unsafe {
                    assert_eq!(libc::write(fd, b"x".as_ptr().cast(), 1), 1);
                    libc::close(fd);
                }
                Ok(())
            }
            Err(denied) => Err(describe(denied)),
        }
    }

    fn check_path(path: &Path) -> Result<(), String> {
        let mut buf = [0u8; 4096];
        let bytes = path.as_os_str().as_bytes();
        buf[..bytes.len()].copy_from_slice(bytes);
        check(&mut buf, bytes.len()).map_err(describe)
    }

    fn describe(denied: Denied) -> String {
        match denied {
            Denied::Error(e) => format!("errno {e}"),
            Denied::Refused(r) => {
                assert!(!r.path.is_empty());
                r.to_string()
            }
        }
    }

    /// Both entry points agree, and say `expected`.
    fn both(path: &Path, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        let checked = check_path(path);
        match (&checked, &expected) {
            (Err(got), Err(want)) => assert!(got.starts_with(want.as_str()), "{path:?}: {got}"),
            _ => assert_eq!(checked, expected, "check {path:?}"),
        }
        let opened = open_path(path);
        match (&opened, &expected) {
            (Err(got), Err(want)) => assert!(got.starts_with(want.as_str()), "{path:?}: {got}"),
            _ => assert_eq!(opened, expected, "open {path:?}"),
        }
    }

    fn file(path: &Path, owner: u32) {
        fs::write(path, "").unwrap();
        lchown(path, Some(owner), None).unwrap();
    }

    fn link(target: &Path, path: &Path, owner: u32) {
        symlink(target, path).unwrap();
        lchown(path, Some(owner), None).unwrap();
    }

    fn size(path: &Path) -> u64 {
        fs::metadata(path).unwrap().len()
    }

    const OTHERS_LINK: &str =
        "it is a symbolic link owned by uid 65534 in a sticky world-writable directory";

    #[test]
    fn another_users_link_in_a_shared_directory_is_not_followed() {
        if !root() {
            return;
        }
        let private = Dir::new("private", 0o700);
        let victim = private.join("victim");
        file(&victim, 0);
        let shared = Dir::new("shared", 0o1777);
        let planted = shared.join("app.log");
        link(&victim, &planted, OTHER);
        both(&planted, Err(OTHERS_LINK));
        assert_eq!(size(&victim), 0, "the target was not written");

        // The same link made by this process's user, or in a private
        // directory, is followed.
        let own = shared.join("own.log");
        link(&victim, &own, 0);
        both(&own, Ok(()));
        assert_eq!(size(&victim), 1);
        let elsewhere = private.join("link");
        link(&victim, &elsewhere, OTHER);
        both(&elsewhere, Ok(()));
        assert_eq!(size(&victim), 2);
    }

    #[test]
    fn another_users_file_or_fifo_in_a_shared_directory_is_not_written() {
        if !root() {
            return;
        }
        let shared = Dir::new("files", 0o1777);
        let theirs = shared.join("theirs.log");
        file(&theirs, OTHER);
        both(
            &theirs,
            Err(
                "it is a regular file owned by uid 65534 in a sticky world-writable directory, \
                 and the protected_regular rule writes to one there only if owned by the \
                 effective uid (0) or the directory's owner (0)",
            ),
        );
        assert_eq!(size(&theirs), 0);
        let fifo = shared.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
        lchown(&fifo, Some(OTHER), None).unwrap();
        both(
            &fifo,
            Err(
                "it is a FIFO owned by uid 65534 in a sticky world-writable directory, and \
                 the protected_fifos rule",
            ),
        );
        // Ours is written to; a new one is created, mode 0600.
        let ours = shared.join("ours.log");
        file(&ours, 0);
        both(&ours, Ok(()));
        assert_eq!(size(&ours), 1);
        let new = shared.join("new.log");
        assert_eq!(check_path(&new), Ok(()));
        assert!(!new.exists(), "check creates nothing");
        assert_eq!(open_path(&new), Ok(()));
        assert_eq!(fs::metadata(&new).unwrap().mode() & 0o7777, 0o600);
    }

    #[test]
    fn a_hard_link_in_a_shared_directory_is_not_written() {
        if !root() {
            return;
        }
        let private = Dir::new("hl-private", 0o700);
        let victim = private.join("victim");
        file(&victim, 0);
        let shared = Dir::new("hl-shared", 0o1777);
        let planted = shared.join("app.log");
        fs::hard_link(&victim, &planted).unwrap();
        both(
            &planted,
            Err("it is a regular file with 2 hard links in a sticky world-writable directory"),
        );
        assert_eq!(size(&victim), 0);
        // Elsewhere, a hard link is a file like any other.
        let other = private.join("other");
        fs::hard_link(&victim, &other).unwrap();
        both(&other, Ok(()));
    }

    #[test]
    fn which_directories_are_shared() {
        if !root() {
            return;
        }
        for (mode, shared) in [
            (0o1777, Some("world")),
            (0o1770, Some("group")),
            (0o1775, Some("group")),
            (0o1755, None),
            (0o0777, None),
            (0o0770, None),
        ] {
            let dir = Dir::new("modes", mode);
            let planted = dir.join("x.log");
            link(Path::new("/dev/null"), &planted, OTHER);
            let expected = shared.map(|kind| {
                format!("it is a symbolic link owned by uid 65534 in a sticky {kind}-writable directory")
            });
            match expected {
                None => both(&planted, Ok(())),
                Some(text) => both(&planted, Err(&text)),
            }
        }
        // The directory's owner is trusted, as the kernel trusts it: it
        // could make the directory anything.
        let theirs = Dir::new("owned", 0o1777);
        std::os::unix::fs::chown(&theirs.0, Some(OTHER), None).unwrap();
        let planted = theirs.join("x.log");
        link(Path::new("/dev/null"), &planted, OTHER);
        both(&planted, Ok(()));
    }

    #[test]
    fn each_link_of_a_chain_is_checked_in_its_own_directory() {
        if !root() {
            return;
        }
        let private = Dir::new("chain-private", 0o700);
        let victim = private.join("victim");
        file(&victim, 0);
        let shared = Dir::new("chain-shared", 0o1777);
        // ours -> theirs (another user's link) -> victim: refused at the
        // second link, which is named.
        let theirs = shared.join("theirs");
        link(&victim, &theirs, OTHER);
        let ours = private.join("ours");
        link(&theirs, &ours, 0);
        let text = format!(
            "its link target '{}' is a symbolic link owned by uid 65534",
            theirs.display()
        );
        both(&ours, Err(&text));
        // A relative target is taken from the link's directory, and
        // checked there: 'rel' -> 'theirs' in the shared directory.
        let rel = shared.join("rel");
        link(Path::new("theirs"), &rel, 0);
        both(&rel, Err("its link target 'theirs' is a symbolic link"));
        let up = Path::new("..")
            .join(private.0.file_name().unwrap())
            .join("victim");
        let good = shared.join("good");
        link(&up, &good, 0);
        both(&good, Ok(()));
        assert_eq!(size(&victim), 1);
        let missing = shared.join("missing");
        link(Path::new("../eintrfix-rules-none/x"), &missing, 0);
        both(&missing, Err(&format!("errno {}", libc::ENOENT)));
        // A dangling link of ours creates its target, as open(O_CREAT).
        let dangling = shared.join("dangling");
        let target = private.join("made-through-link");
        link(&target, &dangling, 0);
        both(&dangling, Ok(()));
        assert_eq!(size(&target), 1);
        // A loop ends with ELOOP.
        let a = private.join("a");
        link(&private.join("b"), &a, 0);
        link(&a, &private.join("b"), 0);
        both(&a, Err(&format!("errno {}", libc::ELOOP)));
    }

    #[test]
    fn paths_that_are_not_files() {
        let dir = Dir::new("dirs", 0o700);
        let eisdir = Err(format!("errno {}", libc::EISDIR));
        assert_eq!(open_path(&dir.0), eisdir);
        assert_eq!(open_path(Path::new("/")), eisdir);
        assert_eq!(open_path(&dir.join("x/")), eisdir);
        assert_eq!(
            open_path(&dir.join("none/x")),
            Err(format!("errno {}", libc::ENOENT))
        );
        let mut buf = *b"/tmp\0x\0";
        assert!(matches!(
            open(&mut buf, 6, libc::O_WRONLY, 0o600),
            Err(Denied::Error(libc::EINVAL))
        ));
        let mut buf = [0u8; 1];
        assert!(matches!(
            check(&mut buf, 0),
            Err(Denied::Error(libc::ENOENT))
        ));
        // No room for the NUL.
        let mut buf = *b"/tmp/x";
        assert!(matches!(
            open(&mut buf, 6, libc::O_WRONLY, 0o600),
            Err(Denied::Error(libc::ENAMETOOLONG))
        ));
    }
}
