//! `cv cp`: copy between the host and a container, either way, through
//! the core library's upload/download (paths resolved inside the
//! container's root, symlinks cannot lead out).

use std::path::Path;

use anyhow::bail;

use super::super::Context;

/// `name:path` → (name, path); a host path has no `:` before its first `/`.
fn split(arg: &str) -> Option<(&str, &str)> {
    let (c, p) = arg.split_once(':')?;
    if c.is_empty() || c.contains('/') {
        return None;
    }
    Some((c, p))
}

pub fn cp(ctx: &Context, src: &str, dest: &str) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    match (split(src), split(dest)) {
        (Some((c, p)), None) => {
            let id = e.store.resolve(c)?;
            e.core(&id)?.download(Path::new(p), Path::new(dest))?;
        }
        (None, Some((c, p))) => {
            let id = e.store.resolve(c)?;
            e.core(&id)?.upload(Path::new(src), Path::new(p))?;
        }
        (Some(_), Some(_)) => bail!("cp: copying between two containers is not supported"),
        (None, None) => bail!("cp: one of SRC and DEST must be CONTAINER:PATH"),
    }
    Ok(())
}
