//! Service ids (`vm:100`, `ct:101`, the simulator's `fa:102`) and the
//! resource types they name.

use std::fmt;
use std::str::FromStr;

use crate::types::text::is_space;
use crate::word_enum;

word_enum! {
    /// A resource plugin type. `vm` and `ct` exist on real nodes; `ocf`
    /// (an OCF resource agent, docs/ocf.md) only with the etcd backend;
    /// `fa` ("failing agent") is the simulator's failure-injecting
    /// resource.
    pub enum ResourceType ("resource type") {
        /// QEMU virtual machine.
        Vm => "vm",
        /// LXC container.
        Ct => "ct",
        /// Simulated resource whose operations can be made to fail.
        Fa => "fa",
        /// An OCF resource agent (`/usr/lib/ocf/resource.d/<provider>/<type>`).
        Ocf => "ocf",
    }
}

impl ResourceType {
    /// Whether an automatic move of this type is a live migration
    /// (`vm` only) rather than an offline relocation (03 §1.2). An `ocf`
    /// resource always moves by relocation (stop, then start elsewhere).
    pub fn migrates_live(self) -> bool {
        self == ResourceType::Vm
    }
}

/// Why a text is not a service id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidError {
    /// Does not match `^[a-z]+:\S+$` (the `pve-ha-resource-id` format).
    #[error("value does not look like a valid ha resource id")]
    Malformed,
}

/// A canonical service id `<type>:<name>`, validated against the
/// `pve-ha-resource-id` format (`^[a-z]+:\S+$`, 06 §3.4).
///
/// The type part is kept as text: rules and status files may name types
/// this node has no plugin for. Ordering is byte-wise on the whole id, the
/// order upstream iterates services in (`ct:` < `fa:` < `vm:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid {
    text: String,
    colon: usize,
}

impl Sid {
    /// Builds a sid from a type and a name, validating the result.
    pub fn new(ty: &str, name: &str) -> Result<Self, SidError> {
        format!("{ty}:{name}").parse()
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The type part (`vm`).
    pub fn type_str(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The name part (`100`).
    pub fn name(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The resource type, if it is one of the known plugins.
    pub fn resource_type(&self) -> Option<ResourceType> {
        self.type_str().parse().ok()
    }
}

impl FromStr for Sid {
    type Err = SidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let colon = s.find(':').ok_or(SidError::Malformed)?;
        let (ty, rest) = (&s[..colon], &s[colon + 1..]);
        let type_ok = !ty.is_empty() && ty.bytes().all(|b| b.is_ascii_lowercase());
        let name_ok = !rest.is_empty() && !rest.chars().any(is_space);
        if type_ok && name_ok {
            Ok(Sid {
                text: s.to_string(),
                colon,
            })
        } else {
            Err(SidError::Malformed)
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl serde::Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Sid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid service id '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_ids() {
        let sid: Sid = "vm:100".parse().unwrap();
        assert_eq!(sid.type_str(), "vm");
        assert_eq!(sid.name(), "100");
        assert_eq!(sid.resource_type(), Some(ResourceType::Vm));
        let odd: Sid = "xy:a:b".parse().unwrap();
        assert_eq!(odd.type_str(), "xy");
        assert_eq!(odd.name(), "a:b");
        assert_eq!(odd.resource_type(), None);
        let ocf: Sid = "ocf:web-ip".parse().unwrap();
        assert_eq!(ocf.resource_type(), Some(ResourceType::Ocf));
        assert!(!ResourceType::Ocf.migrates_live());
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "100", "VM:100", "vm:", ":100", "vm:1 0", "vm 100", "v1:100", "",
        ] {
            assert_eq!(bad.parse::<Sid>(), Err(SidError::Malformed), "{bad}");
        }
    }

    #[test]
    fn orders_like_upstream() {
        let mut v: Vec<Sid> = ["vm:1", "fa:2", "ct:3", "vm:10", "vm:2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        v.sort();
        let s: Vec<&str> = v.iter().map(Sid::as_str).collect();
        assert_eq!(s, ["ct:3", "fa:2", "vm:1", "vm:10", "vm:2"]);
    }
}
