//! The generated man pages and shell completions are committed, and must be
//! what the clap definitions produce today.
//!
//! Why committed rather than built: packagers (the .deb, the Nix package)
//! install them as plain files, which also works when cross-compiling (a
//! binary built for aarch64 cannot run on the build machine to print its own
//! completions), and a reviewer sees in the diff what an option change does
//! to the manual.
//!
//! This test regenerates everything into a temporary directory from
//! [`n3xnet::cli::Cli`] (`n3xnetctl`, one page per subcommand, git style:
//! `n3xnetctl-k3s-flags.1`), [`n3xnet::daemon::Args`] (`n3xnetd.8`) and
//! [`n3xnet::report::Args`] (`n3xnet-report.8`) with
//! clap_mangen, and the bash, zsh and fish completions of `n3xnetctl` with
//! clap_complete, then fails on any difference with `doc/man` and
//! `doc/completions`, naming the file. After changing an option or a help
//! text, rewrite them with
//!
//! ```sh
//! N3XNET_BLESS=1 cargo test --test docs_fresh
//! ```
//!
//! and commit the result. The pages carry no date (the `.TH` date is empty),
//! so regenerating is byte-for-byte stable; the footer carries the version.
//!
//! It also runs `groff -man -ww -z` on every page of `doc/man` (the
//! generated ones and the hand-written section 5 pages) and fails on any
//! output; `/usr/bin/groff` comes from the Debian package `groff-base`
//! (`scripts/install-deps base`; the package `groff` only adds output
//! devices: PDF, HTML, X11). A missing groff fails the test: a skipped lint is a lint nobody
//! runs. Finally bash must load the bash completion and complete
//! `n3xnetctl k3s-flags --format `.
//!
//! No completions for `n3xnetd` and `n3xnet-report`: they are started by
//! systemd, have three options each, and are not typed interactively.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use clap::CommandFactory;
use clap_complete::{generate, Shell};

/// Paths relative to the crate root, and their contents.
type Files = BTreeMap<String, Vec<u8>>;

const DAEMON_ABOUT: &str =
    "n3xnet network supervisor: applies the node's network profile and keeps it applied";
const REPORT_ABOUT: &str =
    "n3xnet reporter: publishes n3xnetd's view of the node's network, unprivileged";

const MAN_DIR: &str = "doc/man";
const COMPLETIONS_DIR: &str = "doc/completions";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file, rendered in memory.
fn generate_all() -> Files {
    let mut files = Files::new();
    let source = format!("n3xnet {}", env!("CARGO_PKG_VERSION"));

    // The help subcommand is left out of the pages (as clap_mangen's own
    // generate_to does): `--help` is on every page already.
    let mut ctl = n3xnet::cli::Cli::command()
        .bin_name("n3xnetctl")
        .disable_help_subcommand(true);
    // Building sets every subcommand's bin name (`n3xnetctl k3s-flags`,
    // the SYNOPSIS) and display name (`n3xnetctl-k3s-flags`, the page).
    ctl.build();
    man_pages(&ctl, "1", &source, &mut files);

    // `Args` takes its about line from the crate's description, which is
    // about the package rather than the daemon and may change with the
    // packaging: the page says what the daemon is.
    let mut daemon = n3xnet::daemon::Args::command()
        .bin_name("n3xnetd")
        .about(DAEMON_ABOUT);
    daemon.build();
    man_pages(&daemon, "8", &source, &mut files);
    let mut report = n3xnet::report::Args::command()
        .bin_name("n3xnet-report")
        .about(REPORT_ABOUT);
    report.build();
    man_pages(&report, "8", &source, &mut files);

    // Completions follow the binary exactly, help subcommand included.
    for (shell, name) in [
        (Shell::Bash, "n3xnetctl.bash"),
        (Shell::Zsh, "_n3xnetctl"),
        (Shell::Fish, "n3xnetctl.fish"),
    ] {
        let mut buf = Vec::new();
        generate(
            shell,
            &mut n3xnet::cli::Cli::command(),
            "n3xnetctl",
            &mut buf,
        );
        files.insert(format!("{COMPLETIONS_DIR}/{name}"), buf);
    }
    files
}

/// The page of `cmd` and, recursively, of each of its subcommands.
fn man_pages(cmd: &clap::Command, section: &str, source: &str, files: &mut Files) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, section, source, files);
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .section(section)
        .source(source)
        .manual("n3xnet");
    let mut page = Vec::new();
    man.render(&mut page)
        .expect("render a man page into memory");
    let mut page = String::from_utf8(page).expect("roff is UTF-8");
    // Both binaries' after_help is their exit codes, which clap_mangen
    // files under a generic EXTRA heading.
    if cmd
        .get_after_help()
        .is_some_and(|h| h.to_string().starts_with("Exit codes:"))
    {
        page = page.replace(".SH EXTRA\n", ".SH \"EXIT STATUS\"\n");
    }
    page.push_str(&extra_sections(cmd));
    files.insert(
        format!("{MAN_DIR}/{}", man.get_filename()),
        page.into_bytes(),
    );
}

/// What clap cannot say: where the files are, the signals, and the other
/// pages. Plain roff appended after clap_mangen's sections.
fn extra_sections(cmd: &clap::Command) -> String {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    match name {
        "n3xnetctl" => r#".SH FILES
.TP
\fI/run/n3xnet/status.json\fR
n3xnetd's status, read by \fBwait\-online\fR.
.SH SEE ALSO
\fBn3xnetd\fR(8), \fBn3xnet\-profile\fR(5), \fBn3xnet.toml\fR(5)
"#
        .to_owned(),
        "n3xnetd" => r#".SH SIGNALS
.TP
\fBSIGHUP\fR
Re\-read and check the configuration and the profile; a valid one is applied as a minimal diff, an invalid one is logged and the running profile kept (\fBsystemctl reload n3xnetd\fR, \fBn3xnetctl reload\fR).
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Exit 0, leaving the network exactly as it is.
.SH ENVIRONMENT
.TP
\fBRUNTIME_DIRECTORY\fR
Where \fIstatus.json\fR goes unless \fB\-\-runtime\-dir\fR says (systemd sets it from \fBRuntimeDirectory=n3xnet\fR).
.TP
\fBSTATE_DIRECTORY\fR
Where DHCP leases are kept across restarts (\fBStateDirectory=n3xnet\fR).
.TP
\fBWATCHDOG_USEC\fR, \fBNOTIFY_SOCKET\fR
systemd's watchdog interval (pinged at half of it) and notification socket (\fBREADY=1\fR, \fBSTATUS=\fR).
.TP
\fBRUST_LOG\fR
Log filter by target (default \fBinfo\fR).
.SH FILES
.TP
\fI/etc/n3xnet/n3xnet.toml\fR
The configuration, see \fBn3xnet.toml\fR(5).
.TP
\fI/run/n3xnet/status.json\fR
The status, rewritten atomically on every change.
.TP
\fI/var/lib/n3xnet/dhcp\-LINK.json\fR
The DHCP lease of LINK.
.SH SEE ALSO
\fBn3xnet.toml\fR(5), \fBn3xnet\-profile\fR(5), \fBn3xnetctl\fR(1), \fBn3xnetctl\-wait\-online\fR(1), \fBn3xnet\-report\fR(8), \fBsystemd.service\fR(5)
"#
        .to_owned(),
        "n3xnet-report" => r#".SH DESCRIPTION
n3xnet\-report follows n3xnetd's \fIstatus.json\fR with inotify and keeps the node's Kubernetes Node (labels, the condition \fBN3xNetworkReady\fR, Events; section \fB[kubernetes]\fR of \fBn3xnet.toml\fR(5)), a node\-feature\-discovery feature file (\fBkubernetes.nfdFeatureFile\fR) and a node_exporter textfile (\fB[prometheus]\fR) showing it. It holds no capability and never touches the network configuration; its failure cannot affect n3xnetd. At idle it sleeps but for the condition's heartbeat.
.SH SIGNALS
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Exit 0; what was published stays.
.SH ENVIRONMENT
.TP
\fBRUNTIME_DIRECTORY\fR
Where \fIreport.json\fR goes unless \fB\-\-runtime\-dir\fR says (systemd sets it from \fBRuntimeDirectory=n3xnet\-report\fR).
.TP
\fBNOTIFY_SOCKET\fR
systemd's notification socket (\fBREADY=1\fR, \fBSTATUS=\fR).
.TP
\fBRUST_LOG\fR
Log filter by target (default \fBinfo\fR).
.SH FILES
.TP
\fI/etc/n3xnet/n3xnet.toml\fR
The configuration, shared with n3xnetd, see \fBn3xnet.toml\fR(5).
.TP
\fI/run/n3xnet/status.json\fR
n3xnetd's status, followed.
.TP
\fI/run/n3xnet\-report/report.json\fR
The reporter's own status, rewritten atomically on every change.
.SH SEE ALSO
\fBn3xnetd\fR(8), \fBn3xnet.toml\fR(5), \fBn3xnetctl\-status\fR(1), \fBsystemd.exec\fR(5)
"#
        .to_owned(),
        _ if name.starts_with("n3xnetctl-") => {
            ".SH SEE ALSO\n\\fBn3xnetctl\\fR(1), \\fBn3xnet\\-profile\\fR(5)\n".to_owned()
        }
        _ => String::new(),
    }
}

/// The generated files under the directories this test owns, as committed
/// (`.5` pages are hand-written and not ours).
fn committed() -> Files {
    let mut files = Files::new();
    for dir in [MAN_DIR, COMPLETIONS_DIR] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in entries {
            let e = e.expect("read a directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            if dir == MAN_DIR && !(name.ends_with(".1") || name.ends_with(".8")) {
                continue;
            }
            let content = std::fs::read(e.path()).expect("read a committed file");
            files.insert(format!("{dir}/{name}"), content);
        }
    }
    files
}

fn bless(generated: &Files) {
    for (path, content) in generated {
        let p = root().join(path);
        std::fs::create_dir_all(p.parent().expect("a file has a parent")).expect("create dir");
        std::fs::write(&p, content).expect("write a generated file");
    }
    for path in committed().keys() {
        if !generated.contains_key(path) {
            std::fs::remove_file(root().join(path)).expect("remove a stale file");
        }
    }
}

/// The generated files, generated once per run; with `N3XNET_BLESS=1` also
/// written over the committed ones first, so that every test of the run
/// (they run in parallel) sees the blessed files.
fn generated() -> &'static Files {
    static GENERATED: OnceLock<Files> = OnceLock::new();
    GENERATED.get_or_init(|| {
        let generated = generate_all();
        if std::env::var_os("N3XNET_BLESS").is_some_and(|v| v == "1") {
            bless(&generated);
        }
        generated
    })
}

#[test]
fn generated_docs_are_fresh() {
    let generated = generated();
    // Regenerate through the file system too, so what is compared is what
    // a packager would get from writing the files.
    let tmp = tempfile::tempdir().expect("temporary directory");
    for (path, content) in generated {
        let p = tmp.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a file has a parent")).expect("create dir");
        std::fs::write(&p, content).expect("write a generated file");
    }
    let committed = committed();
    let mut problems = Vec::new();
    for path in generated.keys() {
        let fresh = std::fs::read(tmp.path().join(path)).expect("read back");
        match committed.get(path) {
            None => problems.push(format!("{path}: missing (generated, not committed)")),
            Some(old) if *old != fresh => problems.push(format!(
                "{path}: differs from what the clap definitions generate{}",
                first_difference(old, &fresh)
            )),
            Some(_) => {}
        }
    }
    for path in committed.keys() {
        if !generated.contains_key(path) {
            problems.push(format!(
                "{path}: committed but no longer generated (a removed subcommand?)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "generated docs are stale; run `N3XNET_BLESS=1 cargo test --test docs_fresh` and commit:\n{}",
        problems.join("\n")
    );
    assert!(
        generated.contains_key("doc/man/n3xnetctl-k3s-flags.1")
            && generated.contains_key("doc/man/n3xnetd.8"),
        "expected page names: {:?}",
        generated.keys().collect::<Vec<_>>()
    );
}

/// The first line that differs, to make the failure readable.
fn first_difference(old: &[u8], new: &[u8]) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let (mut o, mut n) = (old.lines(), new.lines());
    for line in 1.. {
        match (o.next(), n.next()) {
            (None, None) => return String::new(),
            (a, b) if a == b => {}
            (a, b) => {
                return format!(
                    " (line {line}: committed {:?}, generated {:?})",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                )
            }
        }
    }
    String::new()
}

#[test]
fn synopsis_names_the_subcommand_and_footer_the_version() {
    let files = generated();
    let page = String::from_utf8_lossy(&files["doc/man/n3xnetctl-k3s-flags.1"]).into_owned();
    let synopsis = page
        .split(".SH SYNOPSIS\n")
        .nth(1)
        .expect("a SYNOPSIS section");
    assert!(
        synopsis.starts_with("\\fBn3xnetctl k3s\\-flags\\fR"),
        "SYNOPSIS: {}",
        &synopsis[..synopsis.len().min(120)]
    );
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    assert!(
        th.contains(&format!("\"n3xnet {}\"", env!("CARGO_PKG_VERSION"))),
        "{th}"
    );
}

/// Every line groff prints about `page`: warnings (`-ww`) and errors.
fn groff(page: &Path) -> String {
    let out = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(page)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run groff ({e}): install the Debian package groff-base \
                 (scripts/install-deps base); this check is never skipped"
            )
        });
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        text.push_str(&format!("groff exited with {}", out.status));
    }
    text
}

#[test]
fn every_page_is_clean_roff() {
    generated();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join(MAN_DIR))
        .expect("doc/man exists")
        .map(|e| e.expect("read a directory entry").path())
        .collect();
    pages.sort();
    assert!(pages.len() > 3, "too few pages: {pages:?}");
    let mut problems = Vec::new();
    for page in &pages {
        let out = groff(page);
        if !out.trim().is_empty() {
            problems.push(format!("{}:\n{out}", page.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "groff -man -ww -z complains:\n{}",
        problems.join("\n")
    );
}

#[test]
fn bash_loads_the_completion() {
    generated();
    let out = Command::new("bash")
        .current_dir(root())
        .args([
            "-c",
            "source doc/completions/n3xnetctl.bash && complete -p n3xnetctl && \
             COMP_WORDS=(n3xnetctl k3s-flags --format '') COMP_CWORD=3 && \
             _n3xnetctl n3xnetctl '' --format && printf '%s\\n' \"${COMPREPLY[@]}\"",
        ])
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "bash failed ({}): {}{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("complete ") && l.ends_with(" n3xnetctl")),
        "{stdout}"
    );
    let words: Vec<&str> = lines.collect();
    assert_eq!(words, ["args", "env", "config"], "{stdout}");
}
