//! Writing files so that nothing is ever half-written: a temp file in the same folder, then a
//! rename. Existing files keep their permissions; new ones get what the umask gives a normal
//! file (0644 under umask 022), not the temp file's private 0600.

use std::{fs, io::Write};

use anyhow::Context;
use camino::Utf8Path;

/// Writes `contents` to `path` atomically, keeping the permissions of the file it replaces.
pub fn write_atomic(path: &Utf8Path, contents: &[u8]) -> anyhow::Result<()> {
    let staged = stage(path, contents)?;
    staged.commit()
}

/// A file written next to its destination but not yet renamed over it. Dropping it removes
/// the temp file; [`Staged::commit`] puts it in place.
#[derive(Debug)]
pub struct Staged {
    temp: tempfile::TempPath,
    dest: camino::Utf8PathBuf,
}

impl Staged {
    /// Where the staged content waits.
    pub fn path(&self) -> &Utf8Path {
        // invariant: the temp file was created inside a UTF-8 folder with an ASCII name.
        Utf8Path::from_path(&self.temp).unwrap_or(Utf8Path::new(""))
    }

    /// Renames the staged file over its destination.
    pub fn commit(self) -> anyhow::Result<()> {
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| e.error).with_context(|| format!("cannot replace {dest}"))
    }
}

/// Prefix of the temp files [`stage`] makes, so a cleanup can tell them from other files.
pub const TEMP_PREFIX: &str = ".release-core-";

/// Writes `contents` to a temp file beside `path` with `path`'s current permissions (if it
/// exists) and checks that `path` itself can be replaced, without touching `path` yet.
pub fn stage(path: &Utf8Path, contents: &[u8]) -> anyhow::Result<Staged> {
    let dir = match path.parent() {
        Some(p) if !p.as_str().is_empty() => p,
        _ => Utf8Path::new("."),
    };
    stage_in(dir, TEMP_PREFIX, path, contents)
}

/// As [`stage`], with the temp file in `dir` (which must be on `path`'s filesystem for the
/// rename to work) named with `prefix`.
pub fn stage_in(dir: &Utf8Path, prefix: &str, path: &Utf8Path, contents: &[u8]) -> anyhow::Result<Staged> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    // Created as open(2) creates any file, 0666 less the umask: the rename makes the temp file
    // the destination, so a new evidence record or formula gets the permissions the user's
    // umask asks for, like any file their tools write, rather than tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file =
        builder.tempfile_in(dir).with_context(|| format!("cannot create a temp file in {dir} to write {path}"))?;
    file.write_all(contents).with_context(|| format!("cannot write a temp file for {path}"))?;
    file.as_file().sync_all().with_context(|| format!("cannot flush the temp file for {path}"))?;
    if let Ok(meta) = fs::metadata(path) {
        // A read-only destination is refused here, before anything is renamed: renaming over
        // it would succeed on Unix and silently defeat the owner's protection.
        if meta.permissions().readonly() {
            anyhow::bail!("{path} is read-only");
        }
        fs::set_permissions(file.path(), meta.permissions())
            .with_context(|| format!("cannot copy the permissions of {path}"))?;
    }
    Ok(Staged { temp: file.into_temp_path(), dest: path.to_owned() })
}

/// Reads `path` (following symlinks) as UTF-8 text when it is a regular file; `None` when it
/// does not exist. Anything else (a FIFO, a directory, a socket, a device) is an error naming
/// the file: on Unix it is opened non-blocking and checked before any read, so a FIFO planted
/// where a version file should be cannot hang the command.
pub fn read_regular(path: &Utf8Path) -> anyhow::Result<Option<String>> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
    };
    let meta = file.metadata().with_context(|| format!("cannot read {path}"))?;
    if !meta.is_file() {
        anyhow::bail!("{path} is not a regular file (it is {}); refusing to read it", kind(&meta.file_type()));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).with_context(|| format!("cannot read {path}"))?;
    Ok(Some(text))
}

/// What kind of file a non-regular file is, for messages.
fn kind(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_dir() { "a directory" } else { "not a regular file" }
}
