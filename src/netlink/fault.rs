//! Fault injection, compiled only with the `fault-injection` cargo feature
//! (off by default, never in a release binary or a package): with
//! `N3XNET_ABORT_AFTER_WRITE=k` the process aborts right after its k-th write
//! request got the kernel's answer, so the kernel holds exactly the first k
//! writes of the process (refused ones count, as in a report's `writes`).
//!
//! Why abort, not exit: it is the closest a test gets to a power cut or a
//! SIGKILL at a chosen point: no destructor, no rollback, no lock release
//! but the kernel's. Why here: [`super::send`] is the one place write
//! requests leave n3xnet, so every write of an apply, of its rollback and
//! of a daemon's repair is counted, in the order the kernel saw them.
//! A datagram carries a whole stage of a batch; [`allowed`] cuts it so the
//! k-th write is its last, and nothing after it reaches the kernel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The variable naming the write after which the process aborts.
const VAR: &str = "N3XNET_ABORT_AFTER_WRITE";

/// Writes answered so far in this process.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

/// k, read once; `None` when unset or not a number (no injection).
fn limit() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| std::env::var(VAR).ok()?.parse().ok())
}

/// How many of `pending` writes may go out before the k-th is reached.
pub(crate) fn allowed(pending: usize) -> usize {
    match limit() {
        Some(k) => {
            let left = k.saturating_sub(ANSWERED.load(Ordering::Relaxed));
            pending.min(usize::try_from(left).unwrap_or(usize::MAX))
        }
        None => pending,
    }
}

/// Counts `n` answered writes; aborts the process once the k-th is among
/// them.
pub(crate) fn answered(n: usize) {
    let so_far = ANSWERED.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
    if limit().is_some_and(|k| so_far >= k) {
        eprintln!("n3xnet: fault injection: aborting after write {so_far} ({VAR})");
        std::process::abort();
    }
}
