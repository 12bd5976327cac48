//! The async runtime every n3xnet thread runs on: one thread each. n3xnetd
//! and its DHCP thread wait on a few sockets and timers, `n3xnetctl` does
//! one thing at a time; a worker pool would only cost memory (the idle RSS
//! target is 6 MiB).

/// A current-thread runtime with I/O and timers.
pub fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
