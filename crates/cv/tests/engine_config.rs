//! The engine's configuration file (`--config-file`,
//! `$CONTAINERV_CONFIG_FILE`) as an administrator writes it: its storage
//! root is used when no flag or variable names one, `cv info` shows what
//! was read, and a bad file stops every engine command with the file, the
//! key and the value named, before anything is made.

mod common;

use std::path::Path;
use std::process::Command;

use common::Cv;

/// `cv` with no `--root`: the file decides (the variables the test
/// harness might have set are removed).
fn cv_bare(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cv"));
    c.args(args)
        .env_remove("CONTAINERV_ROOT")
        .env_remove("CONTAINERV_CONFIG_FILE")
        .env("CV_MONITOR_BUILTIN", "1");
    c
}

fn info_json(c: &mut Command) -> serde_json::Value {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "cv info failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_files_root_and_volume_defaults_are_used_and_shown() {
    let cv = Cv::new();
    let dir = cv.root.path();
    let root = dir.join("from-file");
    let file = dir.join("engine.toml");
    std::fs::write(
        &file,
        format!(
            "# the administrator's file\n[storage]\nroot = \"{}\"\nimage-root = \"{}\"\n\n\
             [volumes]\ndefault-opts = {{ size = \"10g\" }}\n",
            root.display(),
            cv.images.display()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    for mut c in [
        cv_bare(&["--config-file", f, "info", "--format", "json"]),
        {
            let mut c = cv_bare(&["info", "--format", "json"]);
            c.env("CONTAINERV_CONFIG_FILE", f);
            c
        },
    ] {
        let v = info_json(&mut c);
        assert_eq!(v["DockerRootDir"], root.to_str().unwrap());
        assert_eq!(v["EngineConfigFile"], f);
        assert_eq!(v["DefaultVolumeOptions"]["size"], "10g");
    }
    assert!(root.join("containers").is_dir(), "the file's root is used");
    // --root still wins over the file.
    let other = dir.join("flag-root");
    let v = info_json(&mut cv_bare(&[
        "--config-file",
        f,
        "--root",
        other.to_str().unwrap(),
        "info",
        "--format",
        "json",
    ]));
    assert_eq!(v["DockerRootDir"], other.to_str().unwrap());
    // The text form says it too.
    let o = cv_bare(&["--config-file", f, "info"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&format!("Engine Config File: {f}")), "{text}");
    assert!(text.contains("Default Volume Options: size=10g"), "{text}");
}

#[test]
fn a_bad_file_names_the_key_and_value_and_makes_nothing() {
    let cv = Cv::new();
    let dir = cv.root.path();
    let root = dir.join("never-made");
    let file = dir.join("engine.toml");
    let missing = dir.join("missing.toml");
    let f = file.to_str().unwrap();
    for (text, want) in [
        (
            format!(
                "[storage]\nroot = \"{}\"\nrootdir = \"/x\"\n",
                root.display()
            ),
            vec!["rootdir", "line 3"],
        ),
        (
            format!(
                "[storage]\nroot = \"{}\"\n[volumes]\ndefault-opts = {{ size = \"abc\" }}\n",
                root.display()
            ),
            vec!["volumes.default-opts", "size", "\"abc\""],
        ),
        (
            "[storage]\nroot = \"relative/dir\"\n".to_string(),
            vec!["storage.root", "\"relative/dir\"", "absolute"],
        ),
        (
            format!("[storage]\nroot = \"{}\"\n[volume]\n", root.display()),
            vec!["volume"],
        ),
    ] {
        std::fs::write(&file, &text).unwrap();
        for args in [
            vec!["--config-file", f, "info"],
            vec!["--config-file", f, "ps"],
            vec!["--config-file", f, "volume", "create", "v1"],
        ] {
            let o = cv_bare(&args).output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{args:?} with {text:?} succeeded");
            assert!(err.contains(f), "{args:?}: the file is named: {err}");
            for w in &want {
                assert!(err.contains(w), "{args:?} with {text:?}: {w:?} in {err}");
            }
        }
        assert!(!root.exists(), "nothing is made with a bad file");
    }
    // A file named by flag or variable must exist.
    let o = cv_bare(&["--config-file", missing.to_str().unwrap(), "info"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.toml"));
    assert!(!Path::new(&root).exists());
}
