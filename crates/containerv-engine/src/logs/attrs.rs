//! Docker's "extra attributes" (`--log-opt labels=a,b labels-regex=…
//! env=X,Y env-regex=…`): the named container labels and environment
//! variables that travel with every line — `attrs` in json-file lines,
//! record fields for fluentd, journal fields (upper-cased) for journald.

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::{Error, Result};

/// Checks the regex options (the name lists take any text).
pub fn validate(opts: &BTreeMap<String, String>) -> Result<()> {
    for k in ["labels-regex", "env-regex"] {
        if let Some(v) = opts.get(k).filter(|v| !v.is_empty()) {
            Regex::new(v)
                .map_err(|e| Error::option(format!("--log-opt {k}"), v.as_str(), e.to_string()))?;
        }
    }
    Ok(())
}

/// The attributes of a container, keys passed through `key` (docker's
/// `ExtraAttributes(keyMod)`): labels first, then env (env wins a clash).
pub fn extra(
    opts: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
    env: &[String],
    key: &dyn Fn(&str) -> String,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let env: BTreeMap<&str, &str> = env.iter().filter_map(|e| e.split_once('=')).collect();
    let list = |k: &str| -> Vec<String> {
        opts.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let re = |k: &str| {
        opts.get(k)
            .filter(|v| !v.is_empty())
            .and_then(|v| Regex::new(v).ok())
    };
    for l in list("labels") {
        if let Some(v) = labels.get(&l) {
            out.insert(key(&l), v.clone());
        }
    }
    if let Some(re) = re("labels-regex") {
        for (k, v) in labels.iter().filter(|(k, _)| re.is_match(k)) {
            out.insert(key(k), v.clone());
        }
    }
    for e in list("env") {
        if let Some(v) = env.get(e.as_str()) {
            out.insert(key(&e), v.to_string());
        }
    }
    if let Some(re) = re("env-regex") {
        for (k, v) in env.iter().filter(|(k, _)| re.is_match(k)) {
            out.insert(key(k), v.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_named_and_matching_labels_and_env() {
        let mut o = BTreeMap::new();
        o.insert("labels".to_string(), "app,missing".to_string());
        o.insert("env".to_string(), "REGION".to_string());
        o.insert("env-regex".to_string(), "^OS_".to_string());
        let labels = BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "x".to_string()),
        ]);
        let env = vec![
            "REGION=eu".to_string(),
            "OS_NAME=linux".to_string(),
            "PATH=/bin".to_string(),
        ];
        let a = extra(&o, &labels, &env, &|k| k.to_string());
        assert_eq!(
            a.into_iter().collect::<Vec<_>>(),
            [
                ("OS_NAME".to_string(), "linux".to_string()),
                ("REGION".into(), "eu".into()),
                ("app".into(), "web".into())
            ]
        );
    }
}
