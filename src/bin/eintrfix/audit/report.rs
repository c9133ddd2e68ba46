//! The audit's results: a table for people, JSON for CI, and the command
//! that reproduces each failing site.

use super::{Finding, Options, Verdict};
use std::fmt::Write;

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Where a site is, for the table: `object+0xN`, its function and its line.
fn place(f: &Finding) -> String {
    let mut place = format!("{}+{:#x}", base_name(&f.site.object), f.site.offset);
    if let Some(symbol) = &f.symbol {
        let _ = write!(place, " {symbol}");
    }
    if let Some(line) = &f.line {
        let _ = write!(place, " ({})", base_name(line));
    }
    place
}

fn result(f: &Finding) -> (&'static str, String) {
    match &f.verdict {
        Verdict::Pass => ("pass", String::new()),
        Verdict::Fail(changes) => {
            let mut what = changes.join(", ");
            match f.fixed {
                Some(true) => what.push_str("; fixed by the shim"),
                Some(false) => what.push_str("; NOT fixed by the shim"),
                None => {}
            }
            ("FAIL", what)
        }
        Verdict::Unreached(why) => ("unreached", (*why).to_string()),
        Verdict::Error(message) => ("error", message.clone()),
    }
}

/// The table: one row per site.
pub fn table(findings: &[Finding]) -> String {
    let several = findings.windows(2).any(|w| w[0].site.exe != w[1].site.exe);
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            let (result, what) = result(f);
            let function = if several {
                format!("{}: {}", base_name(&f.site.exe), f.site.function)
            } else {
                f.site.function.clone()
            };
            [
                result.to_string(),
                function,
                f.calls.to_string(),
                place(f),
                what,
            ]
        })
        .collect();
    let header = ["RESULT", "FUNCTION", "CALLS", "SITE", "WHAT CHANGED"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = |p: fn(&Verdict) -> bool| findings.iter().filter(|f| p(&f.verdict)).count();
    let _ = writeln!(
        out,
        "{} sites: {} passed, {} failed, {} unreached, {} errors",
        findings.len(),
        count(|v| matches!(v, Verdict::Pass)),
        count(|v| matches!(v, Verdict::Fail(_))),
        count(|v| matches!(v, Verdict::Unreached(_))),
        count(|v| matches!(v, Verdict::Error(_))),
    );
    out
}

/// A word for a POSIX shell, quoted when it needs to be.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The command that reproduces a failing site: the program under
/// `eintrfix` with `EINTRFIX_INJECT` set.
pub fn command(options: &Options, f: &Finding) -> String {
    let eintrfix = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "eintrfix".into());
    let mut words = vec![
        format!(
            "{}={}",
            crate::config::INJECT,
            shell_word(&f.site.spec(options.nth, false, options.signal))
        ),
        shell_word(&eintrfix),
        "--".into(),
    ];
    words.extend(
        options
            .argv
            .iter()
            .map(|a| shell_word(&a.to_string_lossy())),
    );
    // Standard input through a pipe, as in the audit: reads from a file
    // on disk cannot be interrupted.
    let feed = options
        .stdin
        .as_ref()
        .map(|stdin| format!("cat {} | ", shell_word(&stdin.to_string_lossy())));
    feed.unwrap_or_default() + &words.join(" ")
}

/// The reproducing commands of the failing sites, after the table.
pub fn reproduce(options: &Options, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings
        .iter()
        .filter(|f| matches!(f.verdict, Verdict::Fail(_)))
    {
        let _ = writeln!(out, "\nreproduce {} at {}:", f.site.function, place(f));
        let _ = writeln!(out, "  {}", command(options, f));
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_option(s: &Option<String>) -> String {
    s.as_deref().map_or("null".into(), json_string)
}

/// The results as one JSON object.
pub fn json(options: &Options, findings: &[Finding]) -> String {
    let mut out = String::from("{\"program\":[");
    let args: Vec<String> = options
        .argv
        .iter()
        .map(|a| json_string(&a.to_string_lossy()))
        .collect();
    out.push_str(&args.join(","));
    out.push_str("],\"sites\":[");
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (result, _) = result(f);
        let changes = match &f.verdict {
            Verdict::Fail(changes) => changes.clone(),
            Verdict::Error(message) => vec![message.clone()],
            _ => Vec::new(),
        };
        let changes: Vec<String> = changes.iter().map(|c| json_string(c)).collect();
        let _ = write!(
            out,
            "{{\"executable\":{},\"function\":{},\"object\":{},\"offset\":\"{:#x}\",\"symbol\":{},\"line\":{},\"calls\":{},\"result\":{},\"changes\":[{}],\"fixed\":{},\"reproduce\":{}}}",
            json_string(&f.site.exe),
            json_string(&f.site.function),
            json_string(&f.site.object),
            f.site.offset,
            json_option(&f.symbol),
            json_option(&f.line),
            f.calls,
            json_string(&result.to_lowercase()),
            changes.join(","),
            f.fixed.map_or("null".into(), |b| b.to_string()),
            if matches!(f.verdict, Verdict::Fail(_)) {
                json_string(&command(options, f))
            } else {
                "null".into()
            },
        );
    }
    let count = |p: fn(&Verdict) -> bool| findings.iter().filter(|f| p(&f.verdict)).count();
    let _ = write!(
        out,
        "],\"passed\":{},\"failed\":{},\"unreached\":{},\"errors\":{}}}",
        count(|v| matches!(v, Verdict::Pass)),
        count(|v| matches!(v, Verdict::Fail(_))),
        count(|v| matches!(v, Verdict::Unreached(_))),
        count(|v| matches!(v, Verdict::Error(_))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_and_json_strings_are_quoted() {
        assert_eq!(shell_word("read@/bin/x+0x1"), "read@/bin/x+0x1");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(json_string("a\"b\\\n"), r#""a\"b\\\u000a""#);
    }
}
