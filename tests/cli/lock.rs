//! 07 §4.8: a held `domain-ha` lock makes an editor wait, say so on
//! stderr at most once per second, and give up after the 10-second budget
//! with the wrapped timeout error, writing nothing.

use std::time::{Duration, Instant};

use super::harness::{run, seeded};

#[test]
fn held_lock_times_out_with_upstream_messages() {
    let root = seeded("lockheld", &["cluster3"]);
    std::fs::create_dir_all(root.path.join("priv/lock/domain-ha")).expect("hold the lock");
    let start = Instant::now();
    let out = run(&root.path, &["add".into(), "vm:100".into()], &[]);
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255));
    let waits = stderr
        .matches("trying to acquire cfs lock 'domain-ha' ...\n")
        .count();
    assert!((5..=11).contains(&waits), "{waits} wait lines:\n{stderr}");
    assert!(
        stderr.ends_with(
            "create resource failed: cfs-lock 'domain-ha' error: got lock request timeout\n"
        ),
        "{stderr}"
    );
    assert!(
        took >= Duration::from_secs(8) && took <= Duration::from_secs(12),
        "{took:?}"
    );
    assert!(!root.path.join("ha/resources.cfg").exists());
    // The lock we hold is still ours.
    assert!(root.path.join("priv/lock/domain-ha").is_dir());
}

#[test]
fn expired_lock_of_a_dead_editor_is_taken_over() {
    let root = seeded("lockstale", &["cluster3"]);
    let dir = root.path.join("priv/lock/domain-ha");
    std::fs::create_dir_all(&dir).expect("stale lock");
    let old = std::time::SystemTime::now() - Duration::from_secs(200);
    std::fs::File::open(&dir)
        .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(old)))
        .expect("age the lock");
    let out = run(&root.path, &["add".into(), "vm:100".into()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.path.join("ha/resources.cfg")).unwrap_or_default(),
        "vm: 100\n\n"
    );
}
