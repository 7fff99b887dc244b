//! 07 §4.8: every modification re-reads its file inside the `ha` domain
//! lock, so concurrent editors never lose an update.

use std::process::{Command, Stdio};

use super::harness::{seeded, BIN};

#[test]
fn thirty_two_concurrent_adds_all_land() {
    let root = seeded("concurrent", &["cluster3"]);
    let children: Vec<_> = (103..135)
        .map(|n| {
            Command::new(BIN)
                .args(["manager", "add", &format!("vm:{n}")])
                .env("PVE_HA_ROOT", &root.path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn ha-manager")
        })
        .collect();
    let mut failures = Vec::new();
    for (n, child) in (103..135).zip(children) {
        let out = child.wait_with_output().expect("wait");
        if !out.status.success() {
            failures.push(format!("vm:{n}: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "failed adds:\n{}", failures.join("\n"));
    let text = std::fs::read_to_string(root.path.join("ha/resources.cfg")).expect("resources.cfg");
    let found = (103..135)
        .filter(|n| text.contains(&format!("vm: {n}\n")))
        .count();
    assert_eq!(found, 32, "resources.cfg:\n{text}");
    assert_eq!(text.matches("vm: ").count(), 32);
    // Nothing left behind: no lock, no temporary files.
    assert!(!root.path.join("priv/lock/domain-ha").exists());
    let names: Vec<_> = std::fs::read_dir(root.path.join("ha"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}
