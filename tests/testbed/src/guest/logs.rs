//! Per-run slices of the topology's long-running logs.

use std::{
    fs::{self, File},
    io::{Read as _, Seek as _, SeekFrom},
    path::{Path, PathBuf},
};

/// A position in a growing log file.
#[derive(Debug, Clone)]
pub struct LogMark {
    pub path: PathBuf,
    offset: u64,
}

impl LogMark {
    /// The current end of the log (0 if it does not exist yet).
    pub fn now(path: &Path) -> LogMark {
        LogMark { path: path.to_owned(), offset: fs::metadata(path).map_or(0, |m| m.len()) }
    }

    /// What was written since the mark.
    pub fn text_since(&self) -> String {
        let mut text = Vec::new();
        if let Ok(mut file) = File::open(&self.path) {
            if file.seek(SeekFrom::Start(self.offset)).is_ok() {
                let _ = file.read_to_end(&mut text);
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}
