//! The supervisor in-process, driven through [`Control`] as a front end
//! (D-Bus) will drive it: the status watch, `reconcile` and `reload`, and
//! the answer once it has stopped.

mod daemon_util;
mod netns_util;

use std::sync::Arc;

use daemon_util::{Node, PROFILE, SETTLE};
use n3xnet::api::status::{DaemonStatus, Phase, Trigger};
use n3xnet::daemon::{ControlError, Notifier, Setup, Supervisor};
use netns_util::{netns_tier, runtime};
use tokio::sync::watch;

async fn until(rx: &mut watch::Receiver<Arc<DaemonStatus>>, pred: impl Fn(&DaemonStatus) -> bool) {
    let matched = tokio::time::timeout(SETTLE, rx.wait_for(|s| pred(s)))
        .await
        .is_ok_and(|r| r.is_ok());
    assert!(matched, "status never matched; last: {:#?}", rx.borrow());
}

#[test]
fn control_watches_reconciles_and_reloads() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("drift = \"report\"\n");
    runtime().block_on(async {
        let setup = Setup::load(&node.path("n3xnet.toml")).unwrap();
        let (supervisor, control) = Supervisor::start(
            setup,
            Some(&node.ns.name),
            Notifier::from_env(),
            None,
            node.dir.path(),
        )
        .unwrap();
        // The supervisor is not Send (it is the runtime's main future in
        // n3xnetd): run it alongside the front end, as n3xnetd does.
        let mut supervisor = Box::pin(supervisor.run());
        let front_end = async {
            let mut status = control.status();
            until(&mut status, |s| s.ready && s.phase == Phase::Running).await;
            assert!(node.in_sync());

            // Report mode: the drift is shown, not repaired ...
            node.ns.ip("link del mv-pods");
            until(&mut status, |s| !s.drift.pending.is_empty()).await;
            assert_eq!(status.borrow().repairs, 0);
            // ... until a front end asks.
            control.reconcile().await.unwrap();
            assert!(node.in_sync());
            let s = status.borrow().clone();
            let last = s.last_apply.as_ref().unwrap();
            assert_eq!(last.trigger, Trigger::Reconcile);
            assert_eq!(last.ops.len(), 3, "{:?}", last.ops);
            assert!(s.drift.pending.is_empty());

            // A bad reload answers with every problem and keeps running.
            node.set_profile(&PROFILE.replace("192.168.1.254", "10.9.9.9"));
            let Err(ControlError::Invalid(err)) = control.reload().await else {
                panic!("a bad reload was not refused as invalid");
            };
            assert!(err.contains("gateway: found 10.9.9.9"), "{err}");
            assert!(status.borrow().reload_error.is_some());
            node.set_profile(PROFILE);
            control.reload().await.unwrap();
            assert!(status.borrow().reload_error.is_none());
        };
        tokio::select! {
            r = &mut supervisor => panic!("the supervisor stopped: {r:?}"),
            () = front_end => {}
        }
        // Gone: a front end is told so, not that its profile is invalid.
        drop(supervisor);
        assert_eq!(control.reload().await, Err(ControlError::Stopped));
    });
}
