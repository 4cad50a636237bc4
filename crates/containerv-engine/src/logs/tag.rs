//! `--log-opt tag=…`: docker's Go template (`{{.Name}}/{{.ID}}`) over the
//! container's info, rendered by the engine's one template engine
//! ([`crate::template`]) — the same one behind every `--format`.
//!
//! The fields are docker's `logger.Info` methods: `ID` (12 hex digits),
//! `FullID`, `Name` (no leading `/`), `ImageID` (12), `ImageFullID`,
//! `ImageName` (as given), `Command`, `Hostname`, `DaemonName`. A template
//! that does not parse or names another field fails `create`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::template::Template;

/// What a tag template can name about one container.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

impl Info {
    /// From a container's record.
    pub fn of(c: &crate::record::ContainerConfig) -> Self {
        Info {
            id: c.id.clone(),
            name: c.name.clone(),
            image: c.image.clone(),
            image_id: c.image_id.clone(),
            command: c.command.clone(),
            env: c.env.clone(),
            labels: c.labels.clone(),
        }
    }

    /// 12 hex digits of the id (docker's `ID`).
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    fn value(&self) -> Value {
        let image_hex = self.image_id.rsplit(':').next().unwrap_or_default();
        json!({
            "ID": self.short_id(),
            "FullID": self.id,
            "Name": self.name.trim_start_matches('/'),
            "ImageID": &image_hex[..image_hex.len().min(12)],
            "ImageFullID": self.image_id,
            "ImageName": self.image,
            "Command": self.command.join(" "),
            "Hostname": nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_default(),
            "DaemonName": "containerv",
        })
    }
}

/// Checks the `tag` option against a sample container.
pub fn validate(opts: &BTreeMap<String, String>) -> Result<()> {
    if let Some(t) = opts.get("tag") {
        let sample = Info {
            id: "0".repeat(64),
            name: "sample".into(),
            image: "image".into(),
            image_id: format!("sha256:{}", "0".repeat(64)),
            ..Default::default()
        };
        parse(t)?
            .render(&sample.value())
            .map_err(|e| Error::option("--log-opt tag", t.as_str(), e.to_string()))?;
    }
    Ok(())
}

fn parse(t: &str) -> Result<Template> {
    Template::parse_for("--log-opt tag", t)
        .map_err(|e| Error::option("--log-opt tag", t, e.to_string()))
}

/// The tag for a container: the `tag` option rendered, else `default`
/// rendered (`{{.ID}}` for the forwarding drivers; json-file has none).
pub fn render(opts: &BTreeMap<String, String>, info: &Info, default: &str) -> String {
    let src = opts.get("tag").map(String::as_str).unwrap_or(default);
    if src.is_empty() {
        return String::new();
    }
    parse(src)
        .ok()
        .and_then(|t| t.render(&info.value()).ok())
        .unwrap_or_else(|| info.short_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dockers_fields() {
        let info = Info {
            id: "0123456789abcdef".repeat(4),
            name: "web".into(),
            image: "busybox:latest".into(),
            image_id: format!("sha256:{}", "fedcba9876543210".repeat(4)),
            ..Default::default()
        };
        let mut o = BTreeMap::new();
        o.insert(
            "tag".to_string(),
            "{{.Name}}/{{.ID}}/{{.ImageName}}/{{.ImageID}}".to_string(),
        );
        assert_eq!(
            render(&o, &info, "{{.ID}}"),
            "web/0123456789ab/busybox:latest/fedcba987654"
        );
        assert_eq!(render(&BTreeMap::new(), &info, "{{.ID}}"), "0123456789ab");
        assert_eq!(render(&BTreeMap::new(), &info, ""), "");
        o.insert("tag".into(), "{{.FullID}}".into());
        assert_eq!(render(&o, &info, ""), info.id);
        o.insert("tag".into(), "{{.Bogus}}".into());
        assert!(validate(&o).is_err());
    }
}
