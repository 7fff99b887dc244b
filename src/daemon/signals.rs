//! Signals as flags (07 §6.4, 05 §15.3). The handler only sets the
//! signal's bit in one atomic word; the main loop takes the pending set
//! at its safe point (before each iteration) and does the logging and the
//! shutdown request there. Nothing else runs inside a handler, so no lock,
//! allocation or state machine can be interrupted half-way.
//!
//! SIGINT is installed with `SA_RESETHAND`: after the first one the
//! default action is back, so a second SIGINT kills the process at once
//! (upstream's behaviour; with a watchdog open the node resets).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Pending signals, one bit per signal number.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// The signals the daemons act on, in the order they are delivered when
/// several are pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: shutdown request.
    Term,
    /// SIGINT: shutdown request (a second one kills).
    Int,
    /// SIGQUIT: shutdown request.
    Quit,
    /// SIGHUP: logged, otherwise ignored (07 §6.6 allows this).
    Hup,
}

const ALL: [Signal; 4] = [Signal::Term, Signal::Int, Signal::Quit, Signal::Hup];

impl Signal {
    /// The signal's number.
    pub fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Int => libc::SIGINT,
            Signal::Quit => libc::SIGQUIT,
            Signal::Hup => libc::SIGHUP,
        }
    }

    /// The name in `received signal <NAME>`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Int => "INT",
            Signal::Quit => "QUIT",
            Signal::Hup => "HUP",
        }
    }

    /// Whether the signal asks the daemon to shut down.
    pub fn requests_shutdown(self) -> bool {
        self != Signal::Hup
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if (0..64).contains(&sig) {
        PENDING.fetch_or(1 << sig, Ordering::SeqCst);
    }
}

/// Installs the flag-setting handler for TERM, INT (one-shot), QUIT and
/// HUP.
pub fn install() -> io::Result<()> {
    for sig in ALL {
        // SAFETY: a zeroed sigaction is valid; the handler only performs
        // an atomic read-modify-write, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            if sig == Signal::Int {
                action.sa_flags |= libc::SA_RESETHAND;
            }
            if libc::sigaction(sig.number(), &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Takes (and clears) the pending signals.
pub fn take() -> Vec<Signal> {
    let bits = PENDING.swap(0, Ordering::SeqCst);
    ALL.into_iter()
        .filter(|s| bits & (1 << s.number()) != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handler_only_records_and_take_clears() {
        on_signal(libc::SIGHUP);
        on_signal(libc::SIGTERM);
        on_signal(libc::SIGTERM);
        on_signal(-1);
        on_signal(99);
        let got = take();
        // Other tests in this process may not raise these; only ours.
        assert!(got.contains(&Signal::Term) && got.contains(&Signal::Hup));
        let pos = |s| got.iter().position(|g| *g == s).unwrap();
        assert!(pos(Signal::Term) < pos(Signal::Hup));
        assert!(take().is_empty());
        assert!(Signal::Quit.requests_shutdown() && !Signal::Hup.requests_shutdown());
        assert_eq!(Signal::Int.name(), "INT");
    }
}
