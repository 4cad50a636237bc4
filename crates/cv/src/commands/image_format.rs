//! Docker's output shapes for the image commands: the objects behind
//! `cv images --format json` (one per line, docker's keys and values) and
//! `cv image inspect` (docker's inspect array), docker's relative times
//! ("2 weeks ago"), and the small Go-template subset people pass to
//! `--format` (`{{.ID}}`, `{{json .}}`, `{{json .Config}}`, `table …`).

use containerv_image::reference::display_parts;
use containerv_image::{ImageDetails, ImageSummary};
use serde_json::{json, Value};

use crate::output::human_size;

/// `docker images --format json` for one row.
pub fn summary_json(r: &ImageSummary, no_trunc: bool, now: i64) -> Value {
    let id = if no_trunc {
        r.id.clone()
    } else {
        short_id(&r.id)
    };
    let size = human_size(r.size);
    json!({
        "Containers": "N/A",
        "CreatedAt": created_at(&r.created),
        "CreatedSince": since(&r.created, now),
        "Digest": r.digest,
        "ID": id,
        "Repository": r.repository,
        "SharedSize": "N/A",
        "Size": size,
        "Tag": r.tag,
        "UniqueSize": "N/A",
        "VirtualSize": size,
    })
}

/// `docker image inspect` for one image.
pub fn inspect_json(d: &ImageDetails) -> Value {
    let mut digests = Vec::new();
    let mut tags = Vec::new();
    for r in &d.repo_tags {
        let (repo, tag) = display_parts(r);
        let dig = format!("{repo}@{}", d.digest);
        if !digests.contains(&dig) {
            digests.push(dig);
        }
        if !tag.starts_with("sha256:") {
            tags.push(format!("{repo}:{tag}"));
        }
    }
    json!({
        "Id": d.id,
        "RepoTags": tags,
        "RepoDigests": digests,
        "Parent": "",
        "Comment": "",
        "Created": d.created,
        "Config": d.config,
        "Architecture": d.architecture,
        "Os": d.os,
        "Size": d.size,
        "RootFS": {"Type": "layers", "Layers": d.diff_ids},
        "Descriptor": {"mediaType": d.media_type, "digest": d.digest, "size": d.manifest_size},
    })
}

/// What `--format` asks for.
pub enum Format {
    /// Docker's default (a table, or the inspect array).
    Default,
    /// One JSON object per item.
    Json,
    /// A Go template (subset): `{{.Field}}`, `{{json .}}`, `{{json .Field}}`;
    /// `table` first prints a header line.
    Template { table: bool, text: String },
}

impl Format {
    pub fn parse(f: Option<&str>) -> Format {
        match f.map(str::trim) {
            None | Some("") | Some("table") => Format::Default,
            Some("json") | Some("{{json .}}") => Format::Json,
            Some(t) => match t.strip_prefix("table") {
                Some(rest) if rest.starts_with(char::is_whitespace) => Format::Template {
                    table: true,
                    text: unescape(rest.trim_start()),
                },
                _ => Format::Template {
                    table: false,
                    text: unescape(t),
                },
            },
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

/// Renders template `t` against `v` (the one engine: [`crate::template`];
/// an unknown field is an error naming it, docker's "can't evaluate
/// field").
pub fn render(t: &str, v: &Value) -> anyhow::Result<String> {
    Ok(crate::template::render(t, v)?)
}

/// The header line of a `table` template: each `{{.Field}}` as FIELD.
pub fn header(t: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let j = rest[i..].find("}}").map_or(rest.len(), |j| i + j + 2);
        let action = rest[i + 2..j.saturating_sub(2).max(i + 2)].trim();
        let name = action.trim_start_matches("json ").trim_start_matches('.');
        out.push_str(&name.to_ascii_uppercase());
        rest = &rest[j..];
    }
    out.push_str(rest);
    out
}

/// `sha256:abcdef…` → `abcdef012345` (docker's short id).
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05Z`,
/// fractions and `+hh:mm` offsets allowed).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let days =
        containerv::time::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    Some(days * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Docker's `CreatedAt`: `2024-01-02 03:04:05 +0000 UTC`.
pub fn created_at(rfc3339: &str) -> String {
    let Some(t) = parse_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let u = containerv::time::Utc::from_unix(t, 0);
    format!("{} {} +0000 UTC", u.date(), u.clock())
}

/// Docker's relative time (`About an hour ago`, `3 weeks ago`), from
/// go-units' HumanDuration; empty when the time is unknown.
pub fn since(rfc3339: &str, now: i64) -> String {
    let Some(t) = parse_rfc3339(rfc3339) else {
        return String::new();
    };
    let secs = (now - t).max(0) as u64;
    let d = containerv_engine::duration::human(std::time::Duration::from_secs(secs));
    format!("{d} ago")
}

/// Now, in seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_like_docker() {
        let t = parse_rfc3339("2024-03-01T12:00:00Z").unwrap();
        assert_eq!(t, 1709294400);
        assert_eq!(parse_rfc3339("2024-03-01T13:00:00.123+01:00"), Some(t));
        assert_eq!(
            created_at("2024-03-01T12:00:00.5Z"),
            "2024-03-01 12:00:00 +0000 UTC"
        );
        assert_eq!(since("2024-03-01T12:00:00Z", t + 90), "About a minute ago");
        assert_eq!(since("2024-03-01T12:00:00Z", t + 3 * 86400), "3 days ago");
        assert_eq!(since("2024-03-01T12:00:00Z", t + 21 * 86400), "3 weeks ago");
        assert_eq!(since("nonsense", t), "");
    }

    #[test]
    fn templates() {
        let v = json!({"ID": "abc", "Tag": "v1", "Config": {"Cmd": ["sh", "-c"]}});
        assert_eq!(render("{{.ID}}\t{{.Tag}}", &v).unwrap(), "abc\tv1");
        assert_eq!(
            render("{{json .Config.Cmd}}", &v).unwrap(),
            r#"["sh","-c"]"#
        );
        assert_eq!(render("{{.Config.Cmd}}", &v).unwrap(), "[sh -c]");
        let e = render("{{.Nope}}", &v).unwrap_err().to_string();
        assert!(e.contains("Nope") && e.contains("ID"), "{e}");
        assert_eq!(header("{{.ID}}\t{{.Tag}}"), "ID\tTAG");
        assert!(matches!(Format::parse(Some("json")), Format::Json));
        assert!(matches!(
            Format::parse(Some("table {{.ID}}")),
            Format::Template { table: true, .. }
        ));
    }
}
