//! The async runtime every n3xnet thread runs on: one thread each. n3xnetd
//! and its DHCP thread wait on a few sockets and timers, `n3xnetctl` does
//! one thing at a time; a worker pool would only cost memory (the idle RSS
//! target is 6 MiB).

use std::time::Duration;

/// A current-thread runtime with I/O and timers.
///
/// Its blocking pool keeps no idle thread: the only blocking tasks are the
/// D-Bus library's few at connection setup (peer credentials, the first
/// byte), and tokio's default would keep a thread and its stack for 10 s
/// after each. Without lingering threads a process's thread count is its
/// live work, so the chaos soak can demand exactly the threads it started
/// with (`tests/daemon_chaos.rs`).
pub fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::ZERO)
        .build()
}
