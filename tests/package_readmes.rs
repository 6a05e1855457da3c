//! The READMEs crates.io shows (the workspace's, for `portsock`, and each member crate's) link
//! only to absolute URLs or to their own headings: a link relative to the repository
//! (`docs/x.md`) is a dead link on crates.io, which renders the README outside the repository.

use std::path::Path;

const READMES: [&str; 6] = [
    "README.md",
    "core/README.md",
    "backend-std/README.md",
    "backend-smoltcp/README.md",
    "backend-embassy/README.md",
    "server/README.md",
];

/// Every markdown link target in `text` (`[text](target)` and `[label]: target`), with its
/// line number.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            targets.push((i + 1, after[..end].to_owned()));
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(at) = trimmed.find("]: ")
        {
            targets.push((i + 1, trimmed[at + 3..].trim().to_owned()));
        }
    }
    targets
}

#[test]
fn readmes_link_only_to_urls_and_their_own_headings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    for readme in READMES {
        let text =
            std::fs::read_to_string(root.join(readme)).unwrap_or_else(|e| panic!("{readme}: {e}"));
        for (line, target) in link_targets(&text) {
            let ok = target.starts_with("https://")
                || target.starts_with("http://")
                || target.starts_with('#');
            if !ok {
                bad.push(format!("{readme}:{line}: {target}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "links that are dead on crates.io (give an absolute URL, or name the path without a \
         link):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_link_finder_sees_inline_and_reference_links_outside_code() {
    let text = "see [a](docs/a.md) and [b](https://x.test/b)\n```\n[c](in/code.md)\n```\n\
                [Keep]: https://keepachangelog.com\n[d]: ../d.md\n";
    let found: Vec<_> = link_targets(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        found,
        [
            "docs/a.md",
            "https://x.test/b",
            "https://keepachangelog.com",
            "../d.md"
        ]
    );
}
