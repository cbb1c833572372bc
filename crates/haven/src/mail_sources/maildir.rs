//! A Maildir folder as a source of email intake: each message in `new/` (and any in `cur/`
//! not yet flagged seen) is stored through `intake_email::ingest_message`, then moved to
//! `cur/` with the `S` (seen) flag. Never `tmp/`, which is still being written.
//!
//! Stored first, moved after: a server that stops between the two finds the message again
//! and the keyed content hash answers "duplicate" (nothing stored twice). Two servers
//! reading one Maildir both try; the one that stores second gets "duplicate", and the one
//! that renames second finds the file gone, which is fine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

use super::{Intake, PollError, PollReport, log_poll, wait_or_stop};
use crate::intake_email::{self, SourceError, ingest_message_with};

/// A Maildir to take messages from.
#[derive(Debug, Clone)]
pub struct MaildirSource {
    pub dir: PathBuf,
    pub poll_every: Duration,
}

impl MaildirSource {
    pub fn new(dir: PathBuf, poll_every: Duration) -> Self {
        Self { dir, poll_every }
    }

    /// The source's name in reports and logs.
    pub fn key(&self) -> String {
        format!("maildir:{}", self.dir.display())
    }

    /// Takes in every waiting message once.
    pub async fn poll_once(&self, intake: &Intake) -> Result<PollReport, PollError> {
        let mut report = PollReport::new(&self.key());
        for file in waiting(&self.dir)? {
            let raw = match intake_email::read_message(&file) {
                Ok(raw) => raw,
                // Taken (moved) by another server since the listing.
                Err(SourceError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(e) => return Err(io_error(&file, e)),
            };
            let ingested = ingest_message_with(
                &intake.storage,
                &intake.registry,
                &intake.secret,
                &raw,
                intake.clock.now(),
                "system",
                &intake.settings,
            )
            .await?;
            report.count(&ingested);
            mark_seen(&file)?;
        }
        Ok(report)
    }

    /// Runs until `shutdown`, looking every `poll_every`.
    pub async fn run(self, intake: Intake, mut shutdown: watch::Receiver<bool>) {
        loop {
            log_poll(&self.poll_once(&intake).await);
            if wait_or_stop(self.poll_every, &mut shutdown).await {
                return;
            }
        }
    }
}

/// The messages waiting: `new/`'s files, then `cur/`'s without the `S` flag; sorted by
/// name (delivery time first) within each; never hidden files.
pub fn waiting(dir: &Path) -> Result<Vec<PathBuf>, PollError> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    if !new.is_dir() || !cur.is_dir() {
        return Err(PollError::Io {
            path: dir.display().to_string(),
            reason: "not a Maildir folder (it needs new/, cur/ and tmp/)".to_owned(),
        });
    }
    let mut files = list(&new)?;
    files.extend(list(&cur)?.into_iter().filter(|p| !seen(p)));
    Ok(files)
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, PollError> {
    let io = |e: std::io::Error| PollError::Io {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type().map_err(io)?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Whether a file name carries the `S` flag (`…:2,FLAGS`).
fn seen(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.rsplit_once(":2,")
        .is_some_and(|(_, flags)| flags.contains('S'))
}

/// The name of a message once seen: its unique part, `:2,` and its flags with `S`, in
/// ASCII order as the Maildir convention wants.
pub fn seen_name(name: &str) -> String {
    let (unique, flags) = match name.rsplit_once(":2,") {
        Some((unique, flags)) => (unique, flags),
        None => (name, ""),
    };
    let mut flags: Vec<char> = flags.chars().filter(|c| *c != 'S').collect();
    flags.push('S');
    flags.sort_unstable();
    flags.dedup();
    format!("{unique}:2,{}", flags.into_iter().collect::<String>())
}

/// Moves a stored message to `cur/` with the `S` flag. Gone already: another server did.
fn mark_seen(file: &Path) -> Result<(), PollError> {
    let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(());
    };
    let Some(maildir) = file.parent().and_then(Path::parent) else {
        return Ok(());
    };
    let target = maildir.join("cur").join(seen_name(&name));
    match std::fs::rename(file, &target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PollError::Io {
            path: file.display().to_string(),
            reason: format!("stored, but could not be moved to cur/: {e}"),
        }),
    }
}

fn io_error(file: &Path, e: SourceError) -> PollError {
    PollError::Io {
        path: file.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_names_follow_the_maildir_convention() {
        assert_eq!(seen_name("123.M1P2.host"), "123.M1P2.host:2,S");
        assert_eq!(seen_name("123.host:2,F"), "123.host:2,FS");
        assert_eq!(seen_name("123.host:2,RS"), "123.host:2,RS");
        assert!(seen(Path::new("cur/1.host:2,FS")));
        assert!(!seen(Path::new("cur/1.host:2,F")));
        assert!(!seen(Path::new("new/1.host")));
    }
}
