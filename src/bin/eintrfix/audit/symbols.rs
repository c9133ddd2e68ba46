//! Names for call sites: `function+0xoffset` from an object's symbol
//! table (`.symtab`, else `.dynsym`), and `file:line` from its debug
//! information through binutils' `addr2line`, when installed.

use std::collections::HashMap;
use std::process::{Command, Stdio};

/// A function symbol: start, size, name.
type Symbol = (u64, u64, String);

/// An object's function symbols, sorted by address.
fn functions(data: &[u8]) -> Vec<Symbol> {
    let u16_at = |at: usize| {
        data.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        data.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |at: usize| {
        data.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    // 64-bit little-endian ELF only: the shim's own architectures.
    if data.get(..4) != Some(b"\x7fELF") || data.get(4) != Some(&2) || data.get(5) != Some(&1) {
        return Vec::new();
    }
    let (Some(shoff), Some(shentsize), Some(shnum)) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c))
    else {
        return Vec::new();
    };
    let section = |i: usize| -> Option<(u32, u64, u64, u32, u64)> {
        let at = usize::try_from(shoff).ok()? + i * usize::from(shentsize);
        Some((
            u32_at(at + 4)?,  // type
            u64_at(at + 24)?, // offset
            u64_at(at + 32)?, // size
            u32_at(at + 40)?, // link
            u64_at(at + 56)?, // entry size
        ))
    };
    let sections: Vec<_> = (0..usize::from(shnum)).filter_map(section).collect();
    let table = [2u32, 11]
        .iter()
        .find_map(|&kind| sections.iter().find(|s| s.0 == kind && s.4 >= 24));
    let Some(&(_, offset, size, link, entsize)) = table else {
        return Vec::new();
    };
    let Some(&(_, str_offset, str_size, _, _)) = sections.get(link as usize) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for i in 0..size / entsize {
        let Ok(at) = usize::try_from(offset + i * entsize) else {
            break;
        };
        let (Some(name), Some(info), Some(value), Some(size)) = (
            u32_at(at),
            data.get(at + 4).copied(),
            u64_at(at + 8),
            u64_at(at + 16),
        ) else {
            break;
        };
        // STT_FUNC, defined.
        if info & 0xf != 2 || value == 0 || u64::from(name) >= str_size {
            continue;
        }
        let start = (str_offset + u64::from(name)) as usize;
        let Some(rest) = data.get(start..) else {
            continue;
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        found.push((
            value,
            size,
            String::from_utf8_lossy(&rest[..end]).into_owned(),
        ));
    }
    found.sort();
    found
}

/// The function holding `address` (an address in the object's file) and
/// the offset in it.
fn function_at(symbols: &[Symbol], address: u64) -> Option<String> {
    let i = symbols.partition_point(|s| s.0 <= address).checked_sub(1)?;
    let (start, size, name) = symbols.get(i)?;
    (address < start + size.max(&1)).then(|| format!("{name}+{:#x}", address - start))
}

/// `file:line` of each address in `object`, from `addr2line` (none when
/// it is missing or the object has no debug information).
fn lines(object: &str, addresses: &[u64]) -> Vec<Option<String>> {
    let output = Command::new("addr2line")
        .arg("-e")
        .arg(object)
        .args(addresses.iter().map(|a| format!("{a:#x}")))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(output) = output else {
        return vec![None; addresses.len()];
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut found: Vec<Option<String>> = text
        .lines()
        .map(|l| {
            let l = l.split(" (discriminator").next().unwrap_or(l).trim();
            (!l.starts_with("??") && !l.ends_with(":0") && !l.ends_with(":?"))
                .then(|| l.to_string())
        })
        .collect();
    found.resize(addresses.len(), None);
    found
}

/// Names for `(object, offset)` pairs: `(function+0xN, file:line)`. The
/// offset is a return address: its call is the instruction before, so
/// `file:line` is asked for the byte before it.
pub fn name_all(
    sites: &[(String, u64)],
) -> HashMap<(String, u64), (Option<String>, Option<String>)> {
    let mut by_object: HashMap<&str, Vec<u64>> = HashMap::new();
    for (object, offset) in sites {
        by_object.entry(object.as_str()).or_default().push(*offset);
    }
    let mut names = HashMap::new();
    for (object, offsets) in by_object {
        let symbols = std::fs::read(object)
            .map(|d| functions(&d))
            .unwrap_or_default();
        let calls: Vec<u64> = offsets.iter().map(|o| o.saturating_sub(1)).collect();
        let places = lines(object, &calls);
        for (offset, place) in offsets.iter().zip(places) {
            names.insert(
                (object.to_string(), *offset),
                (function_at(&symbols, *offset), place),
            );
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_function_of_this_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let symbols = functions(&std::fs::read(exe).unwrap());
        assert!(!symbols.is_empty());
        let (start, size, name) = symbols.iter().find(|s| s.1 > 4).unwrap().clone();
        assert_eq!(
            function_at(&symbols, start + 2),
            Some(format!("{name}+0x2"))
        );
        assert_eq!(function_at(&symbols, 0), None);
        let _ = size;
        assert!(functions(b"not an ELF file").is_empty());
    }
}
