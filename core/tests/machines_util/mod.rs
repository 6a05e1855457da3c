//! Scaffolding shared by the `machines_*` tests: a bounded round-robin runner that steps every
//! side of a conversation over the in-memory transport and advances the manual clock only when
//! every side is idle, after quinn-proto's test `Pair::step` / `drive_bounded`.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;

use portsock_core::drive::DriveError;
use portsock_core::machine::Status;
use portsock_core::mem::ManualClock;
use portsock_core::time::Instant;
use portsock_core::wire::repr::PyBytes;

/// What one side did in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Finished (successfully or not: see the side's recorded failure).
    Done,
    /// Made progress.
    Progress,
    /// Could do nothing now; wants waking at this time, if any.
    Blocked(Option<Instant>),
}

/// Turns a driver step into a [`Turn`]: [`Status::Blocked`] is [`Turn::Blocked`] with `wake`,
/// an error is recorded in `failure` and ends the side.
pub fn turn<E, P>(
    result: Result<Status, DriveError<E, P>>,
    wake: Option<Instant>,
    failure: &mut Option<DriveError<E, P>>,
) -> Turn {
    match result {
        Ok(Status::Done) => Turn::Done,
        Ok(Status::Running) => Turn::Progress,
        Ok(Status::Blocked) => Turn::Blocked(wake),
        Err(e) => {
            *failure = Some(e);
            Turn::Done
        }
    }
}

/// Steps every side in turn until all are done. When a round moves nothing (`activity`
/// unchanged, no side progressed), the clock jumps to the earliest wake-up any side asked for;
/// if none asked, that is a deadlock.
///
/// Returns the number of rounds.
pub fn run(
    clock: &ManualClock,
    activity: &dyn Fn() -> u64,
    sides: &mut [&mut dyn FnMut() -> Turn],
    max_rounds: usize,
) -> Result<usize, String> {
    for round in 0..max_rounds {
        let before = activity();
        let (mut all_done, mut progressed, mut wake) = (true, false, None::<Instant>);
        for side in sides.iter_mut() {
            match side() {
                Turn::Done => {}
                Turn::Progress => (all_done, progressed) = (false, true),
                Turn::Blocked(at) => {
                    all_done = false;
                    wake = match (wake, at) {
                        (Some(w), Some(a)) => Some(w.min(a)),
                        (w, a) => w.or(a),
                    };
                }
            }
        }
        if all_done {
            return Ok(round);
        }
        if !progressed && activity() == before {
            match wake {
                Some(t) => clock.set(t),
                None => {
                    return Err(format!(
                        "deadlock in round {round}: every side blocked, no timer"
                    ));
                }
            }
        }
    }
    Err(format!("not done after {max_rounds} rounds"))
}

/// Python's `repr` of bytes, as the chapter prints them.
pub fn py(bytes: &[u8]) -> String {
    PyBytes(bytes).to_string()
}

/// A transcript, one line per event.
#[derive(Debug, Default)]
pub struct Transcript(pub Vec<String>);

impl Transcript {
    /// Adds a line.
    pub fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let mut s = String::new();
        let _ = s.write_fmt(args);
        self.0.push(s);
    }

    /// The lines that start with `prefix`.
    pub fn starting_with(&self, prefix: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }
}
