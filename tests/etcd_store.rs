//! The etcd backend of the cluster layer against real etcd servers on
//! loopback (`tests/common/etcd.rs`): files byte for byte under the
//! documented keys, the lease-bound HA locks (exclusive, renewed only by
//! the lock call, taken over only after the lease), the same lock events
//! as over pmxcfs, quorum, the `domain-ha` lock and the CRM command queue,
//! and a member cut from the etcd majority losing its lock.
//!
//! Without `/usr/bin/etcd` every test says so (`common::skip`) and
//! passes; under `CI=true` it fails instead.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use common::etcd::{raw, Etcd};
use pve_ha::cluster::files;
use pve_ha::cluster::store::{MemberNode, Members};
use pve_ha::cluster::{
    with_domain_lock, ClusterStore, EtcdSettings, EtcdStore, HaLocks, LockEvent, Membership,
    PmxcfsStore,
};

/// A membership whose quorum a test switches.
struct Switch {
    node: String,
    quorate: Arc<AtomicBool>,
}

impl Membership for Switch {
    fn members(&self) -> Result<Members, String> {
        let mut m = Members {
            nodename: Some(self.node.clone()),
            quorate: Some(self.quorate.load(Ordering::SeqCst)),
            in_cluster: true,
            ..Members::default()
        };
        for (i, n) in ["n1", "n2", "n3"].iter().enumerate() {
            m.nodes.insert(
                n.to_string(),
                MemberNode {
                    id: i as u64 + 1,
                    online: true,
                },
            );
        }
        Ok(m)
    }
}

/// A store for node `node` over `endpoints` with a lease of `lease` s,
/// and the switch of its quorum (on).
fn store(endpoints: Vec<String>, node: &str, lease: i64) -> (EtcdStore, Arc<AtomicBool>) {
    let quorate = Arc::new(AtomicBool::new(true));
    let settings = EtcdSettings {
        endpoints,
        prefix: "/pve-ha/".to_string(),
        lease_secs: lease,
        timeout: Duration::from_secs(2),
    };
    let membership = Switch {
        node: node.to_string(),
        quorate: quorate.clone(),
    };
    let s = EtcdStore::connect(settings, Box::new(membership)).expect("etcd store");
    (s, quorate)
}

/// The value under `key` as another client sees it.
fn raw_get(url: &str, key: &str) -> Option<Vec<u8>> {
    let body = format!(r#"{{"key":"{}"}}"#, STANDARD.encode(key));
    let v = raw(url, "/v3/kv/range", &body);
    let kv = v.get("kvs")?.get(0)?;
    let value = kv.get("value").and_then(|v| v.as_str()).unwrap_or("");
    Some(STANDARD.decode(value).expect("base64 value"))
}

/// The lease a key is bound to (0: none or missing).
fn raw_lease(url: &str, key: &str) -> i64 {
    let body = format!(r#"{{"key":"{}"}}"#, STANDARD.encode(key));
    let v = raw(url, "/v3/kv/range", &body);
    v.pointer("/kvs/0/lease")
        .and_then(|l| l.as_str())
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// Pseudo-random bytes (xorshift), so a large file is not all alike.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn files_round_trip_byte_exact_under_the_prefix() {
    let Some(etcd) = Etcd::start(1, "files") else {
        return;
    };
    let url = etcd.endpoints()[0].clone();
    let (s, _) = store(etcd.endpoints(), "n1", 20);
    assert!(s.is_mounted());
    assert_eq!(s.read("ha/resources.cfg").expect("read"), None);

    let text = b"vm: 100\n\tstate started\n\nct: 101\n\tgroup g\n".to_vec();
    let binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let large = noise(1024 * 1024);
    let datacenter = b"ha: shutdown_policy=migrate\ncrs: ha=static\n".to_vec();
    for (rel, data) in [
        ("ha/resources.cfg", &text),
        ("nodes/n1/lrm_status", &binary),
        ("ha/manager_status", &large),
        ("datacenter.cfg", &datacenter),
        ("ha/crm_commands", &Vec::new()),
    ] {
        let t = Instant::now();
        s.write_atomic(rel, data).expect("write");
        assert_eq!(s.read(rel).expect("read").as_ref(), Some(data), "{rel}");
        // The documented key holds the very bytes.
        assert_eq!(
            raw_get(&url, &format!("/pve-ha/{rel}")).as_ref(),
            Some(data)
        );
        eprintln!(
            "{rel}: {} bytes round trip in {:?}",
            data.len(),
            t.elapsed()
        );
    }
    assert_eq!(s.path_of("ha/rules.cfg"), "/pve-ha/ha/rules.cfg");

    // Replace, then remove (twice: a missing file is no error).
    s.write_atomic("ha/resources.cfg", b"vm: 7\n")
        .expect("replace");
    assert_eq!(
        s.read("ha/resources.cfg").expect("read").as_deref(),
        Some(&b"vm: 7\n"[..])
    );
    s.remove("ha/resources.cfg").expect("remove");
    s.remove("ha/resources.cfg").expect("remove again");
    assert_eq!(s.read("ha/resources.cfg").expect("read"), None);
    assert!(s.create_dir("nodes/n2").is_ok());
    assert!(s.vmlist().ids.is_empty());
}

#[test]
fn locks_are_exclusive_renewed_and_taken_over_only_after_the_lease() {
    const LEASE: i64 = 3;
    let Some(etcd) = Etcd::start(1, "locks") else {
        return;
    };
    let url = etcd.endpoints()[0].clone();
    let (a, _) = store(etcd.endpoints(), "n1", LEASE);
    let (b, _) = store(etcd.endpoints(), "n2", LEASE);
    let lock = "ha_agent_n1_lock";
    let key = "/pve-ha/priv/lock/ha_agent_n1_lock";

    a.lock_create(lock).expect("a takes the lock");
    assert_eq!(b.lock_create(lock), Err("File exists".to_string()));
    assert_eq!(raw_get(&url, key).as_deref(), Some(&b"n1"[..]));
    let lease = a.lease_of(lock).expect("a remembers its lease");
    assert_eq!(raw_lease(&url, key), lease);
    // b holds no lease for it: it cannot renew (pmxcfs: not the writer).
    assert_eq!(b.lock_renew(lock, 0), Err("Permission denied".to_string()));

    // Renewing every second keeps it well past the lease.
    let mut last_renewal = Instant::now();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(LEASE as u64 + 2) {
        last_renewal = Instant::now();
        a.lock_renew(lock, 0).expect("renewal");
        assert_eq!(b.lock_create(lock), Err("File exists".to_string()));
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(raw_lease(&url, key), lease, "still the same lease");

    // a stops renewing. Its last keep-alive was served after
    // `last_renewal`, so the lease cannot end before `last_renewal + 3 s`.
    let taken = loop {
        if b.lock_create(lock).is_ok() {
            break last_renewal.elapsed();
        }
        assert!(
            last_renewal.elapsed() < Duration::from_secs(LEASE as u64 + 5),
            "the lock never expired"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("lease {LEASE} s: taken over {taken:?} after the last renewal");
    assert!(taken >= Duration::from_secs(LEASE as u64), "{taken:?}");
    assert_eq!(raw_get(&url, key).as_deref(), Some(&b"n2"[..]));

    // a's renewal after expiry fails and does not disturb b.
    assert_eq!(a.lock_renew(lock, 0), Err("lease expired".to_string()));
    assert_eq!(a.lease_of(lock), None, "an expired lease is forgotten");
    assert_eq!(a.lock_renew(lock, 0), Err("Permission denied".to_string()));
    b.lock_renew(lock, 0).expect("b renews");
    // Releasing: only the holder's removal deletes the key.
    assert!(!a.lock_remove(lock));
    assert!(raw_get(&url, key).is_some());
    assert!(b.lock_remove(lock));
    assert_eq!(raw_get(&url, key), None);
    a.lock_create(lock).expect("free again");
}

/// One process's lock calls as a script: (which process, time offset,
/// quorum on?, call). Returns the events in order.
fn run_lock_script(
    stores: [&dyn ClusterStore; 2],
    set_quorum: &dyn Fn(bool),
    t0: i64,
) -> Vec<(usize, bool, Option<LockEvent>)> {
    let mut locks = [HaLocks::new(), HaLocks::new()];
    let mut out = Vec::new();
    let name = "ha_manager_lock";
    let get = |locks: &mut [HaLocks; 2], who: usize, dt: i64| {
        let (got, ev) = locks[who].get(stores[who], name, t0 + dt);
        (who, got, ev)
    };
    out.push(get(&mut locks, 0, 0)); // acquired
    out.push(get(&mut locks, 0, 1)); // renewed, silent
    out.push(get(&mut locks, 1, 1)); // refused, silent
    set_quorum(false);
    out.push(get(&mut locks, 0, 2)); // lost - cfs lock update failed - Permission denied
    out.push(get(&mut locks, 0, 3)); // silent
    set_quorum(true);
    out.push(get(&mut locks, 0, 4)); // acquired again (renewal path)
    out.push((0, locks[0].release(stores[0], name), None));
    out.push(get(&mut locks, 1, 5)); // acquired
    out
}

#[test]
fn ha_locks_give_the_same_events_as_over_pmxcfs() {
    let Some(etcd) = Etcd::start(1, "halocks") else {
        return;
    };
    let (a, qa) = store(etcd.endpoints(), "n1", 20);
    let (b, _) = store(etcd.endpoints(), "n2", 20);
    let etcd_events = run_lock_script([&a, &b], &|on| qa.store(on, Ordering::SeqCst), 1_000_000);

    let dir = std::env::temp_dir().join(format!("pve-ha-etcd-halocks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let pmx = PmxcfsStore::new(&dir);
    let members = |on: bool| {
        let text = format!(
            r#"{{"nodename":"n1","version":1,"cluster":{{"name":"c","version":1,"nodes":2,"quorate":{}}},"nodelist":{{}}}}"#,
            u8::from(on)
        );
        std::fs::write(dir.join(".members"), text).expect(".members");
    };
    members(true);
    // pmxcfs compares renewals with the directory's mtime: real time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let pmx_events = run_lock_script([&pmx, &pmx], &members, now);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(etcd_events, pmx_events);
    let texts: Vec<String> = etcd_events
        .iter()
        .filter_map(|(_, _, e)| e.as_ref().map(|e| e.message.clone()))
        .collect();
    assert_eq!(
        texts,
        [
            "successfully acquired lock 'ha_manager_lock'",
            "lost lock 'ha_manager_lock - cfs lock update failed - Permission denied",
            "successfully acquired lock 'ha_manager_lock'",
            "successfully acquired lock 'ha_manager_lock'",
        ]
    );
}

#[test]
fn without_quorum_locks_and_writes_are_refused_and_reads_still_work() {
    let Some(etcd) = Etcd::start(1, "quorum") else {
        return;
    };
    let (s, q) = store(etcd.endpoints(), "n1", 20);
    s.write_atomic("ha/resources.cfg", b"vm: 1\n")
        .expect("write");
    q.store(false, Ordering::SeqCst);
    assert!(!s.quorate());
    let err = s
        .write_atomic("ha/resources.cfg", b"vm: 2\n")
        .map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("unable to write '/pve-ha/ha/resources.cfg' - Permission denied".to_string())
    );
    assert!(s.remove("ha/resources.cfg").is_err());
    assert_eq!(
        s.lock_create("ha_manager_lock"),
        Err("Permission denied".to_string())
    );
    // Reads serve the member's own copy, like pmxcfs's read-only mode.
    assert_eq!(
        s.read("ha/resources.cfg").expect("read").as_deref(),
        Some(&b"vm: 1\n"[..])
    );
    // The domain lock waits its 10 s, then says why.
    let t = Instant::now();
    let mut lines = Vec::new();
    let res = with_domain_lock(&s, "ha", &mut |l| lines.push(l.to_string()), || {
        Ok::<_, String>(())
    });
    let err = res.map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("cfs-lock 'domain-ha' error: no quorum!".to_string())
    );
    let waited = t.elapsed();
    eprintln!(
        "domain lock without quorum gave up after {waited:?}, {} progress lines",
        lines.len()
    );
    assert!(waited >= Duration::from_secs(9) && waited <= Duration::from_secs(11));
    assert!(lines
        .iter()
        .all(|l| l == "trying to acquire cfs lock 'domain-ha' ..."));
    assert!((8..=11).contains(&lines.len()), "{lines:?}");
}

#[test]
fn domain_lock_is_exclusive_has_its_own_lease_and_guards_writes() {
    let Some(etcd) = Etcd::start(1, "domain") else {
        return;
    };
    let url = etcd.endpoints()[0].clone();
    // A short lock lease: the domain lock keeps its own 120 s one.
    let (a, _) = store(etcd.endpoints(), "n1", 3);
    let (b, _) = store(etcd.endpoints(), "n2", 3);
    let key = "/pve-ha/priv/lock/domain-ha";
    a.acquire_domain_lock("ha", &mut |_| {})
        .expect("a takes domain-ha");
    let lease = raw_lease(&url, key);
    let ttl = a.lease_time_to_live(lease).expect("ttl").expect("alive");
    assert!(ttl > 100, "domain lease {ttl} s");

    let t = Instant::now();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let mut lines = Vec::new();
            let r = with_domain_lock(&b, "ha", &mut |l| lines.push(l.to_string()), || {
                b.write_atomic("ha/rules.cfg", b"# b\n")
                    .map_err(|e| e.to_string())
            });
            (r.map_err(|e| e.to_string()), lines, t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(1500));
        // a still holds it: its guarded write lands.
        a.write_atomic("ha/rules.cfg", b"# a\n")
            .expect("a writes under the lock");
        a.release_domain_lock("ha");
        let (res, lines, waited) = waiter.join().expect("waiter");
        eprintln!(
            "b waited {waited:?} for domain-ha, {} progress lines",
            lines.len()
        );
        assert_eq!(res, Ok(()));
        assert!(waited >= Duration::from_millis(1500), "{waited:?}");
        assert!(!lines.is_empty());
        assert!(lines
            .iter()
            .all(|l| l == "trying to acquire cfs lock 'domain-ha' ..."));
    });
    assert_eq!(raw_get(&url, key), None, "released");
    assert_eq!(
        a.read("ha/rules.cfg").expect("read").as_deref(),
        Some(&b"# b\n"[..])
    );

    // A hold whose key vanished (taken over, deleted) writes nothing.
    a.acquire_domain_lock("ha", &mut |_| {}).expect("a again");
    let del = format!(r#"{{"key":"{}"}}"#, STANDARD.encode(key));
    raw(&url, "/v3/kv/deleterange", &del);
    let err = a
        .write_atomic("ha/rules.cfg", b"# late\n")
        .map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("unable to write '/pve-ha/ha/rules.cfg' - domain lock lost - aborting".to_string())
    );
    a.release_domain_lock("ha");
    a.write_atomic("ha/rules.cfg", b"# free\n")
        .expect("unguarded again");
}

#[test]
fn crm_command_queue_works_across_nodes() {
    let Some(etcd) = Etcd::start(1, "queue") else {
        return;
    };
    let (a, _) = store(etcd.endpoints(), "n1", 20);
    let (b, _) = store(etcd.endpoints(), "n2", 20);
    let mut quiet = |_: &str| {};
    assert!(!files::any_pending_crm_command(&a).expect("pending"));
    files::queue_crm_command(&a, "migrate vm:100 n2", &mut quiet).expect("queue a");
    files::queue_crm_command(&b, "stop vm:101 0", &mut quiet).expect("queue b");
    assert!(files::any_pending_crm_command(&b).expect("pending"));
    let taken = files::take_crm_commands(&b, &mut quiet).expect("take");
    assert_eq!(taken, "migrate vm:100 n2\nstop vm:101 0\n");
    assert!(!files::any_pending_crm_command(&a).expect("pending"));
    assert_eq!(
        a.read("ha/crm_commands").expect("read").as_deref(),
        Some(&b""[..])
    );
}

#[test]
fn a_node_cut_from_the_etcd_majority_stops_renewing() {
    let Some(mut etcd) = Etcd::start(3, "majority") else {
        return;
    };
    // The node talks to member 0 only, as a node would to its local member.
    let local = vec![etcd.members[0].client_url.clone()];
    let (s, _) = store(local, "n1", 20);
    let lock = "ha_agent_n1_lock";
    s.lock_create(lock).expect("lock");
    // One member down: the majority (2 of 3) still serves.
    // If it led, the other two elect a new leader within a few seconds.
    etcd.members[2].kill();
    let t = Instant::now();
    while s.lock_renew(lock, 0).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no renewal with 2 of 3"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("2 of 3 members: renewing again after {:?}", t.elapsed());
    s.write_atomic("ha/x", b"1").expect("write with 2 of 3");
    // Two down: member 0 is cut from the majority.
    etcd.members[1].kill();
    let t = Instant::now();
    let mut failed_after = None;
    while t.elapsed() < Duration::from_secs(10) {
        let call = Instant::now();
        let r = s.lock_renew(lock, 0);
        // Every call is bounded by the store's 2 s timeout.
        assert!(
            call.elapsed() < Duration::from_millis(2500),
            "{:?}",
            call.elapsed()
        );
        if r.is_err() {
            failed_after = Some((t.elapsed(), r));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (after, reason) = failed_after.expect("renewal kept working without a majority");
    eprintln!("cut from majority: renewal failed after {after:?}: {reason:?}");
    // And it keeps failing: nothing renews behind the caller's back.
    for _ in 0..2 {
        let call = Instant::now();
        assert!(s.lock_renew(lock, 0).is_err());
        assert!(call.elapsed() < Duration::from_millis(2500));
    }
    assert!(s.write_atomic("ha/x", b"2").is_err());
    assert!(
        s.read("ha/x").is_err(),
        "no linearizable read without a leader"
    );
}

#[test]
fn ha_manager_edits_through_the_etcd_store() {
    let Some(etcd) = Etcd::start(1, "ha-manager") else {
        return;
    };
    let (s, _) = store(etcd.endpoints(), "n1", 20);
    s.write_atomic("ha/resources.cfg", b"vm: 100\n\tstate started\n")
        .expect("seed resources.cfg");
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        pve_ha::cli::ha_manager::run(&s, &args)
    };
    assert_eq!(run(&["set", "vm:100", "--state", "stopped"]), 0);
    assert_eq!(
        s.read("ha/resources.cfg").expect("read").as_deref(),
        Some(&b"vm: 100\n\tstate stopped\n\n"[..])
    );
    assert_eq!(run(&["crm-command", "migrate", "vm:100", "n2"]), 0);
    assert_eq!(
        s.read("ha/crm_commands").expect("read").as_deref(),
        Some(&b"migrate vm:100 n2\n"[..])
    );
}
