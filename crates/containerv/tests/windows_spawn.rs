//! Windows spawn: argv quoting round trip through a real child, stdio
//! (pipe, file, null), environment and exit codes. Runs under Wine and on
//! Windows.
#![cfg(windows)]

mod windows_common;

use std::io::{Read, Write};

use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};
use windows_common::*;

fn output(c: &containerv::Container, mut o: ProcessOptions) -> (String, i32) {
    o.stdout = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut out = String::new();
    p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (out, p.wait().unwrap().code())
}

#[test]
fn argv_round_trip() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("argv");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    let tricky = [
        "plain",
        "",
        "two words",
        "tab\there",
        "quote\"inside",
        "\"quoted\"",
        "back\\slash",
        "trailing\\",
        "trailing space\\",
        "two\\\\",
        "\\\"",
        "a\\\\\"b c",
        "ünïcødé ✓",
        "--flag=\"x y\"",
        "%PATH%",
        "^&|<>",
    ];
    let mut args = vec!["echo-args"];
    args.extend(tricky);
    let (out, code) = output(&c, ProcessOptions::new(helper_args(&args)));
    assert_eq!(code, 0);
    let got: Vec<&str> = out.lines().collect();
    let want: Vec<String> = tricky.iter().map(|a| format!("{a:?}")).collect();
    assert_eq!(got, want);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn stdio_pipes_files_and_null() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("stdio");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();

    let mut o = ProcessOptions::new(helper_args(&["cat"]));
    o.stdin = Stdio::Pipe;
    o.stdout = Stdio::Pipe;
    o.stderr = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    p.stdin.take().unwrap().write_all(b"hello").unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    p.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(p.wait().unwrap().success());
    assert_eq!((out.as_str(), err.as_str()), ("hello", "err:5"));
    drop(p);

    let file = root.path().join("out.txt");
    let input = root.path().join("in.txt");
    std::fs::write(&input, "from a file").unwrap();
    let mut o = ProcessOptions::new(helper_args(&["cat"]));
    o.stdin = Stdio::File(input);
    o.stdout = Stdio::File(file.clone());
    o.stderr = Stdio::Null;
    assert!(c.spawn(o).unwrap().wait().unwrap().success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "from a file");

    let mut o = ProcessOptions::new(["cmd.exe", "/d", "/c", "echo hello"]);
    o.stdin = Stdio::Null;
    let (out, code) = output(&c, o);
    assert_eq!((out.trim(), code), ("hello", 0));
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn environment_layers() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("env");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .env("CV_A", "container")
                .env("CV_B", "container"),
        )
        .unwrap();
    for (var, want) in [
        ("CV_A", "container"),
        ("CV_B", "process"),
        ("SystemRoot", ""),
    ] {
        let mut o = ProcessOptions::new(helper_args(&["env", var]));
        o.env = vec!["cv_b=process".into()];
        let (out, _) = output(&c, o);
        if want.is_empty() {
            assert!(!out.trim().is_empty(), "{var} comes from the host");
        } else {
            assert_eq!(out.trim(), want, "{var}");
        }
    }
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
