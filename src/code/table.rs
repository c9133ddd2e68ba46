//! The table of loaded code: segments `[start, end)` with a tag each,
//! sorted by start, read with relaxed atomic loads (no lock, no
//! allocation: safe in a signal handler and a `vfork` child).
//!
//! It is written at the first handler install and, where glibc has no
//! `_dl_find_object`, written again at a later install when objects were
//! loaded or unloaded since (see `crate::code`), while other threads'
//! handlers may be reading it. So there are two copies: a build writes the
//! one readers are not directed to, then directs them to it. Each copy has
//! a sequence number, odd while it is written: a reader that started on a
//! copy before two builds went by (the second one rewriting it) sees the
//! number change and reads again; a build never waits for a reader. Builds
//! are serialised by their caller.

use core::sync::atomic::{fence, AtomicUsize, Ordering};

/// Segments a copy holds at most; objects past it are looked up as if
/// loaded later.
pub const CAPACITY: usize = 1024;
/// No page is smaller.
const PAGE: usize = 4096;
/// How often a reader starts again when builds overtake it.
const READS: usize = 4;

/// One entry: `[start, end)`, owner and flags in `tag`.
struct Entry {
    start: AtomicUsize,
    end: AtomicUsize,
    tag: AtomicUsize,
}

struct Copy {
    entries: [Entry; CAPACITY],
    /// Entries in use.
    count: AtomicUsize,
    /// The lowest start and highest end of the entries.
    low: AtomicUsize,
    high: AtomicUsize,
    /// Odd while the copy is written.
    sequence: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Copy = Copy {
    entries: [const {
        Entry {
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            tag: AtomicUsize::new(0),
        }
    }; CAPACITY],
    count: AtomicUsize::new(0),
    low: AtomicUsize::new(0),
    high: AtomicUsize::new(0),
    sequence: AtomicUsize::new(0),
};

/// The table: its two copies.
pub struct Table {
    copies: [Copy; 2],
    /// The copy readers read (0 or 1).
    current: AtomicUsize,
}

impl Table {
    pub const fn new() -> Table {
        Table {
            copies: [EMPTY, EMPTY],
            current: AtomicUsize::new(0),
        }
    }
}

impl Copy {
    fn load(&self, i: usize) -> Option<(usize, usize, usize)> {
        self.entries.get(i).map(|e| {
            (
                e.start.load(Ordering::Relaxed),
                e.end.load(Ordering::Relaxed),
                e.tag.load(Ordering::Relaxed),
            )
        })
    }

    fn store(&self, i: usize, (start, end, tag): (usize, usize, usize)) {
        if let Some(e) = self.entries.get(i) {
            e.start.store(start, Ordering::Relaxed);
            e.end.store(end, Ordering::Relaxed);
            e.tag.store(tag, Ordering::Relaxed);
        }
    }

    /// The entries in use (what a reader sees may be mid-build: every
    /// use below stays within bounds whatever it reads).
    fn entries(&self) -> &[Entry] {
        let count = self.count.load(Ordering::Relaxed).min(CAPACITY);
        self.entries.get(..count).unwrap_or_default()
    }
}

/// A build of the table: the copy readers are not directed to. Only one
/// at a time (the caller's lock).
pub struct Build<'a> {
    table: &'a Table,
    copy: &'a Copy,
    index: usize,
    len: usize,
}

impl<'a> Build<'a> {
    /// Starts writing the copy of `table` that readers are not reading.
    pub fn start(table: &'a Table) -> Build<'a> {
        let index = (table.current.load(Ordering::Relaxed) + 1) & 1;
        let copy = &table.copies[index];
        copy.sequence.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        copy.count.store(0, Ordering::Relaxed);
        Build {
            table,
            copy,
            index,
            len: 0,
        }
    }

    /// Adds a segment; false when the copy is full.
    pub fn push(&mut self, start: usize, end: usize, tag: usize) -> bool {
        if self.len >= CAPACITY {
            return false;
        }
        self.copy.store(self.len, (start, end, tag));
        self.len += 1;
        true
    }

    /// Sorts the entries and directs readers to them.
    pub fn publish(self) {
        let copy = self.copy;
        // Insertion sort: before readers are directed here, and the
        // loader lists most objects in address order already.
        for i in 1..self.len {
            let Some(moving) = copy.load(i) else { break };
            let mut j = i;
            while let Some(before) = j.checked_sub(1).and_then(|k| copy.load(k)) {
                if before.0 <= moving.0 {
                    break;
                }
                copy.store(j, before);
                j -= 1;
            }
            copy.store(j, moving);
        }
        let low = copy.load(0).map_or(0, |e| e.0);
        let high = (0..self.len)
            .filter_map(|i| copy.load(i))
            .map(|e| e.1)
            .max()
            .unwrap_or(0);
        copy.low.store(low, Ordering::Relaxed);
        copy.high.store(high, Ordering::Relaxed);
        copy.count.store(self.len, Ordering::Relaxed);
        copy.sequence.fetch_add(1, Ordering::Release);
        self.table.current.store(self.index, Ordering::Release);
    }
}

impl Table {
    /// `f` of the current copy, read while no build rewrote it (`None` if
    /// builds kept overtaking the reader).
    fn read<R>(&self, f: impl Fn(&Copy) -> R) -> Option<R> {
        for _ in 0..READS {
            let copy = &self.copies[self.current.load(Ordering::Acquire) & 1];
            let before = copy.sequence.load(Ordering::Acquire);
            if before & 1 != 0 {
                continue;
            }
            let result = f(copy);
            fence(Ordering::Acquire);
            if copy.sequence.load(Ordering::Relaxed) == before {
                return Some(result);
            }
        }
        None
    }

    /// Whether a table has been published with entries.
    pub fn ready(&self) -> bool {
        self.copies[self.current.load(Ordering::Acquire) & 1]
            .count
            .load(Ordering::Relaxed)
            != 0
    }

    /// The entry that holds `addr`: (start, end, tag).
    pub fn entry(&self, addr: usize) -> Option<(usize, usize, usize)> {
        self.read(|copy| {
            if addr < copy.low.load(Ordering::Relaxed) || addr >= copy.high.load(Ordering::Relaxed)
            {
                return None;
            }
            let entries = copy.entries();
            // The last entry that starts at or before `addr`.
            let after = entries.partition_point(|e| e.start.load(Ordering::Relaxed) <= addr);
            let entry = entries.get(after.checked_sub(1)?)?;
            let end = entry.end.load(Ordering::Relaxed);
            (addr < end).then(|| {
                (
                    entry.start.load(Ordering::Relaxed),
                    end,
                    entry.tag.load(Ordering::Relaxed),
                )
            })
        })
        .flatten()
    }

    /// Whether an entry starts in the page at `map_start` (the start of an
    /// object's mapping).
    pub fn has_entry_in_page(&self, map_start: usize) -> bool {
        self.read(|copy| {
            let entries = copy.entries();
            let first = entries.partition_point(|e| e.start.load(Ordering::Relaxed) < map_start);
            entries
                .get(first)
                .is_some_and(|e| e.start.load(Ordering::Relaxed) < map_start.saturating_add(PAGE))
        })
        .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_replaces_what_readers_see() {
        static TABLE: Table = Table::new();
        assert!(!TABLE.ready());
        let mut build = Build::start(&TABLE);
        assert!(build.push(0x3000_0000, 0x3000_2000, 7));
        assert!(build.push(0x1000_0000, 0x1000_1000, 5));
        build.publish();
        assert!(TABLE.ready());
        assert_eq!(
            TABLE.entry(0x1000_0800),
            Some((0x1000_0000, 0x1000_1000, 5))
        );
        assert_eq!(
            TABLE.entry(0x3000_1fff),
            Some((0x3000_0000, 0x3000_2000, 7))
        );
        assert_eq!(TABLE.entry(0x2000_0000), None);
        assert!(TABLE.has_entry_in_page(0x1000_0000));
        let mut build = Build::start(&TABLE);
        assert!(build.push(0x2000_0000, 0x2000_1000, 9));
        // Readers still see the first build until the second is published.
        assert_eq!(
            TABLE.entry(0x1000_0800),
            Some((0x1000_0000, 0x1000_1000, 5))
        );
        build.publish();
        assert_eq!(TABLE.entry(0x1000_0800), None);
        assert_eq!(
            TABLE.entry(0x2000_0010),
            Some((0x2000_0000, 0x2000_1000, 9))
        );
        assert!(!TABLE.has_entry_in_page(0x1000_0000));
    }
}
