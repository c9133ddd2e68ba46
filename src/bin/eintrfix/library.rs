//! Where the command finds libeintrfix.so, and the `LD_PRELOAD` it builds.

use crate::shown;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The file name of the library.
pub const FILE_NAME: &str = "libeintrfix.so";
/// Where `make install` puts the library, relative to the command's directory.
pub const INSTALLED: &str = "../lib/eintrfix/libeintrfix.so";
/// The variable that overrides the search.
pub const OVERRIDE: &str = crate::config::LIB;

/// Debian's multiarch tuple for the architecture this command is built for
/// (what `dpkg-architecture -qDEB_HOST_MULTIARCH` prints there), where the
/// package puts the library: /usr/bin/eintrfix finds
/// /usr/lib/TUPLE/eintrfix/libeintrfix.so. The command preloads a library
/// into programs of its own architecture, so the tuple is fixed when it is
/// compiled. `None` on an architecture Debian does not name here.
pub const MULTIARCH: Option<&str> = multiarch();

const fn multiarch() -> Option<&'static str> {
    let tuple = if cfg!(all(target_arch = "x86_64", target_pointer_width = "64")) {
        "x86_64-linux-gnu"
    } else if cfg!(target_arch = "x86_64") {
        "x86_64-linux-gnux32"
    } else if cfg!(target_arch = "x86") {
        "i386-linux-gnu"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64-linux-gnu"
    } else if cfg!(all(target_arch = "arm", target_abi = "eabihf")) {
        "arm-linux-gnueabihf"
    } else if cfg!(target_arch = "arm") {
        "arm-linux-gnueabi"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "powerpc64le-linux-gnu"
    } else if cfg!(target_arch = "powerpc64") {
        "powerpc64-linux-gnu"
    } else if cfg!(target_arch = "powerpc") {
        "powerpc-linux-gnu"
    } else if cfg!(target_arch = "s390x") {
        "s390x-linux-gnu"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64-linux-gnu"
    } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
        "mips64el-linux-gnuabi64"
    } else if cfg!(all(target_arch = "mips", target_endian = "little")) {
        "mipsel-linux-gnu"
    } else if cfg!(target_arch = "loongarch64") {
        "loongarch64-linux-gnu"
    } else if cfg!(target_arch = "sparc64") {
        "sparc64-linux-gnu"
    } else {
        return None;
    };
    // Only glibc: a musl build of the command is not what Debian packages.
    if cfg!(target_env = "gnu") {
        Some(tuple)
    } else {
        None
    }
}

/// A library found, and how.
pub struct Found {
    /// Its absolute path, symbolic links resolved.
    pub path: PathBuf,
    /// Which rule found it.
    pub how: String,
}

/// The places looked at, in order, for a command in `dir`: beside it (the
/// build tree: target/release/eintrfix next to target/release/libeintrfix.so),
/// then the Debian package's multiarch libdir (/usr/bin/eintrfix finds
/// /usr/lib/x86_64-linux-gnu/eintrfix/libeintrfix.so), then `make install`'s
/// libdir (PREFIX/bin/eintrfix finds PREFIX/lib/eintrfix/libeintrfix.so).
/// All are relative to the command, so a staged tree moved into place still
/// works. The package's place comes before `make install`'s: where both
/// exist under one prefix, the file dpkg manages (and upgrades) wins over a
/// copy left by hand.
pub fn candidates(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut places = vec![(dir.join(FILE_NAME), "beside the command")];
    if let Some(tuple) = MULTIARCH {
        places.push((
            dir.join("../lib")
                .join(tuple)
                .join("eintrfix")
                .join(FILE_NAME),
            "in the multiarch libdir",
        ));
    }
    places.push((dir.join(INSTALLED), "in the installed libdir"));
    places
}

/// Finds the library: `EINTRFIX_LIB`; else the first of [`candidates`]
/// that is a file. Never the current directory: a library there could be
/// anyone's.
pub fn find() -> Result<Found, String> {
    if let Some(chosen) = std::env::var_os(OVERRIDE).filter(|v| !v.is_empty()) {
        let path = Path::new(&chosen);
        return if path.is_file() {
            absolute(path).map(|path| Found {
                path,
                how: format!("from {OVERRIDE}"),
            })
        } else {
            Err(format!("{OVERRIDE}: '{}' is not a file", shown(path)))
        };
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find its own executable to look beside it: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let places = candidates(dir);
    for (candidate, how) in &places {
        if candidate.is_file() {
            return absolute(candidate).map(|path| Found {
                path,
                how: how.to_string(),
            });
        }
    }
    let looked: Vec<String> = places.iter().map(|(p, _)| shown(p).to_string()).collect();
    Err(format!(
        "cannot find {FILE_NAME}: looked at {}; set {OVERRIDE} to its path",
        looked.join(", ")
    ))
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    path.canonicalize()
        .map_err(|e| format!("cannot resolve '{}': {e}", shown(path)))
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
            shown(library)
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

    /// The compiled-in tuple is the one the toolchain of this machine uses
    /// (`gcc -print-multiarch`, Debian's gcc), where `make deb` puts the
    /// library.
    #[test]
    fn multiarch_tuple_is_the_toolchains() {
        let Ok(out) = std::process::Command::new("gcc")
            .arg("-print-multiarch")
            .output()
        else {
            eprintln!("no gcc: multiarch tuple not checked");
            return;
        };
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if printed.is_empty() {
            eprintln!("this gcc has no multiarch tuple: not checked");
            return;
        }
        assert_eq!(MULTIARCH, Some(printed.as_str()));
    }

    #[test]
    fn looks_beside_then_multiarch_then_make_install() {
        let places = candidates(Path::new("/usr/bin"));
        let paths: Vec<String> = places
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        let mut want = vec!["/usr/bin/libeintrfix.so".to_owned()];
        if let Some(tuple) = MULTIARCH {
            want.push(format!("/usr/bin/../lib/{tuple}/eintrfix/libeintrfix.so"));
        }
        want.push("/usr/bin/../lib/eintrfix/libeintrfix.so".to_owned());
        assert_eq!(paths, want);
    }
}
