//! Checking an `ocf` resource when it is added or changed
//! (`ha-manager add/set`): the agent exists, its `meta-data` parses,
//! every required parameter is given, no unknown parameter is, a
//! `unique` parameter's value is not used by another resource of the
//! same agent, and `validate-all` exits 0. Each failure is one line that
//! names the resource: `ocf:web-ip: agent heartbeat:IPaddr2 requires
//! parameter 'ip'`.

use std::path::Path;
use std::time::Duration;

use super::agent::{self, AgentError, Invocation};
use super::exit::{Action, OcfExit};
use super::metadata::{Metadata, MetadataError};
use crate::config::node::BackendKind;
use crate::config::ocf::{OcfAgent, OcfParams, OcfSpec};

/// The refusal of resource type `ocf` on the pve backend: upstream's
/// Perl parser, which shares the file there, would drop such sections.
pub const PVE_REFUSAL: &str =
    "error: resource type 'ocf' needs the etcd backend (the pve backend's parser would drop it)";

/// Whether resource type `ocf` may be configured on this backend.
pub fn check_backend(kind: BackendKind) -> Result<(), &'static str> {
    match kind {
        BackendKind::Pve => Err(PVE_REFUSAL),
        BackendKind::Etcd => Ok(()),
    }
}

/// Budget of `meta-data` (the agents advise 5 s).
pub const META_DATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of `validate-all` when the agent advises none.
pub const VALIDATE_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a resource is refused. `Display` is the whole line after
/// `error: `.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The agent could not be run.
    #[error("{sid}: {err}")]
    Agent {
        /// `ocf:<name>`.
        sid: String,
        /// Why.
        err: AgentError,
    },
    /// `meta-data` exited non-zero.
    #[error("{sid}: agent {agent} meta-data failed: {exit}")]
    MetaDataFailed {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// Its exit status.
        exit: OcfExit,
    },
    /// `meta-data` printed something unusable.
    #[error("{sid}: agent {agent} meta-data: {err}")]
    MetaData {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// Why.
        err: MetadataError,
    },
    /// A required parameter is missing.
    #[error("{sid}: agent {agent} requires parameter '{param}'")]
    Missing {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// The parameter.
        param: String,
    },
    /// A parameter the agent does not declare.
    #[error("{sid}: agent {agent} has no parameter '{param}'")]
    Unknown {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// The parameter.
        param: String,
    },
    /// A `unique` parameter has the value of another resource's.
    #[error("{sid}: parameter '{param}' of agent {agent} must be unique, but {other} has the same value")]
    NotUnique {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// The parameter.
        param: String,
        /// The other resource.
        other: String,
    },
    /// `validate-all` refused the configuration.
    #[error("{sid}: agent {agent} validate-all failed: {exit}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Invalid {
        /// `ocf:<name>`.
        sid: String,
        /// The agent.
        agent: OcfAgent,
        /// Its exit status.
        exit: OcfExit,
        /// The agent's own reason, if it gave one.
        reason: Option<String>,
    },
}

/// Runs `meta-data` and parses it.
pub fn read_metadata(root: &Path, sid: &str, agent: &OcfAgent) -> Result<Metadata, ValidateError> {
    let empty = OcfParams::default();
    let name = sid.split_once(':').map_or(sid, |(_, n)| n);
    let out = agent::run(
        root,
        &Invocation {
            agent,
            instance: name,
            params: &empty,
            action: Action::MetaData,
            timeout: META_DATA_TIMEOUT,
            meta: &[],
        },
    )
    .map_err(|err| ValidateError::Agent {
        sid: sid.to_string(),
        err,
    })?;
    if out.exit != OcfExit::SUCCESS {
        return Err(ValidateError::MetaDataFailed {
            sid: sid.to_string(),
            agent: agent.clone(),
            exit: out.exit,
        });
    }
    Metadata::parse(&out.stdout).map_err(|err| ValidateError::MetaData {
        sid: sid.to_string(),
        agent: agent.clone(),
        err,
    })
}

/// The checks against the meta-data alone (no process runs): required,
/// unknown, unique against `others` (the other `ocf` resources, by sid).
pub fn check_params(
    meta: &Metadata,
    sid: &str,
    spec: &OcfSpec,
    others: &[(&str, &OcfSpec)],
) -> Result<(), ValidateError> {
    let agent = || spec.agent.clone();
    if let Some(p) = meta
        .params
        .iter()
        .find(|p| p.required && spec.params.get(&p.name).is_none())
    {
        return Err(ValidateError::Missing {
            sid: sid.to_string(),
            agent: agent(),
            param: p.name.clone(),
        });
    }
    if let Some((k, _)) = spec.params.0.iter().find(|(k, _)| meta.param(k).is_none()) {
        return Err(ValidateError::Unknown {
            sid: sid.to_string(),
            agent: agent(),
            param: k.clone(),
        });
    }
    for p in meta.params.iter().filter(|p| p.unique) {
        let Some(v) = spec.params.get(&p.name) else {
            continue;
        };
        let clash = others.iter().find(|(other, o)| {
            *other != sid && o.agent == spec.agent && o.params.get(&p.name) == Some(v)
        });
        if let Some((other, _)) = clash {
            return Err(ValidateError::NotUnique {
                sid: sid.to_string(),
                agent: agent(),
                param: p.name.clone(),
                other: other.to_string(),
            });
        }
    }
    Ok(())
}

/// Runs `validate-all` with the resource's parameters. An agent that
/// does not implement it (exit 3) passes.
pub fn run_validate_all(
    root: &Path,
    meta: &Metadata,
    sid: &str,
    spec: &OcfSpec,
) -> Result<(), ValidateError> {
    let name = sid.split_once(':').map_or(sid, |(_, n)| n);
    let out = agent::run(
        root,
        &Invocation {
            agent: &spec.agent,
            instance: name,
            params: &spec.params,
            action: Action::ValidateAll,
            timeout: meta.timeout("validate-all").unwrap_or(VALIDATE_TIMEOUT),
            meta: &[],
        },
    )
    .map_err(|err| ValidateError::Agent {
        sid: sid.to_string(),
        err,
    })?;
    match out.exit.0 {
        0 | 3 => Ok(()),
        _ => Err(ValidateError::Invalid {
            sid: sid.to_string(),
            agent: spec.agent.clone(),
            exit: out.exit,
            reason: out.reason().map(str::to_string),
        }),
    }
}

/// Every check, in the order of the module docs; the meta-data on
/// success.
pub fn validate(
    root: &Path,
    sid: &str,
    spec: &OcfSpec,
    others: &[(&str, &OcfSpec)],
) -> Result<Metadata, ValidateError> {
    let meta = read_metadata(root, sid, &spec.agent)?;
    check_params(&meta, sid, spec, others)?;
    run_validate_all(root, &meta, sid, spec)?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ocf::OcfParams;

    fn spec(agent: &str, params: &str) -> OcfSpec {
        OcfSpec {
            agent: agent.parse().unwrap(),
            params: OcfParams::parse(params).unwrap(),
        }
    }

    #[test]
    fn only_the_etcd_backend_takes_ocf() {
        assert_eq!(check_backend(BackendKind::Pve), Err(PVE_REFUSAL));
        assert_eq!(check_backend(BackendKind::Etcd), Ok(()));
    }

    #[test]
    fn parameter_checks() {
        let meta = Metadata::parse(
            r#"<resource-agent name="X"><parameter name="ip" required="1" unique="1"/><parameter name="nic"/></resource-agent>"#,
        )
        .unwrap();
        let line = |s: &OcfSpec, others: &[(&str, &OcfSpec)]| {
            check_params(&meta, "ocf:web-ip", s, others).map_err(|e| e.to_string())
        };
        assert_eq!(
            line(&spec("heartbeat:IPaddr2", "nic=eth0"), &[]),
            Err("ocf:web-ip: agent heartbeat:IPaddr2 requires parameter 'ip'".into())
        );
        assert_eq!(
            line(&spec("heartbeat:IPaddr2", "ip=1.2.3.4 netmask=24"), &[]),
            Err("ocf:web-ip: agent heartbeat:IPaddr2 has no parameter 'netmask'".into())
        );
        let other = spec("heartbeat:IPaddr2", "ip=1.2.3.4");
        let elsewhere = spec("heartbeat:IPsrcaddr", "ip=1.2.3.4");
        assert_eq!(
            line(&spec("heartbeat:IPaddr2", "ip=1.2.3.4"), &[("ocf:db-ip", &other)]),
            Err("ocf:web-ip: parameter 'ip' of agent heartbeat:IPaddr2 must be unique, but ocf:db-ip has the same value".into())
        );
        // The resource itself (set) and other agents do not clash.
        let me = spec("heartbeat:IPaddr2", "ip=1.2.3.4");
        assert_eq!(
            line(&me, &[("ocf:web-ip", &other), ("ocf:z", &elsewhere)]),
            Ok(())
        );
    }
}
