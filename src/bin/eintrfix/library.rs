//! Where the command finds libeintrfix.so, and the `LD_PRELOAD` it builds.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The file name of the library.
pub const FILE_NAME: &str = "libeintrfix.so";
/// Where `make install` puts the library, relative to the command's directory.
pub const INSTALLED: &str = "../lib/eintrfix/libeintrfix.so";
/// The variable that overrides the search.
pub const OVERRIDE: &str = crate::config::LIB;

/// A library found, and how.
pub struct Found {
    /// Its absolute path, symbolic links resolved.
    pub path: PathBuf,
    /// Which rule found it.
    pub how: String,
}

/// Finds the library: `EINTRFIX_LIB`; else beside this command (the build
/// tree: target/release/eintrfix next to target/release/libeintrfix.so);
/// else the installed libdir relative to it (PREFIX/bin/eintrfix finds
/// PREFIX/lib/eintrfix/libeintrfix.so). Never the current directory: a
/// library there could be anyone's.
pub fn find() -> Result<Found, String> {
    if let Some(chosen) = std::env::var_os(OVERRIDE).filter(|v| !v.is_empty()) {
        let path = Path::new(&chosen);
        return if path.is_file() {
            absolute(path).map(|path| Found {
                path,
                how: format!("from {OVERRIDE}"),
            })
        } else {
            Err(format!(
                "{OVERRIDE}: '{}' is not a file",
                path.to_string_lossy()
            ))
        };
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find its own executable to look beside it: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let candidates = [
        (dir.join(FILE_NAME), "beside the command"),
        (dir.join(INSTALLED), "in the installed libdir"),
    ];
    for (candidate, how) in &candidates {
        if candidate.is_file() {
            return absolute(candidate).map(|path| Found {
                path,
                how: how.to_string(),
            });
        }
    }
    Err(format!(
        "cannot find {FILE_NAME}: looked at {} and {}; set {OVERRIDE} to its path",
        candidates[0].0.display(),
        candidates[1].0.display()
    ))
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    path.canonicalize()
        .map_err(|e| format!("cannot resolve '{}': {e}", path.display()))
}

/// The `LD_PRELOAD` value: the library first, then whatever was there.
/// The loader splits the value at spaces and colons, so a library path
/// holding one cannot be preloaded.
pub fn preload_value(library: &Path, existing: Option<OsString>) -> Result<OsString, String> {
    let bytes = library.as_os_str().as_bytes();
    if bytes.iter().any(|&b| b == b' ' || b == b':') {
        return Err(format!(
            "the library path '{}' holds a space or a colon, which LD_PRELOAD cannot carry; \
             install it elsewhere or copy it and set {OVERRIDE}",
            library.display()
        ));
    }
    let mut value = library.as_os_str().to_owned();
    // Everything that was there stays, in its order; only this library
    // itself is not repeated (a nested `eintrfix`).
    let existing = existing.unwrap_or_default();
    for entry in existing
        .as_bytes()
        .split(|&b| b == b' ' || b == b':' || b == b'\t')
        .filter(|e| !e.is_empty() && *e != bytes)
    {
        value.push(":");
        value.push(OsStr::from_bytes(entry));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_keeps_what_was_there() {
        let lib = Path::new("/opt/lib/libeintrfix.so");
        assert_eq!(preload_value(lib, None).unwrap(), "/opt/lib/libeintrfix.so");
        assert_eq!(
            preload_value(lib, Some(" ".into())).unwrap(),
            "/opt/lib/libeintrfix.so"
        );
        assert_eq!(
            preload_value(lib, Some("libfoo.so /x/libbar.so".into())).unwrap(),
            "/opt/lib/libeintrfix.so:libfoo.so:/x/libbar.so"
        );
        assert_eq!(
            preload_value(lib, Some("/opt/lib/libeintrfix.so:libfoo.so".into())).unwrap(),
            "/opt/lib/libeintrfix.so:libfoo.so"
        );
        assert!(preload_value(Path::new("/my lib/libeintrfix.so"), None).is_err());
    }
}
