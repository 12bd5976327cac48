//! The contract between n3xnetd and its readers, under both binaries so
//! that neither imports the other: [`status`] is `status.json` (and the
//! D-Bus `StatusJson` property), [`bus`] is the D-Bus interface
//! `io.n3x.Net1` (names, errors, the client proxy), [`report`] is what
//! `n3xnet-report` says of itself (`report.json`). Exit codes, the third
//! piece of shared vocabulary, are in [`crate::exit`].

pub mod bus;
pub mod report;
pub mod status;
