//! Typed access to every HA file through a [`ClusterStore`] (06 §1,
//! 07 §2.6–§2.7, §4.8): read and parse (warnings returned, never printed),
//! write canonically and atomically, and the read-modify-write edits that
//! run under the `domain-ha` lock. The CLI and the real daemons'
//! environment both go through here, so a file is read one way only.

use std::collections::BTreeMap;

use crate::config::datacenter::{self, DatacenterConfig};
use crate::config::resources::{ResourcesConfig, ResourcesFormat};
use crate::config::section::{self, SectionConfig, SectionFormat, Value};
use crate::config::status::{enqueue, LrmStatus, ManagerStatus};
use crate::config::Parsed;
use crate::env::ServiceConfigChange;
use crate::types::text::split_list;
use crate::types::Sid;

use super::paths;
use super::store::{with_domain_lock, ClusterStore, Locked, StoreError};

/// Why a typed read failed: the store, or content that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Reading the file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The content is not what the file must hold (e.g. bad JSON).
    #[error("{0}")]
    Parse(String),
}

/// A section-config file as read: its raw bytes and their parse.
pub type SectionFile<T> = (Vec<u8>, Parsed<SectionConfig<T>>);

/// A section-config file's raw bytes and parse (a missing file reads as
/// empty). The warnings name the file by its full path, as upstream's do.
pub fn read_section<F: SectionFormat>(
    store: &dyn ClusterStore,
    rel: &str,
    format: &F,
) -> Result<SectionFile<F::Section>, StoreError> {
    let raw = store.read(rel)?.unwrap_or_default();
    let parsed = section::parse(format, &store.path_of(rel), &raw);
    Ok((raw, parsed))
}

/// Writes a section-config file canonically (07 §2.7).
pub fn write_section<F: SectionFormat>(
    store: &dyn ClusterStore,
    rel: &str,
    format: &F,
    cfg: &SectionConfig<F::Section>,
) -> Result<(), String> {
    let text = section::write(format, cfg).map_err(|e| e.to_string())?;
    store
        .write_atomic(rel, text.as_bytes())
        .map_err(|e| e.to_string())
}

/// `manager_status`: missing or empty ⇒ `{}`; otherwise it must be JSON
/// (07 §2.6).
pub fn read_manager_status(store: &dyn ClusterStore) -> Result<ManagerStatus, FileError> {
    let raw = store.read(paths::MANAGER_STATUS)?.unwrap_or_default();
    ManagerStatus::from_json(&String::from_utf8_lossy(&raw))
        .map_err(|e| FileError::Parse(e.to_string()))
}

/// Replaces `manager_status` with its compact, sorted JSON.
pub fn write_manager_status(
    store: &dyn ClusterStore,
    ms: &ManagerStatus,
) -> Result<(), StoreError> {
    store.write_atomic(paths::MANAGER_STATUS, ms.to_json().as_bytes())
}

/// A node's `lrm_status`; `None` when the file does not exist (the caller
/// decides what a missing file means, 07 §2.6); empty ⇒ `{}`.
pub fn read_lrm_status(
    store: &dyn ClusterStore,
    node: &str,
) -> Result<Option<LrmStatus>, FileError> {
    let Some(raw) = store.read(&paths::lrm_status(node))? else {
        return Ok(None);
    };
    LrmStatus::from_json(&String::from_utf8_lossy(&raw))
        .map(Some)
        .map_err(|e| FileError::Parse(e.to_string()))
}

/// Replaces a node's `lrm_status`.
pub fn write_lrm_status(
    store: &dyn ClusterStore,
    node: &str,
    st: &LrmStatus,
) -> Result<(), StoreError> {
    store.write_atomic(&paths::lrm_status(node), st.to_json().as_bytes())
}

/// `datacenter.cfg` in the real format (a missing file is empty).
pub fn read_datacenter(store: &dyn ClusterStore) -> Result<Parsed<DatacenterConfig>, StoreError> {
    let raw = store.read(paths::DATACENTER)?.unwrap_or_default();
    Ok(datacenter::parse_real(
        &store.path_of(paths::DATACENTER),
        &String::from_utf8_lossy(&raw),
    ))
}

/// resources.cfg of a real node, parsed.
pub fn read_resources(store: &dyn ClusterStore) -> Result<Parsed<ResourcesConfig>, StoreError> {
    Ok(read_section(store, paths::RESOURCES, &ResourcesFormat::default())?.1)
}

/// Whether the CRM command queue holds anything (no lock, 07 §2.6).
pub fn any_pending_crm_command(store: &dyn ClusterStore) -> Result<bool, StoreError> {
    Ok(store
        .read(paths::CRM_COMMANDS)?
        .is_some_and(|b| !b.is_empty()))
}

/// Appends one command to `crm_commands` under the `ha` domain lock
/// (06 §8.3, 07 §2.6).
pub fn queue_crm_command(
    store: &dyn ClusterStore,
    command: &str,
    on_wait: &mut dyn FnMut(&str),
) -> Result<(), Locked<String>> {
    with_domain_lock(store, "ha", on_wait, || {
        let old = store
            .read(paths::CRM_COMMANDS)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let text = enqueue(&String::from_utf8_lossy(&old), command);
        store
            .write_atomic(paths::CRM_COMMANDS, text.as_bytes())
            .map_err(|e| e.to_string())
    })
}

/// Takes the whole command queue, leaving it empty, under the `ha` domain
/// lock (07 §2.6).
pub fn take_crm_commands(
    store: &dyn ClusterStore,
    on_wait: &mut dyn FnMut(&str),
) -> Result<String, Locked<String>> {
    with_domain_lock(store, "ha", on_wait, || {
        let old = store
            .read(paths::CRM_COMMANDS)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        if !old.is_empty() {
            store
                .write_atomic(paths::CRM_COMMANDS, b"")
                .map_err(|e| e.to_string())?;
        }
        Ok(String::from_utf8_lossy(&old).into_owned())
    })
}

/// Applies property changes to resources.cfg under the `ha` domain lock
/// (the daemons' `update_service_config`, 07 §2.1): per sid in order, set
/// then delete keys; an unknown sid fails as upstream's does.
pub fn update_resources(
    store: &dyn ClusterStore,
    changes: &BTreeMap<Sid, ServiceConfigChange>,
    on_wait: &mut dyn FnMut(&str),
) -> Result<(), Locked<String>> {
    let format = ResourcesFormat::default();
    with_domain_lock(store, "ha", on_wait, || {
        let (_, parsed) =
            read_section(store, paths::RESOURCES, &format).map_err(|e| e.to_string())?;
        let mut cfg = parsed.value;
        for (sid, change) in changes {
            let slot = cfg
                .ids
                .get_mut(sid.as_str())
                .and_then(Option::as_mut)
                .ok_or_else(|| format!("no such resource '{sid}'"))?;
            let mut raw = format.encode(slot);
            for (k, v) in &change.set {
                let value = match v.parse::<i64>() {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::Str(v.clone()),
                };
                raw.props.insert(k.clone(), value);
            }
            for list in &change.delete {
                for k in split_list(list) {
                    raw.props.remove(k);
                }
            }
            *slot = format.decode(raw)?;
        }
        write_section(store, paths::RESOURCES, &format, &cfg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PmxcfsStore;
    use crate::types::RequestedState;

    fn store(name: &str) -> PmxcfsStore {
        let dir = std::env::temp_dir().join(format!("pve-ha-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ha")).unwrap();
        std::fs::create_dir_all(dir.join("nodes/n1")).unwrap();
        std::fs::write(
            dir.join(".members"),
            r#"{"nodename":"n1","version":1,"cluster":{"name":"c","version":1,"nodes":1,"quorate":1},"nodelist":{"n1":{"id":1,"online":1}}}"#,
        )
        .unwrap();
        PmxcfsStore::new(dir)
    }

    #[test]
    fn status_files_round_trip_and_missing_lrm_status_is_none() {
        let s = store("status");
        assert_eq!(read_manager_status(&s).unwrap(), ManagerStatus::default());
        assert_eq!(read_lrm_status(&s, "n1").unwrap(), None);
        let st = LrmStatus::from_json(
            r#"{"mode":"active","state":"wait_for_agent_lock","results":{},"timestamp":5}"#,
        )
        .unwrap();
        write_lrm_status(&s, "n1", &st).unwrap();
        assert_eq!(read_lrm_status(&s, "n1").unwrap(), Some(st));
        std::fs::write(s.root().join("ha/manager_status"), "{bad").unwrap();
        assert!(matches!(read_manager_status(&s), Err(FileError::Parse(_))));
        let _ = std::fs::remove_dir_all(s.root());
    }

    #[test]
    fn command_queue_is_taken_whole() {
        let s = store("queue");
        let mut quiet = |_: &str| {};
        assert!(!any_pending_crm_command(&s).unwrap());
        queue_crm_command(&s, "migrate vm:100 n2\n", &mut quiet).unwrap();
        queue_crm_command(&s, "stop vm:101 0", &mut quiet).unwrap();
        assert!(any_pending_crm_command(&s).unwrap());
        assert_eq!(
            take_crm_commands(&s, &mut quiet).unwrap(),
            "migrate vm:100 n2\nstop vm:101 0\n"
        );
        assert!(!any_pending_crm_command(&s).unwrap());
        assert!(!s.root().join("priv/lock/domain-ha").exists());
        let _ = std::fs::remove_dir_all(s.root());
    }

    #[test]
    fn update_sets_and_deletes_under_the_lock() {
        let s = store("update");
        std::fs::write(
            s.root().join("ha/resources.cfg"),
            "vm: 100\n\tstate started\n\tgroup g1\n",
        )
        .unwrap();
        let mut quiet = |_: &str| {};
        let sid: Sid = "vm:100".parse().unwrap();
        let change = ServiceConfigChange {
            set: [
                ("state".to_string(), "stopped".to_string()),
                ("max_restart".into(), "2".into()),
            ]
            .into(),
            delete: vec!["group".into()],
        };
        update_resources(
            &s,
            &BTreeMap::from([(sid.clone(), change.clone())]),
            &mut quiet,
        )
        .unwrap();
        let cfg = read_resources(&s).unwrap().value;
        let r = cfg.get("vm:100").unwrap();
        assert_eq!(r.requested_state(), RequestedState::Stopped);
        assert_eq!(r.max_restart, Some(2));
        assert_eq!(r.group, None);
        let other: Sid = "vm:101".parse().unwrap();
        let err = update_resources(&s, &BTreeMap::from([(other, change)]), &mut quiet).unwrap_err();
        assert_eq!(err.to_string(), "no such resource 'vm:101'");
        let _ = std::fs::remove_dir_all(s.root());
    }
}
