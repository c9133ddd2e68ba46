//! The documentation holds together: every relative link in README.md,
//! CHANGELOG.md and docs/*.md names a file that exists, and every `#anchor`
//! into a Markdown file names one of its headings (as GitHub spells them);
//! the README stays a short guide whose first command comes early.

mod common;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The Markdown files checked.
fn documents() -> Vec<PathBuf> {
    let root = common::root();
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The targets of the `[text](target)` links in `text`, outside code
/// blocks and code spans (a link's text may run over a line break).
fn links(text: &str) -> Vec<String> {
    let joined = prose(text).join("\n");
    let mut out = Vec::new();
    let mut in_code = false;
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => in_code = !in_code,
            b']' if !in_code && bytes.get(i + 1) == Some(&b'(') => {
                if let Some(len) = joined[i + 2..].find(')') {
                    let target = &joined[i + 2..i + 2 + len];
                    if !target.contains(char::is_whitespace) {
                        out.push(target.to_string());
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens; a repeated one gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose(text) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = read(&file);
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a directory").join(path)
            };
            if !resolved.exists() {
                broken.push(format!("{}: {target}: no such file", file.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&resolved)).contains(anchor)
                {
                    broken.push(format!("{}: {target}: no such heading", file.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_anchor_rules_are_githubs() {
    let text = "# Top\n## Calls inside libc: stdio, `system`, `popen`\n\
                ## What an LD_PRELOAD library cannot reach\n## Top\n\
                ```\n# not a heading\n```\n";
    let found = anchors(text);
    for expected in [
        "top",
        "top-1",
        "calls-inside-libc-stdio-system-popen",
        "what-an-ld_preload-library-cannot-reach",
    ] {
        assert!(found.contains(expected), "{expected} not in {found:?}");
    }
    assert!(!found.contains("not-a-heading"));
    assert_eq!(
        links("[a](b.md) `[c](d)` [long\ntext](e.md#f)\n```\n[g](h)\n```\n"),
        ["b.md", "e.md#f"]
    );
}

#[test]
fn the_readme_is_a_short_guide_that_starts_with_the_command() {
    let readme = read(&common::root().join("README.md"));
    let lines: Vec<&str> = readme.lines().collect();
    assert!(
        lines.len() <= 460,
        "README.md has {} lines: details belong in docs/",
        lines.len()
    );
    let first = lines
        .iter()
        .position(|l| l.contains("eintrfix -- ./app"))
        .expect("`eintrfix -- ./app` in the README");
    assert!(
        first < 40,
        "`eintrfix -- ./app` first at line {}",
        first + 1
    );
    // CI runs the README's test command.
    assert!(readme.contains("make test"), "the README names `make test`");
    let ci = read(&common::root().join(".ci/run"));
    assert!(ci.contains("\nmake test\n"), ".ci/run runs `make test`");
}
