//! Whole-database backups and restores, for `wujing backup` and `wujing restore`
//! (docs/OPERATIONS.md, "Backups").
//!
//! A backup is consistent while the server keeps serving: SQLite's `VACUUM INTO` copies one
//! read transaction's snapshot (WAL readers never block the writer), PostgreSQL's `pg_dump`
//! reads one repeatable-read snapshot. Either is written beside its destination and renamed
//! into place only once complete and flushed, so a backup that exists is whole. The keys are
//! not in a backup (the key file is kept apart): a restore needs the same key file.
//!
//! A restore replaces the database at the URL with the backup: SQLite by checking the copy
//! (`PRAGMA integrity_check`) and renaming it over the file — refused while another process
//! writes to it; PostgreSQL by `pg_restore --clean --single-transaction`, all or nothing. The
//! caller then checks the restored data (the binary recounts the invariants and walks the
//! audit chain).

use crate::{Result, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which kind of database a URL names.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// `PATH.partial`: where a backup or a restored copy is written before it is renamed.
fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Db(format!("{what} {}: {e}", path.display()))
}

/// Flushes a finished file and renames it into place, then flushes its directory, so that
/// after a power cut the destination is either absent or whole.
fn commit_file(tmp: &Path, dest: &Path) -> Result<()> {
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot flush", tmp, e))?;
    std::fs::rename(tmp, dest).map_err(|e| io("cannot rename into", dest, e))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes a consistent copy of the database at `url` to `to`, which must not exist (a backup
/// is never overwritten: retention removes old ones, docs/OPERATIONS.md). Returns its size.
pub fn backup(url: &str, to: &Path) -> Result<u64> {
    if to.exists() {
        return Err(StoreError::Db(format!(
            "{} exists already; a backup never replaces one",
            to.display()
        )));
    }
    let tmp = partial(to);
    let _ = std::fs::remove_file(&tmp);
    let r = if is_postgres(url) {
        pg_tool("pg_dump", url, &["--format=custom", "--compress=6"], &tmp)
    } else {
        sqlite_backup(sqlite_path(url), &tmp)
    };
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    commit_file(&tmp, to)?;
    std::fs::metadata(to)
        .map(|m| m.len())
        .map_err(|e| io("cannot read", to, e))
}

fn sqlite_backup(db: &str, tmp: &Path) -> Result<()> {
    if !Path::new(db).exists() {
        return Err(StoreError::Db(format!("no SQLite database at {db}")));
    }
    let c = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(crate::sqlite::db_err)?;
    c.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(crate::sqlite::db_err)?;
    // One read transaction's snapshot, written as a compact database file of its own.
    c.execute("VACUUM INTO ?1", [tmp.display().to_string()])
        .map_err(crate::sqlite::db_err)?;
    Ok(())
}

/// Replaces the database at `url` with the backup at `from`.
pub fn restore(url: &str, from: &Path) -> Result<()> {
    if !from.is_file() {
        return Err(StoreError::Db(format!("no backup at {}", from.display())));
    }
    if is_postgres(url) {
        pg_tool(
            "pg_restore",
            url,
            &[
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
            ],
            from,
        )
    } else {
        sqlite_restore(sqlite_path(url), from)
    }
}

fn sqlite_restore(db: &str, from: &Path) -> Result<()> {
    let dest = Path::new(db);
    let tmp = partial(dest);
    let _ = std::fs::remove_file(&tmp);
    std::fs::copy(from, &tmp).map_err(|e| io("cannot copy the backup to", &tmp, e))?;
    let check = (|| {
        let c = rusqlite::Connection::open(&tmp).map_err(crate::sqlite::db_err)?;
        let verdict: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(crate::sqlite::db_err)?;
        if verdict != "ok" {
            return Err(StoreError::Corrupt(format!(
                "the backup {} fails SQLite's integrity check: {verdict}",
                from.display()
            )));
        }
        Ok(())
    })();
    if let Err(e) = check {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if dest.exists() && open_elsewhere(dest) {
        // Renaming under a running server would leave it writing to a deleted file.
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::Db(format!(
            "{db} is open in another process: stop the server before restoring"
        )));
    }
    for suffix in ["-wal", "-shm"] {
        let mut p = dest.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    commit_file(&tmp, dest)
}

/// Whether another process has the file open (Linux: its `/proc/PID/fd` links; processes of
/// other users are not visible without privileges, so docs/OPERATIONS.md also says to stop
/// the server first).
fn open_elsewhere(file: &Path) -> bool {
    let Ok(target) = file.canonicalize() else {
        return false;
    };
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        let name = p.file_name();
        let pid = name.to_string_lossy();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        std::fs::read_dir(p.path().join("fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        })
    })
}

/// Where a PostgreSQL client tool is: on PATH, else the newest of Debian's versioned
/// directories (`/usr/lib/postgresql/N/bin`), where the server packages put it.
fn find_tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                let f = e.path().join("bin").join(name);
                f.is_file().then_some((v, f))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, f)| f)
    })
}

/// Runs `pg_dump` (into `file`) or `pg_restore` (from `file`) for the database at `url`. The
/// password, if the URL has one, goes in the environment, not on a command line others can
/// read.
fn pg_tool(name: &str, url: &str, args: &[&str], file: &Path) -> Result<()> {
    let tool = find_tool(name).ok_or_else(|| {
        StoreError::Db(format!(
            "{name} not found on PATH or in /usr/lib/postgresql/*/bin (install the PostgreSQL client)"
        ))
    })?;
    let (url, password) = split_password(url);
    let mut cmd = Command::new(&tool);
    cmd.args(args).arg(format!("--dbname={url}"));
    if name == "pg_dump" {
        cmd.arg(format!("--file={}", file.display()));
    } else {
        cmd.arg(file);
    }
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd
        .output()
        .map_err(|e| StoreError::Db(format!("cannot run {}: {e}", tool.display())))?;
    if !out.status.success() {
        return Err(StoreError::Db(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `Some("secret")`).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return (url.to_string(), None);
    };
    match userinfo.split_once(':') {
        Some((user, pass)) => (format!("{scheme}://{user}@{host}"), Some(pass.to_string())),
        None => (url.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_leaves_the_url() {
        assert_eq!(
            split_password("postgres://app:s3cret@db:5432/wujing"),
            (
                "postgres://app@db:5432/wujing".to_string(),
                Some("s3cret".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://app@db/wujing"),
            ("postgres://app@db/wujing".to_string(), None)
        );
    }
}
