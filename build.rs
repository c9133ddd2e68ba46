//! Compiles `src/per_thread.c`, the library's per-thread storage (see
//! `src/per_thread.rs` for why it is in C).

fn main() {
    println!("cargo:rerun-if-changed=src/per_thread.c");
    cc::Build::new()
        .file("src/per_thread.c")
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("eintrfix_per_thread");
}
