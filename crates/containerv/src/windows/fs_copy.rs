//! Upload and download for a job-object container: its files are its
//! working directory, so a container path (`/data/in.txt`, `data\in.txt`)
//! names a path under it. A job object isolates no files (the container's
//! processes can reach the whole disk anyway); this only keeps a path from
//! leaving the working directory by `..`, a drive or a root.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// `path` inside the container → the host path under `working_dir`.
pub(crate) fn resolve(working_dir: &Path, path: &Path) -> Result<PathBuf> {
    let text = path.to_string_lossy().replace('/', "\\");
    let mut out = working_dir.to_path_buf();
    for c in Path::new(&text).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::option(
                    "container path",
                    path.display().to_string(),
                    "must stay inside the container's working directory (no '..' or drive)",
                ))
            }
        }
    }
    if out == working_dir {
        return Err(Error::option(
            "container path",
            path.display().to_string(),
            "names the working directory itself, not a file or directory in it",
        ));
    }
    Ok(out)
}

/// Copies file or directory `src` to `dst` (parents created, files
/// replaced).
pub(crate) fn copy(src: &Path, dst: &Path) -> Result<()> {
    let meta = std::fs::metadata(src).map_err(|e| Error::io("copy from", src, e))?;
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    if meta.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| Error::io("create directory", dst, e))?;
        let rd = std::fs::read_dir(src).map_err(|e| Error::io("read directory", src, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("read directory", src, e))?;
            copy(&entry.path(), &dst.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(src, dst).map_err(|e| Error::io("copy to", dst, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_working_dir() {
        let wd = Path::new(r"C:\cv\work");
        assert_eq!(
            resolve(wd, Path::new("/data/in.txt")).unwrap(),
            Path::new(r"C:\cv\work\data\in.txt")
        );
        assert_eq!(
            resolve(wd, Path::new(r"data\in.txt")).unwrap(),
            Path::new(r"C:\cv\work\data\in.txt")
        );
        for bad in ["/../x", r"..\x", r"D:\x", "/", ""] {
            assert!(resolve(wd, Path::new(bad)).is_err(), "{bad}");
        }
    }
}
