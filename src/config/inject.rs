//! `EINTRFIX_INJECT`: the one call site where the audit mode lets one
//! EINTR through, written by `eintrfix audit` and read by the library.
//!
//! `FUNCTION@OBJECT+0xOFFSET[,nth=N][,exe=PATH][,retry][,signal]`:
//! - `FUNCTION`: the hooked function (`read`) the call goes to, or
//!   `libc:NAME` for a call inside libc, named after its system call;
//! - `OBJECT+0xOFFSET`: the call's return address, as an offset in the
//!   object's file (the object as the loader names it; the main program by
//!   its `/proc/self/exe` path);
//! - `nth=N`: the Nth call there in each process (default 1);
//! - `exe=PATH`: only in processes running this executable;
//! - `retry`: the EINTR is judged by the policy like a real one (the
//!   `--fix-check` run) instead of being let through;
//! - `signal`: a real signal instead of a synthetic EINTR.

/// A parsed `EINTRFIX_INJECT` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec<'a> {
    /// The function, `read` or `libc:read`.
    pub function: &'a [u8],
    /// The object holding the call.
    pub object: &'a [u8],
    /// The return address's offset in it.
    pub offset: usize,
    /// Which call there, from 1.
    pub nth: u32,
    /// The executable whose processes inject, if only one.
    pub exe: Option<&'a [u8]>,
    /// Whether the policy judges the EINTR (else it passes).
    pub retry: bool,
    /// Whether a real signal interrupts the call (else a synthetic EINTR).
    pub signal: bool,
}

/// What the variable accepts, for errors.
pub const ACCEPTS: &str = "FUNCTION@OBJECT+0xOFFSET with optional ,nth=N ,exe=PATH ,retry ,signal";

fn hex(digits: &[u8]) -> Option<usize> {
    let digits = digits.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some(n << 4 | v as usize)
    })
}

fn decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Parses a value; `None` when it is malformed.
pub fn parse(value: &[u8]) -> Option<Spec<'_>> {
    let at = value.iter().position(|&b| b == b'@')?;
    let (function, rest) = (&value[..at], &value[at + 1..]);
    let mut items = rest.split(|&b| b == b',');
    let site = items.next()?;
    let plus = site.iter().rposition(|&b| b == b'+')?;
    let mut spec = Spec {
        function,
        object: &site[..plus],
        offset: hex(&site[plus + 1..])?,
        nth: 1,
        exe: None,
        retry: false,
        signal: false,
    };
    if function.is_empty() || spec.object.is_empty() {
        return None;
    }
    for item in items {
        match item {
            b"retry" => spec.retry = true,
            b"signal" => spec.signal = true,
            _ if item.starts_with(b"nth=") => {
                spec.nth = decimal(&item[4..]).filter(|&n| n > 0)?;
            }
            _ if item.starts_with(b"exe=") && item.len() > 4 => spec.exe = Some(&item[4..]),
            _ => return None,
        }
    }
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field() {
        let s = parse(b"read@/usr/bin/x+0x1a2f,nth=3,exe=/usr/bin/x,retry").unwrap();
        assert_eq!(s.function, b"read");
        assert_eq!(s.object, b"/usr/bin/x");
        assert_eq!(s.offset, 0x1a2f);
        assert_eq!(
            (s.nth, s.exe, s.retry, s.signal),
            (3, Some(&b"/usr/bin/x"[..]), true, false)
        );
        let s = parse(b"libc:read@/lib/libc.so.6+0x10,signal").unwrap();
        assert_eq!((s.function, s.nth, s.signal), (&b"libc:read"[..], 1, true));
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            &b""[..],
            b"read",
            b"read@obj",
            b"read@obj+12",
            b"@obj+0x1",
            b"read@+0x1",
            b"read@obj+0x1,nth=0",
            b"read@obj+0x1,bogus",
            b"read@obj+0x,nth=1",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
