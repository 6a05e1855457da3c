//! The command line's own documentation as a user meets it: `portsock completions bash`
//! sourced into bash and asked to complete, `portsock man` rendered by groff and man, and
//! `--help`'s grouping (the backend options under their own heading, after the command's)
//! and defaults.

mod common;

use std::process::Command;

use common::{assert_cli_error, open_tempdir, portsock, stdout_ok};

/// What bash's completion function offers for the words of `line` (the last one being
/// completed), with portsock's script sourced.
fn bash_completes(line: &str) -> Vec<String> {
    let script = stdout_ok(&portsock(["completions", "bash"]), "completions bash");
    let dir = open_tempdir();
    let path = dir.path().join("portsock.bash");
    std::fs::write(&path, script).expect("write the completion script");
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        r#"source "$1" || exit 9
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="{line}"
COMP_POINT=${{#COMP_LINE}}
_portsock portsock "{cur}" "{prev}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = words.join(" "),
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program, "bash"])
        .arg(&path)
        .output()
        .expect("run bash");
    stdout_ok(&out, "bash completion")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_script_parses_and_completes_subcommands() {
    let script = stdout_ok(&portsock(["completions", "bash"]), "completions bash");
    let dir = open_tempdir();
    let path = dir.path().join("portsock.bash");
    std::fs::write(&path, &script).expect("write the completion script");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash -n");
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    assert_eq!(bash_completes("portsock mu"), ["multicast"]);
    assert_eq!(bash_completes("portsock echo s"), ["server"]);
    let options = bash_completes("portsock echo client --js");
    assert_eq!(options, ["--json"]);
    let all = bash_completes("portsock ");
    for command in ["echo", "multicast", "lookup", "completions", "man", "tour"] {
        assert!(all.iter().any(|c| c == command), "{command} not in {all:?}");
    }
}

#[test]
fn other_shells_get_their_scripts_and_a_wrong_shell_is_refused() {
    for (shell, marker) in [
        ("zsh", "#compdef portsock"),
        ("fish", "complete -c portsock"),
    ] {
        let script = stdout_ok(&portsock(["completions", shell]), shell);
        assert!(script.contains(marker), "{shell}: {marker} missing");
    }
    let out = portsock(["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed command line exits 2"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

/// groff's warnings (all of them, `-ww`) on rendering `page`; the rendered text.
fn render(page: &std::path::Path) -> (String, String) {
    let out = Command::new("groff")
        // -P -cbou: plain text, no bold or underlining escapes in the way of the words.
        .args(["-man", "-Tutf8", "-ww", "-P", "-cbou"])
        .arg(page)
        .output()
        .expect("run groff (scripts/install-deps installs it)");
    assert!(out.status.success(), "groff failed on {}", page.display());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn man_page_renders_without_warnings() {
    let page = stdout_ok(&portsock(["man"]), "man");
    assert!(page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH portsock 1"));
    let dir = open_tempdir();
    let path = dir.path().join("portsock.1");
    std::fs::write(&path, format!("{page}\n")).expect("write portsock.1");
    let (text, warnings) = render(&path);
    assert_eq!(warnings, "", "groff warned");
    for words in [
        "NAME",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "portsock-echo(1)",
        "portsock-completions(1)",
    ] {
        assert!(
            text.contains(words),
            "{words} missing from the rendered page"
        );
    }
    // man itself reads it as a page (MANPAGER=cat: no pager in a test).
    let man = Command::new("man")
        .args(["-l"])
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("run man");
    assert!(
        man.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&man.stderr)
    );
    assert!(String::from_utf8_lossy(&man.stdout).contains("portsock"));
}

#[test]
fn man_out_dir_writes_a_page_per_subcommand() {
    let dir = open_tempdir();
    let out = portsock([
        std::ffi::OsStr::new("man"),
        "--out-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    stdout_ok(&out, "man --out-dir");
    let page = dir.path().join("portsock-echo-server.1");
    let (text, warnings) = render(&page);
    assert_eq!(warnings, "", "groff warned on portsock-echo-server.1");
    for option in ["--proto", "--json", "--backend", "--tap"] {
        assert!(
            text.contains(option),
            "{option} missing from echo server's page"
        );
    }
    assert!(dir.path().join("portsock-multicast-receive.1").exists());

    let missing = dir.path().join("no/such/dir");
    let out = portsock([
        std::ffi::OsStr::new("man"),
        "--out-dir".as_ref(),
        missing.as_os_str(),
    ]);
    assert_cli_error(&out, "man --out-dir to a missing directory");
}

/// The line number of `--help`'s heading or option `what` (an option's first word is its
/// name: `--rate <PPS>` is `--rate`, not `--rate-limit`).
fn position(help: &str, what: &str) -> usize {
    help.lines()
        .position(|l| is(l, what))
        .unwrap_or_else(|| panic!("{what:?} not in help:\n{help}"))
}

fn is(line: &str, what: &str) -> bool {
    let line = line.trim_start();
    if what.starts_with("--") {
        line.split_whitespace().next() == Some(what)
    } else {
        line.starts_with(what)
    }
}

#[test]
fn help_groups_backend_options_after_the_commands_own() {
    for (command, own) in [
        (
            &["echo", "server"][..],
            &["--proto", "--addr", "--count", "--json"][..],
        ),
        (
            &["echo", "client"],
            &["--message", "--count", "--size", "--rate", "--json"],
        ),
        (
            &["multicast", "send"],
            &["--group", "--ttl", "--count", "--interval", "--json"],
        ),
        (
            &["multicast", "receive"],
            &["--group", "--no-ack", "--hex", "--json"],
        ),
        (&["binary", "receive"], &["--addr", "--format", "--json"]),
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = stdout_ok(&portsock(&args), &args.join(" "));
        let options = position(&help, "Options:");
        let backend = position(&help, "Backend options");
        assert!(
            options < backend,
            "{command:?}: the backend group comes first"
        );
        for option in own {
            let at = position(&help, option);
            assert!(
                options < at && at < backend,
                "{command:?}: {option} not among the command's options"
            );
        }
        for option in [
            "--backend",
            "--tap",
            "--ip",
            "--pcap",
            "--drop-chance",
            "--tcp-buffer",
        ] {
            assert!(
                position(&help, option) > backend,
                "{command:?}: {option} outside the backend group"
            );
        }
        // Nothing of the command's own follows the backend group.
        let after: Vec<&str> = help.lines().skip(backend + 1).collect();
        for option in own {
            assert!(
                !after.iter().any(|l| is(l, option)),
                "{option} after the group"
            );
        }
    }
}

#[test]
fn help_shows_defaults() {
    let help = stdout_ok(
        &portsock(["echo", "client", "--help"]),
        "echo client --help",
    );
    for default in [
        "[default: tcp]",
        "[default: localhost:10000]",
        "[default: ./uds_socket]",
        "[default: 64]",
        "[default: 1000]",
        "[default: std]",
        "[default: 02:00:00:00:00:01]",
    ] {
        assert!(help.contains(default), "{default} missing:\n{help}");
    }
    let help = stdout_ok(
        &portsock(["multicast", "send", "--help"]),
        "multicast send --help",
    );
    for default in [
        "[default: 224.3.29.71]",
        "[default: 0.2]",
        "[default: 5]",
        "[default: 1]",
    ] {
        assert!(help.contains(default), "{default} missing:\n{help}");
    }
}
