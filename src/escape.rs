//! How a value from outside (an environment variable, a path, a link's
//! target, a file name) is shown in a line of output: printable ASCII and
//! spaces as they are, every other byte as `\xNN`. A newline or an escape
//! sequence in a value can then neither forge a line nor drive a terminal,
//! and invalid UTF-8 shows what it is.

use core::fmt;

/// `bytes`, shown escaped.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while !rest.is_empty() {
            // The printable run at once, then one escaped byte.
            let plain = rest
                .iter()
                .position(|&b| !(b.is_ascii_graphic() || b == b' '))
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(plain);
            // A run of printable ASCII is valid UTF-8.
            f.write_str(core::str::from_utf8(run).unwrap_or_default())?;
            if let Some((&b, tail)) = tail.split_first() {
                write!(f, "\\x{b:02x}")?;
                rest = tail;
            } else {
                rest = tail;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_non_ascii_are_escaped() {
        let shown = |b: &[u8]| std::format!("{}", Escaped(b));
        assert_eq!(shown(b"/tmp/a b.log"), "/tmp/a b.log");
        assert_eq!(shown(b"a\nb\r\x1b[31m\x7f"), "a\\x0ab\\x0d\\x1b[31m\\x7f");
        assert_eq!(shown("é".as_bytes()), "\\xc3\\xa9");
        assert_eq!(shown(b"\\x41"), "\\x41");
        assert_eq!(shown(b""), "");
    }
}
