//! README.md's embassy snippet is `examples/embassy_services.rs`, from its first `use` line
//! on: the README (whose block the facade's doc tests cannot build: the facade does not depend
//! on this crate) cannot drift from the example that `cargo test` and scripts/check-no-std
//! build.

const HEADING: &str = "## embassy (`portsock-embassy`)";
const FENCE: &str = "```rust,ignore\n";

#[test]
fn the_readme_snippet_is_the_embassy_services_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/../README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/examples/embassy_services.rs"))
        .expect("examples/embassy_services.rs");
    let section = &readme[readme
        .find(HEADING)
        .unwrap_or_else(|| panic!("README.md has no {HEADING:?} heading"))..];
    let start = section
        .find(FENCE)
        .unwrap_or_else(|| panic!("no {FENCE:?} block under {HEADING:?}"))
        + FENCE.len();
    let end = start
        + section[start..]
            .find("```")
            .expect("the snippet's closing fence");
    let snippet = &section[start..end];
    let code = &example[example
        .find("\nuse ")
        .expect("the example's first `use` line")
        + 1..];
    assert_eq!(
        snippet, code,
        "README.md's embassy snippet differs from backend-embassy/examples/embassy_services.rs: \
         copy the example's code (from its first `use` line) into the README"
    );
}
