//! `cv cp`: copy between the host and a container (running, paused,
//! created or exited), either way; `-` as the host side is a tar stream
//! on stdin (into a directory of the container) or stdout. The engine
//! does the copy through the core's in-root path resolution.

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
        (Some((c, p)), None) if dest == "-" => {
            use std::io::IsTerminal as _;
            if std::io::stdout().is_terminal() {
                bail!("cp: refusing to write a tar stream to a terminal");
            }
            e.copy_out_tar(c, Path::new(p), std::io::stdout().lock())?
        }
        (Some((c, p)), None) => e.copy_out(c, Path::new(p), Path::new(dest))?,
        (None, Some((c, p))) if src == "-" => {
            e.copy_in_tar(c, std::io::stdin().lock(), Path::new(p))?
        }
        (None, Some((c, p))) => e.copy_in(c, Path::new(src), Path::new(p))?,
        (Some(_), Some(_)) => bail!("cp: copying between two containers is not supported"),
        (None, None) => bail!("cp: one of SRC and DEST must be CONTAINER:PATH"),
    }
    Ok(())
}
