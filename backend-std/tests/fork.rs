//! The chapter's socketpair program across a real `fork(2)`: parent and child play ping-pong.
//!
//! `fork_child` refuses to fork a multi-threaded process, and the standard test harness runs
//! tests on threads, so this file has its own single-threaded `main` (`harness = false` in
//! Cargo.toml). Each check runs in turn and panics on failure.

use std::process::ExitCode;

use portsock_std::prelude::*;
use portsock_std::process::fork_child;
use portsock_std::unix::socketpair;

fn main() -> ExitCode {
    let checks: [(&str, fn()); 3] = [
        (
            "socketpair_ping_pong_across_fork",
            socketpair_ping_pong_across_fork,
        ),
        (
            "child_exit_code_reaches_the_parent",
            child_exit_code_reaches_the_parent,
        ),
        ("child_panic_is_exit_code_101", child_panic_is_exit_code_101),
    ];
    for (name, check) in checks {
        check();
        println!("test {name} ... ok");
    }
    println!("\ntest result: ok. {} passed", checks.len());
    ExitCode::SUCCESS
}

fn socketpair_ping_pong_across_fork() {
    let (mut parent, mut child) = socketpair().expect("socketpair");
    let pid = fork_child(move || {
        // In the child: answer the parent's message, or report what went wrong in the exit
        // status (the parent checks it).
        let mut buf = [0u8; 1024];
        match child.read(&mut buf) {
            Ok(4) if &buf[..4] == b"ping" => {}
            _ => return 3,
        }
        if child.write_all(b"pong").is_err() {
            return 4;
        }
        0
    })
    .expect("fork");
    assert_ne!(pid.id(), std::process::id());

    parent.write_all(b"ping").expect("send to child");
    let mut buf = [0u8; 1024];
    let n = parent.read(&mut buf).expect("response from child");
    assert_eq!(&buf[..n], b"pong");
    let status = pid.wait().expect("waitpid");
    assert!(status.success(), "child failed: {status}");
    // The child's end was moved into the closure: closed in the parent at once, and in the
    // child when it exited, so the parent now reads end of stream.
    assert_eq!(
        parent.read(&mut buf).expect("read after the child exited"),
        0
    );
}

fn child_exit_code_reaches_the_parent() {
    let status = fork_child(|| 7).expect("fork").wait().expect("waitpid");
    assert_eq!(status.code(), Some(7));
}

fn child_panic_is_exit_code_101() {
    // Silence the child's panic message; the parent sees only the status.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let child = fork_child(|| panic!("in the child"));
    std::panic::set_hook(hook);
    let status = child.expect("fork").wait().expect("waitpid");
    assert_eq!(status.code(), Some(101));
}
