//! Files and folders only the server's own user can open: the data dir and every folder in it
//! 0700, the database and every blob 0600 — set explicitly, whatever the umask. The database
//! holds the URL-signing key and live upload tokens, the blobs hold private files.

use std::io;
use std::path::Path;

/// Creates `dir` (and parents) and makes it 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes sure the file at `path` exists and is 0600, keeping what it holds.
pub fn ensure_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    drop(options.open(path)?);
    restrict(path, 0o600)
}

/// Narrows an existing file to 0600 (the database's `-wal` and `-shm` of an older server).
pub fn narrow_if_present(path: &Path) -> io::Result<()> {
    match restrict(path, 0o600) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Creates a new file, 0600, for writing.
pub async fn create_file(path: &Path) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(path).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .await?;
    }
    Ok(file)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
