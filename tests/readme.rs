//! README.md's `std::net`-style snippet is `examples/std_net_style.rs`, from its first `use`
//! line on: the README cannot drift from the example that tests/examples.rs runs against an
//! echo server (and that the README's own doc test compiles, as the crate's documentation).

/// The heading the snippet sits under.
const HEADING: &str = "## Sockets, as `std::net` has them";
/// The fence the snippet opens with.
const FENCE: &str = "```rust,no_run\n";

#[test]
fn the_readme_snippet_is_the_std_net_style_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/examples/std_net_style.rs"))
        .expect("examples/std_net_style.rs");

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
        "README.md's snippet differs from examples/std_net_style.rs: copy the example's code (from \
         its first `use` line) into the README"
    );
    assert!(
        snippet.contains("TcpStream::connect(addr, Some(Duration::from_secs(1)))")
            && snippet.contains("io::copy(&mut io::stdin(), &mut stream)"),
        "the snippet shows a std Duration and io::copy"
    );
}
