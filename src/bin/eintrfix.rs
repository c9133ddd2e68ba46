//! `eintrfix [OPTIONS] [--] PROGRAM [ARGS...]`: runs a program with
//! libeintrfix.so preloaded.

fn main() {
    eprintln!("eintrfix: the command is not written yet; use LD_PRELOAD=libeintrfix.so");
    std::process::exit(125);
}
