//! What a server occupies: the bytes of its SQLite store on disk and the resident memory of its
//! process, read before and after the groups scenario's work.

use std::io;
use std::path::{Path, PathBuf};

/// A process's resident memory from `/proc/PID/status`, in kB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcMemory {
    /// `RssAnon`: private memory (heap, stacks), what the process itself holds.
    pub rss_anon_kb: u64,
    /// `RssFile`: file-backed pages resident, e.g. a memory-mapped SQLite file.
    pub rss_file_kb: u64,
}

/// Why a footprint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FootprintError {
    #[error("no store at {0} (nor its -wal or -shm)")]
    NoStore(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} has no {field} line")]
    Field { path: PathBuf, field: &'static str },
}

/// The files of a SQLite store in WAL mode: the database, its `-wal` and its `-shm`.
pub fn store_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_owned(), with("-wal"), with("-shm")]
}

/// The summed size of the store's files that exist; an error if none does (a wrong path
/// would otherwise read as an empty store).
pub fn store_bytes(path: &Path) -> Result<u64, FootprintError> {
    let mut total = None;
    for file in store_files(path) {
        match std::fs::metadata(&file) {
            Ok(m) => *total.get_or_insert(0) += m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(FootprintError::Read { path: file, source }),
        }
    }
    total.ok_or_else(|| FootprintError::NoStore(path.to_owned()))
}

/// `RssAnon` and `RssFile` of process `pid` (Linux).
pub fn process_memory(pid: u32) -> Result<ProcMemory, FootprintError> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|source| FootprintError::Read {
        path: path.clone(),
        source,
    })?;
    parse_status(&text).map_err(|field| FootprintError::Field { path, field })
}

/// Reads `RssAnon` and `RssFile` from the text of `/proc/PID/status`; the error names the
/// field missing.
pub fn parse_status(text: &str) -> Result<ProcMemory, &'static str> {
    let field = |name: &'static str| {
        text.lines()
            .find_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix(':')?;
                rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
            })
            .ok_or(name)
    };
    Ok(ProcMemory {
        rss_anon_kb: field("RssAnon")?,
        rss_file_kb: field("RssFile")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kb() {
        let text = "Name:\tscim-bridge\nVmRSS:\t  51200 kB\nRssAnon:\t   40960 kB\n\
                    RssFile:\t    10240 kB\nRssShmem:\t       0 kB\n";
        assert_eq!(
            parse_status(text),
            Ok(ProcMemory {
                rss_anon_kb: 40960,
                rss_file_kb: 10240
            })
        );
        assert_eq!(parse_status("RssFile:\t1 kB\n"), Err("RssAnon"));
        assert_eq!(parse_status("RssAnon:\t1 kB\n"), Err("RssFile"));
    }

    #[test]
    fn this_process_has_resident_memory() {
        let m = process_memory(std::process::id()).unwrap();
        assert!(m.rss_anon_kb > 0 && m.rss_file_kb > 0, "{m:?}");
        assert!(matches!(
            process_memory(u32::MAX),
            Err(FootprintError::Read { .. })
        ));
    }

    #[test]
    fn store_bytes_sum_the_files_that_exist() {
        let dir = std::env::temp_dir().join(format!("scim-bench-footprint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("gw.db");
        assert!(matches!(store_bytes(&db), Err(FootprintError::NoStore(_))));
        std::fs::write(&db, [0u8; 4096]).unwrap();
        assert_eq!(store_bytes(&db).unwrap(), 4096);
        std::fs::write(dir.join("gw.db-wal"), [0u8; 100]).unwrap();
        std::fs::write(dir.join("gw.db-shm"), [0u8; 10]).unwrap();
        assert_eq!(store_bytes(&db).unwrap(), 4206);
        assert_eq!(store_files(&db)[1], dir.join("gw.db-wal"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
