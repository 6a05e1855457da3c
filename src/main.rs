//! `portsock`: the command line of the portsock socket toolkit.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
