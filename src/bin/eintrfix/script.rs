//! A script's `#!` line, read as the kernel reads it (`binfmt_script`):
//! from the first [`HEAD`] bytes of the file only; the interpreter path
//! runs to the first space, tab, NUL or the end of the line; spaces and
//! tabs (and nothing else: not a carriage return) are trimmed around it;
//! what follows is one optional argument. An empty line, or an interpreter
//! path not ended within those bytes, makes `execve` fail with ENOEXEC,
//! after which `execvp` runs the file with /bin/sh.

/// How much of a file the kernel reads to find its format
/// (`BINPRM_BUF_SIZE`).
pub const HEAD: usize = 256;

/// What the kernel makes of a file's `#!` line.
#[derive(Debug, PartialEq, Eq)]
pub enum Shebang {
    /// It runs `name`, with `arg` if there is one, then the script's path.
    Interpreter {
        /// The interpreter's path, exactly (a trailing `\r` included).
        name: Vec<u8>,
        /// The single optional argument (`-w`, or `-S perl -w` for env).
        arg: Option<Vec<u8>>,
    },
    /// `execve` fails with ENOEXEC, for this reason.
    Refused(&'static str),
}

fn spacetab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The `#!` line of a file starting with `head`, or `None` if it has none.
pub fn shebang(head: &[u8]) -> Option<Shebang> {
    if !head.starts_with(b"#!") {
        return None;
    }
    // The kernel's buffer: the first HEAD bytes, NUL-padded.
    let mut buf = [0u8; HEAD];
    let n = head.len().min(HEAD);
    buf[..n].copy_from_slice(&head[..n]);
    let last = HEAD - 1;
    let mut end = match buf.iter().position(|&b| b == b'\n') {
        Some(newline) => newline,
        None => {
            let Some(start) = (2..=last).find(|&i| !spacetab(buf[i])) else {
                return Some(Shebang::Refused("an empty #! line"));
            };
            if !(start..=last).any(|i| spacetab(buf[i]) || buf[i] == 0) {
                return Some(Shebang::Refused(
                    "an interpreter path not ended within the 256 bytes the kernel reads",
                ));
            }
            last
        }
    };
    while end > 2 && spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name_start = (2..=end).find(|&i| !spacetab(buf[i])).unwrap_or(end);
    if name_start == end {
        return Some(Shebang::Refused("an empty #! line"));
    }
    let separator = (name_start..=end).find(|&i| spacetab(buf[i]) || buf[i] == 0);
    let name_end = separator.unwrap_or(end).min(end);
    let arg = match separator {
        Some(sep) if sep < end && buf[sep] != 0 => (sep..end)
            .find(|&i| !spacetab(buf[i]))
            .map(|start| c_string(&buf[start..end])),
        _ => None,
    };
    Some(Shebang::Interpreter {
        name: c_string(&buf[name_start..name_end]),
        arg,
    })
}

/// The bytes up to the first NUL (the kernel passes C strings on).
fn c_string(bytes: &[u8]) -> Vec<u8> {
    bytes.split(|&b| b == 0).next().unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(name: &str, arg: Option<&str>) -> Option<Shebang> {
        Some(Shebang::Interpreter {
            name: name.as_bytes().to_vec(),
            arg: arg.map(|a| a.as_bytes().to_vec()),
        })
    }

    #[test]
    fn lines_as_the_kernel_reads_them() {
        assert_eq!(shebang(b"echo hi\n"), None);
        assert_eq!(shebang(b"#!/bin/sh\nexit 0\n"), runs("/bin/sh", None));
        assert_eq!(shebang(b"#!/bin/sh"), runs("/bin/sh", None));
        assert_eq!(shebang(b"#! /bin/sh  \n"), runs("/bin/sh", None));
        assert_eq!(shebang(b"#!/bin/sh\r\n"), runs("/bin/sh\r", None));
        assert_eq!(
            shebang(b"#!/usr/bin/env -S perl -w \n"),
            runs("/usr/bin/env", Some("-S perl -w"))
        );
        assert_eq!(shebang(b"#!/bin/sh\t-e\t\n"), runs("/bin/sh", Some("-e")));
        assert_eq!(shebang(b"#!\n"), Some(Shebang::Refused("an empty #! line")));
        assert_eq!(
            shebang(b"#!  \t\n"),
            Some(Shebang::Refused("an empty #! line"))
        );
        // A file of just "#!" has no line end: the kernel then takes the
        // NUL after it as an empty path, which fails with EACCES.
        assert_eq!(shebang(b"#!"), runs("", None));
    }

    #[test]
    fn a_path_cut_by_the_kernels_buffer_is_refused_an_argument_is_cut() {
        let long = format!("#!/{}\n", "x".repeat(300));
        assert!(matches!(
            shebang(long.as_bytes()),
            Some(Shebang::Refused(_))
        ));
        let fits = format!("#!/{} {}\n", "x".repeat(200), "a".repeat(100));
        let Some(Shebang::Interpreter { name, arg }) = shebang(fits.as_bytes()) else {
            panic!("refused");
        };
        assert_eq!(name.len(), 201);
        assert_eq!(arg.unwrap().len(), HEAD - 1 - 2 - 201 - 1);
    }
}
