//! The thread-mode executor: embassy-executor's [`raw::Executor`], idle in `wfi`.
//!
//! embassy-executor's own Cortex-M thread executor (feature `executor-thread`) sleeps in
//! `wfe` and is woken by `sev`. Under QEMU 7.2 (`lm3s6965evb`) a `wfe` does not halt the
//! emulated core: that executor spins between wake-ups, and QEMU's vCPU thread takes as much
//! of a host core as it gets while the firmware has nothing to do. Measured idle (no network,
//! 5 s of QEMU's CPU time on a loaded 2-core host): the `wfe` image 35-66 % of a core, the
//! blocking image (idle in `wfi`) 6 %, this executor 5 %. On a shared host that spinning
//! core is taken from QEMU's I/O thread and from the peer. `wfi` halts the vCPU under QEMU and
//! sleeps on silicon alike, as in the blocking image.
//!
//! `wfi` is not woken by a `sev`, so the pender sets a flag instead, and the loop sleeps only
//! when no wake came since it cleared the flag: it checks with interrupts masked (PRIMASK),
//! and `wfi` still wakes for an interrupt that becomes pending meanwhile, whose handler runs
//! (and may wake a task) once they are unmasked again. The embassy documentation asks for
//! exactly this for cores that need more than `wfe` to sleep: a [`raw::Executor`] and a
//! `__pender` of one's own.

use core::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::{Spawner, raw};

/// Set by the pender (a task was woken, from a task or an interrupt); cleared before a pass.
static WORK: AtomicBool = AtomicBool::new(false);

/// Called by embassy-executor, from any context, when a task is woken.
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WORK.store(true, Ordering::Release);
}

/// The executor, run from `main` in thread mode.
pub struct Executor {
    inner: raw::Executor,
}

impl Executor {
    /// An executor with no tasks yet.
    pub fn new() -> Self {
        Self {
            inner: raw::Executor::new(core::ptr::null_mut()),
        }
    }

    /// Spawns the first tasks with `init`, then polls the woken tasks and sleeps in `wfi`
    /// while none is woken, for ever.
    pub fn run(&'static mut self, init: impl FnOnce(Spawner)) -> ! {
        init(self.inner.spawner());
        loop {
            WORK.store(false, Ordering::Release);
            // SAFETY: `poll` is called from this loop alone (never from the pender or an
            // interrupt), so never reentrantly, on an executor that lives for ever.
            unsafe { self.inner.poll() };
            cortex_m::interrupt::free(|_| {
                if !WORK.load(Ordering::Acquire) {
                    cortex_m::asm::wfi();
                }
            });
        }
    }
}
