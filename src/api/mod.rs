//! The contract between n3xnetd and its readers, under both binaries so
//! that neither imports the other: [`status`] is `status.json` (and the
//! D-Bus `StatusJson` property), [`bus`] is the D-Bus interface
//! `io.n3x.Net1` (names, errors, the client proxy). Exit codes, the third
//! piece of shared vocabulary, are in [`crate::exit`].

pub mod bus;
pub mod status;
