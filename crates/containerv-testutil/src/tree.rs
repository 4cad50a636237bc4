//! Comparing two directory trees, for tests of anything that copies files
//! (upload/download, layer unpack): a copy must keep names, kinds, bytes,
//! modes, owners and symlink texts.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Asserts that `b` is a copy of `a`: the same names, kinds, bytes, modes
/// (with file type), owners and link texts, recursively; symlinks are
/// compared as links, never followed. The message names the first path in
/// `b` that differs.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let ma = a
        .symlink_metadata()
        .unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let mb = b
        .symlink_metadata()
        .unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    assert_eq!(ma.mode(), mb.mode(), "mode of {}", b.display());
    assert_eq!(
        (ma.uid(), ma.gid()),
        (mb.uid(), mb.gid()),
        "owner of {}",
        b.display()
    );
    if ma.file_type().is_symlink() {
        assert_eq!(
            std::fs::read_link(a).unwrap(),
            std::fs::read_link(b).unwrap(),
            "link text of {}",
            b.display()
        );
    } else if ma.is_dir() {
        let names = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        let na = names(a);
        assert_eq!(na, names(b), "entries of {}", b.display());
        for n in na {
            assert_same_tree(&a.join(&n), &b.join(&n));
        }
    } else {
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "contents of {}",
            b.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("d/e")).unwrap();
        std::fs::write(dir.join("d/e/f"), "bytes").unwrap();
        std::fs::write(dir.join("x"), "top").unwrap();
        symlink("d/e/f", dir.join("l")).unwrap();
    }

    fn fails(a: &Path, b: &Path) -> String {
        let (a, b) = (a.to_path_buf(), b.to_path_buf());
        let r = std::thread::spawn(move || assert_same_tree(&a, &b)).join();
        let e = r.expect_err("trees should differ");
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn equal_trees_pass_and_each_difference_is_named() {
        crate::require_root();
        let root = crate::temp_root();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        tree(&a);
        tree(&b);
        assert_same_tree(&a, &b);

        std::fs::write(b.join("d/e/f"), "other").unwrap();
        assert!(fails(&a, &b).contains("contents of"));
        std::fs::write(b.join("d/e/f"), "bytes").unwrap();

        std::fs::set_permissions(b.join("x"), PermissionsExt::from_mode(0o600)).unwrap();
        assert!(fails(&a, &b).contains("mode of"));
        std::fs::set_permissions(
            b.join("x"),
            std::fs::metadata(a.join("x")).unwrap().permissions(),
        )
        .unwrap();

        std::fs::remove_file(b.join("l")).unwrap();
        symlink("x", b.join("l")).unwrap();
        assert!(fails(&a, &b).contains("link text of"));
        std::fs::remove_file(b.join("l")).unwrap();
        symlink("d/e/f", b.join("l")).unwrap();

        std::os::unix::fs::chown(b.join("x"), Some(1000), Some(1000)).unwrap();
        assert!(fails(&a, &b).contains("owner of"));
        std::os::unix::fs::chown(b.join("x"), Some(0), Some(0)).unwrap();

        std::fs::write(b.join("d/extra"), "").unwrap();
        assert!(fails(&a, &b).contains("entries of"));
        std::fs::remove_file(b.join("d/extra")).unwrap();
        assert_same_tree(&a, &b);
    }
}
