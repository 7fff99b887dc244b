//! Reading the node configuration file (`config::node` parses it): the
//! one place that decides which file that is.

use std::path::{Path, PathBuf};

use crate::config::node::{NodeConfig, NodeConfigError, DEFAULT_PATH, PATH_ENV};

/// The path to read: `PVE_HA_NODE_CONFIG` or `/etc/pve-ha/node.cfg`.
pub fn path_from_env() -> PathBuf {
    std::env::var_os(PATH_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

/// Reads the file named by the environment; a missing file gives the
/// defaults (`pve` with upstream's timing).
pub fn load() -> Result<NodeConfig, NodeConfigError> {
    load_from(&path_from_env())
}

/// Reads `path`; a missing file gives the defaults.
pub fn load_from(path: &Path) -> Result<NodeConfig, NodeConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut cfg = NodeConfig::parse(&path.display().to_string(), &bytes)?;
            cfg.source = Some(path.to_path_buf());
            Ok(cfg)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NodeConfig::default()),
        Err(e) => Err(NodeConfigError::Read {
            path: path.display().to_string(),
            reason: crate::sys::errno::errno_text(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_the_default() {
        let c = load_from(Path::new("/nonexistent/pve-ha/node.cfg"));
        assert_eq!(c, Ok(NodeConfig::default()));
    }

    #[test]
    fn a_directory_is_a_read_error() {
        let e = load_from(Path::new("/")).err().map(|e| e.to_string());
        assert!(e.unwrap_or_default().starts_with("unable to read '/' - "));
    }
}
