//! The README's embassy snippet is `examples/embassy_services.rs`, from its first `use` line
//! on: the README (whose block the doc tests cannot build: it is `ignore`, since it needs a
//! firmware's stack) cannot drift from the example that `cargo test` and scripts/check-no-std
//! build. This crate's own README (packaged with it) is always checked; the workspace's
//! README, which has the same section, is checked too when the test runs in the workspace.

use std::path::Path;

const FENCE: &str = "```rust,ignore\n";

/// The code of the first `rust,ignore` block after `heading` in the README at `path`.
fn snippet(path: &Path, heading: &str) -> String {
    let readme =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("{} has no {heading:?} heading", path.display()))..];
    let start = section
        .find(FENCE)
        .unwrap_or_else(|| panic!("no {FENCE:?} block under {heading:?}"))
        + FENCE.len();
    let end = start
        + section[start..]
            .find("```")
            .expect("the snippet's closing fence");
    section[start..end].to_owned()
}

fn example_code() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let example = std::fs::read_to_string(format!("{root}/examples/embassy_services.rs"))
        .expect("examples/embassy_services.rs");
    example[example
        .find("\nuse ")
        .expect("the example's first `use` line")
        + 1..]
        .to_owned()
}

#[test]
fn the_crate_readme_snippet_is_the_embassy_services_example() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    assert_eq!(
        snippet(&readme, "# portsock-embassy"),
        example_code(),
        "backend-embassy/README.md's snippet differs from examples/embassy_services.rs: \
         copy the example's code (from its first `use` line) into the README"
    );
}

#[test]
fn the_workspace_readme_snippet_is_the_embassy_services_example() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    // In the workspace, the parent's manifest lists this crate; a published package has no
    // such parent, and then there is no workspace README to compare.
    let workspace = std::fs::read_to_string(here.join("../Cargo.toml")).unwrap_or_default();
    if !workspace.contains("\"backend-embassy\"") {
        eprintln!("not inside the portsock workspace: no workspace README to check");
        return;
    }
    let readme = here.join("../README.md");
    assert_eq!(
        snippet(&readme, "## embassy (`portsock-embassy`)"),
        example_code(),
        "README.md's embassy snippet differs from backend-embassy/examples/embassy_services.rs: \
         copy the example's code (from its first `use` line) into the README"
    );
}
