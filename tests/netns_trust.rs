//! A profile or configuration that someone other than root could change
//! is refused by the commands that act on it as root (`n3xnetctl apply`,
//! `n3xnetd`), before anything is read from or written to the kernel, and
//! the answer names the path and why (exit 77). Fixed, it is accepted.

mod daemon_util;
mod netns_util;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use daemon_util::Node;
use netns_util::netns_tier;

/// `n3xnetctl apply` of the node's profile: exit code and stderr.
fn apply(node: &Node) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        .args(["apply", "-n", "server-1", "--netns", &node.ns.name, "-p"])
        .arg(node.path("profile.toml"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn apply_refuses_a_profile_others_could_change_and_touches_nothing() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("");
    let before = node.ns.settled();
    let profile = node.path("profile.toml");

    chmod(&profile, 0o666);
    let (code, err) = apply(&node);
    assert_eq!(code, 77, "{err}");
    assert!(
        err.contains(&format!(
            "{} is writable by everyone",
            fs::canonicalize(&profile).unwrap().display()
        )),
        "{err}"
    );
    assert_eq!(node.ns.snapshot(), before);

    // Whoever owns the directory can replace the file.
    chmod(&profile, 0o644);
    std::os::unix::fs::chown(node.dir.path(), Some(65534), None).unwrap();
    let (code, err) = apply(&node);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("is owned by uid 65534"), "{err}");
    assert_eq!(node.ns.snapshot(), before);

    std::os::unix::fs::chown(node.dir.path(), Some(0), None).unwrap();
    let (code, err) = apply(&node);
    assert_eq!(code, 0, "{err}");
    assert!(node.in_sync());
}

#[test]
fn the_daemon_refuses_a_configuration_others_could_change() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("");
    let before = node.ns.settled();
    chmod(&node.path("n3xnet.toml"), 0o646);
    let out = Command::new(env!("CARGO_BIN_EXE_n3xnetd"))
        .args(["--netns", &node.ns.name, "--config"])
        .arg(node.path("n3xnet.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(err.contains("n3xnet.toml is writable by everyone"), "{err}");
    assert_eq!(node.ns.snapshot(), before);
}
