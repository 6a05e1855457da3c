//! The exit status of a list of look-ups: the good answers on stdout, an `error:` line on
//! stderr for each input that failed, and exit status 1 if any did. `--always-zero` keeps
//! the chapter's status instead (its `gethostbyname` programs catch the error, print it and
//! carry on, so they always exit 0): the same lines, exit status 0.

use std::io::Write as _;

use crate::cli::{CliError, Output};

/// Reports `out` and the `failed` inputs: `Ok(out)` if none failed; otherwise `out` is
/// written at once, each failure but the last is printed, and the last is returned for the
/// caller's `error:` line (or printed too, and `Ok` returned, with `always_zero`).
pub(super) fn finish(out: String, mut failed: Vec<CliError>, always_zero: bool) -> Output {
    let Some(last) = failed.pop() else {
        return Ok(out);
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`portsock lookup ... | head`) is not worth a panic.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    for err in &failed {
        eprintln!("error: {err}");
    }
    if always_zero {
        eprintln!("error: {last}");
        return Ok(String::new());
    }
    Err(last)
}
