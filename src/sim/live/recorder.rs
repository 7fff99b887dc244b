//! `--record` (ours, beyond upstream): the actions taken in the live
//! simulator, written as a `cmdlist` (01 §4) that the tester can replay on
//! the same directory. Actions close together in time share a batch; a
//! longer pause becomes a `delay` so that the replay keeps the pacing, as
//! far as the tester's 100-second batch slots allow (01 §5.6).

use std::path::{Path, PathBuf};

use crate::env::Time;

/// Actions this close (virtual seconds) to a batch's first action join it.
pub const BATCH_WINDOW: Time = 5;

/// The tester applies batches this far apart without a delay (01 §5.6).
const BATCH_SPACING: Time = 100;

/// The part of a batch slot a `delay` cannot shorten: a delay of `N` at
/// `T` puts the next batch at `T + 20·⌈N/20⌉ + 80` (01 §5.6).
const DELAY_OFFSET: Time = 80;

/// The recorded batches and where they go.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    batches: Vec<(Time, Vec<String>)>,
}

impl Recorder {
    /// A recorder writing `path` (normally `DIR/cmdlist`).
    pub fn new(path: &Path) -> Self {
        Recorder {
            path: path.to_path_buf(),
            batches: Vec::new(),
        }
    }

    /// Where the cmdlist is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the commands of one action taken at `t` and rewrites the
    /// file, so it is complete whenever the simulator is stopped.
    pub fn record(&mut self, t: Time, commands: Vec<String>) -> std::io::Result<()> {
        if commands.is_empty() {
            return Ok(());
        }
        match self.batches.last_mut() {
            Some((start, batch)) if t - *start <= BATCH_WINDOW => batch.extend(commands),
            _ => self.batches.push((t, commands)),
        }
        self.write()
    }

    /// Writes the file (an empty list before the first action).
    pub fn write(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.cmdlist()).map_err(std::io::Error::other)?;
        std::fs::write(&self.path, format!("{text}\n"))
    }

    /// The batches as a cmdlist, with `delay`s for long pauses.
    pub fn cmdlist(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for (i, (t, cmds)) in self.batches.iter().enumerate() {
            let mut batch = cmds.clone();
            if let Some((next, _)) = self.batches.get(i + 1) {
                let gap = next - t;
                if gap > BATCH_SPACING {
                    batch.push(format!("delay {}", gap - DELAY_OFFSET));
                }
            }
            out.push(batch);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_delays() {
        let dir = std::env::temp_dir().join(format!("pve-ha-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cmdlist");
        let mut r = Recorder::new(&path);
        r.record(1000, vec!["power node1 on".into()]).unwrap();
        r.record(1003, vec!["power node2 on".into()]).unwrap();
        r.record(1050, vec!["network node1 off".into()]).unwrap();
        r.record(1350, vec!["service vm:1 migrate node2".into(), "x".into()])
            .unwrap();
        r.record(1350, vec![]).unwrap();
        assert_eq!(
            r.cmdlist(),
            vec![
                vec!["power node1 on".to_string(), "power node2 on".into()],
                vec!["network node1 off".into(), "delay 220".into()],
                vec!["service vm:1 migrate node2".into(), "x".into()],
            ]
        );
        let written: Vec<Vec<String>> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written, r.cmdlist());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
