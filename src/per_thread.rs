//! Per-thread statics, as `std::thread_local!` declares them, for a library
//! built without std.
//!
//! Each static declared with [`per_thread!`](crate::per_thread!) is one word of a per-thread
//! block defined in C (`src/per_thread.c`): zero-initialised, with no
//! constructor and no destructor, so it is usable in signal handlers,
//! forked children, `atexit` handlers and thread-key destructors, and it
//! is never torn down. A type fits if it is at most a word, needs no more
//! than a word's alignment, and its initial value is all zero bytes
//! (`AtomicU64::new(0)`, `AtomicBool::new(false)`); the macro checks all
//! three when it compiles.

/// How many words each thread's block holds (`EINTRFIX_THREAD_WORDS` in
/// `src/per_thread.c`).
pub const WORDS: usize = 16;

extern "C" {
    /// This thread's block of [`WORDS`] words.
    fn eintrfix_thread_words() -> *mut u64;
}

/// Never returned: the storage of a [`PerThread`] is never torn down. It
/// keeps the signature of `std::thread::LocalKey::try_with`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError;

/// One per-thread static: word `index` of the thread's block, as a `T`.
pub struct PerThread<T: 'static> {
    index: usize,
    _type: core::marker::PhantomData<&'static T>,
}

impl<T: 'static> PerThread<T> {
    /// Word `index` as a `T`. Only [`per_thread!`] makes these, after
    /// checking that `T` fits and starts as zero bytes.
    #[doc(hidden)]
    pub const unsafe fn new(index: usize) -> PerThread<T> {
        PerThread {
            index,
            _type: core::marker::PhantomData,
        }
    }

    /// Calls `f` with this thread's value.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the block holds WORDS words, `index` < WORDS (checked
        // by the macro), and the word is aligned for and at least as large
        // as a T whose all-zero bytes are a valid value (also checked);
        // T is only ever shared as `&T` (atomics), and the block lives as
        // long as the thread.
        let value = unsafe { &*eintrfix_thread_words().add(self.index).cast::<T>() };
        f(value)
    }

    /// As `LocalKey::try_with`: calls `f` with this thread's value; never
    /// fails.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        Ok(self.with(f))
    }
}

/// Whether `bytes` are all zero (for the macro's compile-time check).
#[doc(hidden)]
pub const fn all_zero(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0 {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares per-thread statics with `std::thread_local!`'s syntax:
/// `static NAME: TYPE = const { INIT };`. See the [module](self). Each
/// module that declares some starts at its own word: `@from N;` first
/// (words 0-7 are the signal record's, 8-15 the per-site rule's).
#[macro_export]
macro_rules! per_thread {
    (@next ($index:expr)) => {};
    (@next ($index:expr)
        $(#[$meta:meta])*
        $vis:vis static $name:ident: $ty:ty = const { $init:expr };
        $($rest:tt)*
    ) => {
        $(#[$meta])*
        $vis static $name: $crate::per_thread::PerThread<$ty> = {
            const _: () = {
                assert!($index < $crate::per_thread::WORDS, "too many per-thread statics");
                assert!(core::mem::size_of::<$ty>() <= 8 && core::mem::align_of::<$ty>() <= 8);
                let value: $ty = $init;
                // SAFETY: reads the initial value's bytes, in a constant.
                let init = unsafe {
                    core::mem::transmute::<$ty, [u8; core::mem::size_of::<$ty>()]>(value)
                };
                assert!($crate::per_thread::all_zero(&init), "the initial value must be zero");
            };
            // SAFETY: checked just above.
            unsafe { $crate::per_thread::PerThread::new($index) }
        };
        $crate::per_thread!(@next ($index + 1) $($rest)*);
    };
    // A second group of statics declared elsewhere starts at a given word.
    (@from $start:expr; $($rest:tt)*) => { $crate::per_thread!(@next ($start) $($rest)*); };
    ($($rest:tt)*) => { $crate::per_thread!(@next (0) $($rest)*); };
}

#[cfg(test)]
mod tests {
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    crate::per_thread! {
        static A: AtomicU64 = const { AtomicU64::new(0) };
        static B: AtomicBool = const { AtomicBool::new(false) };
    }

    #[test]
    fn each_thread_has_its_own_words() {
        A.with(|a| a.store(7, Ordering::Relaxed));
        B.with(|b| b.store(true, Ordering::Relaxed));
        std::thread::spawn(|| {
            assert_eq!(A.with(|a| a.load(Ordering::Relaxed)), 0);
            assert!(!B.with(|b| b.load(Ordering::Relaxed)));
            A.with(|a| a.store(9, Ordering::Relaxed));
        })
        .join()
        .unwrap();
        assert_eq!(A.try_with(|a| a.load(Ordering::Relaxed)), Ok(7));
        assert!(B.with(|b| b.load(Ordering::Relaxed)));
    }
}
