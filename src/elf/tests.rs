//! Unit tests of `elf`.

use super::*;

#[test]
fn a_region_reads_only_inside() {
    let bytes = *b"abc\0defghijklmnop";
    let region = Region {
        start: bytes.as_ptr() as usize,
        len: 8,
    };
    let at = region.start;
    assert_eq!(region.read::<u32>(at), Some(u32::from_ne_bytes(*b"abc\0")));
    assert_eq!(
        region.read::<u32>(at + 4),
        Some(u32::from_ne_bytes(*b"defg"))
    );
    assert_eq!(region.read::<u32>(at + 5), None, "past the end");
    assert_eq!(
        region.read::<u32>(at.wrapping_sub(1)),
        None,
        "below the start"
    );
    assert_eq!(region.read::<[u8; 9]>(at), None, "longer than the region");
    assert!(region.string_is(at, b"abc"));
    assert!(!region.string_is(at, b"ab"));
    assert!(!region.string_is(at + 4, b"defg"), "its NUL is outside");
}

#[test]
fn hashes_as_the_tables_do() {
    assert_eq!(gnu_hash(b""), 5381);
    assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
    assert_eq!(sysv_hash(b"printf"), 0x077905a6);
}

#[test]
fn this_library_reads_its_own_symbols() {
    // SAFETY: the test binary's own first page holds its ELF header.
    let base = {
        extern "C" {
            static __ehdr_start: u8;
        }
        core::ptr::addr_of!(__ehdr_start) as usize
    };
    // SAFETY: as above; the binary stays loaded.
    let image = unsafe { Image::from_mapping(base, base) }.expect("its own header");
    assert!(image.segments().any(|s| s.is_text()));
    assert!(image.has_text(this_library_reads_its_own_symbols as fn() as usize));
}
