//! `cv rename`: a container's name moves to a new one, as docker does
//! it: the new name is claimed first (atomic, refused when taken), the
//! record rewritten under the container's lock, and the old name's link
//! removed last, so at every moment the container answers to at least
//! one of its names and never to a name it does not hold.

use super::{names, Store};
use crate::error::{Error, Result};

impl Store {
    /// Renames container `reference` to `new_name`.
    pub fn rename(&self, reference: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        names::validate(new_name)?;
        let id = self.resolve(reference)?;
        let g = self.lock(&id)?;
        let mut config = self.load_config(&id)?;
        if config.name == new_name {
            return Err(Error::option(
                "NEW_NAME",
                new_name,
                "the container already has that name",
            ));
        }
        self.claim_name(new_name, &id)?;
        let old = std::mem::replace(&mut config.name, new_name.to_string());
        if let Err(e) = self.save_config(&config, &g) {
            let _ = std::fs::remove_file(self.name_link(new_name));
            return Err(e);
        }
        let link = self.name_link(&old);
        if std::fs::read_link(&link).is_ok_and(|t| t.as_os_str() == id.as_str()) {
            let _ = std::fs::remove_file(&link);
        }
        drop(g);
        // docker's `rename`: `oldName` as docker keeps names, with `/`.
        crate::events::container(
            self.root(),
            &config,
            "rename",
            &[("oldName", format!("/{old}"))],
        );
        Ok(())
    }
}
