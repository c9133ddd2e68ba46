//! The rules of the log file's open, tried on real directories.

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
            format!(
                "it is a symbolic link owned by uid 65534 in a sticky {kind}-writable directory"
            )
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
