//! Blobs addressed by sha256 under `blobs/sha256/<hex>`. A blob is written
//! to a temporary file in `ingest/` (same filesystem), hashed while it is
//! written, fsynced, and renamed into place only if its digest is the one
//! announced: a blob whose content does not match is never visible, and a
//! writer killed half way leaves only an ingest file that GC removes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::{Digest, HashingWriter};
use crate::error::{Error, IoContext, Result};

/// The blob part of the content store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
    ingest: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the blob directories under `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = root.join("blobs/sha256");
        let ingest = root.join("ingest");
        for d in [&dir, &ingest] {
            std::fs::create_dir_all(d).ctx("create directory", d)?;
        }
        Ok(BlobStore { dir, ingest })
    }

    /// Where blob `d` lives (whether or not it is there).
    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    /// The ingest directory (temporary files of writes in progress).
    pub fn ingest_dir(&self) -> &Path {
        &self.ingest
    }

    /// Whether blob `d` is stored.
    pub fn contains(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// Size of blob `d`, if stored.
    pub fn size(&self, d: &Digest) -> Option<u64> {
        std::fs::metadata(self.path(d)).ok().map(|m| m.len())
    }

    /// Starts writing a blob that must hash to `expected`.
    pub fn writer(&self, expected: &Digest) -> Result<BlobWriter> {
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = self.ingest.join(format!(
            "{}-{}-{}",
            expected.hex(),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let f = File::create(&tmp).ctx("create ingest file", &tmp)?;
        Ok(BlobWriter {
            inner: Some(HashingWriter::new(std::io::BufWriter::with_capacity(
                1 << 20,
                f,
            ))),
            tmp,
            dest: self.path(expected),
            expected: expected.clone(),
            dir: self.dir.clone(),
        })
    }

    /// Starts writing a blob whose digest is not known in advance (an
    /// archive member): [`UncheckedWriter::commit`] names it by its hash.
    pub fn writer_unchecked(&self) -> Result<UncheckedWriter> {
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = self.ingest.join(format!(
            "unchecked-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let f = File::create(&tmp).ctx("create ingest file", &tmp)?;
        Ok(UncheckedWriter {
            inner: Some(HashingWriter::new(std::io::BufWriter::with_capacity(
                1 << 20,
                f,
            ))),
            tmp,
            dir: self.dir.clone(),
        })
    }

    /// Stores `data`; checks it against `expected` when given. Returns the
    /// digest.
    pub fn put(&self, data: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let d = Digest::of(data);
        if let Some(e) = expected {
            if *e != d {
                return Err(Error::DigestMismatch {
                    what: "blob".into(),
                    expected: e.to_string(),
                    actual: d.to_string(),
                });
            }
        }
        if self.contains(&d) {
            return Ok(d);
        }
        let mut w = self.writer(&d)?;
        w.write_all(data).ctx("write ingest file", &w.tmp)?;
        w.commit()?;
        Ok(d)
    }

    /// Reads blob `d` whole (manifests and configs) and checks that it
    /// still hashes to `d`: a blob edited or damaged in the store is an
    /// error naming it, never silently used (docker checks on read too).
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let p = self.path(d);
        match std::fs::read(&p) {
            Ok(v) => {
                let actual = Digest::of(&v);
                if actual != *d {
                    return Err(Error::DigestMismatch {
                        what: format!("stored blob {} (damaged or edited in the store; pull or load the image again)", p.display()),
                        expected: d.to_string(),
                        actual: actual.to_string(),
                    });
                }
                Ok(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound(d.to_string()))
            }
            Err(e) => Err(Error::io("read blob", p, e)),
        }
    }

    /// Reads blob `d` whole without checking its digest: only for GC's
    /// marking, which must keep what a damaged manifest or config still
    /// names (it keeps more, never less).
    pub(crate) fn read_unverified(&self, d: &Digest) -> Result<Vec<u8>> {
        let p = self.path(d);
        std::fs::read(&p).map_err(|e| Error::io("read blob", p, e))
    }

    /// Opens blob `d` for reading.
    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        let p = self.path(d);
        File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::BlobNotFound(d.to_string()),
            _ => Error::io("open blob", p, e),
        })
    }

    /// Every stored blob and its size.
    pub fn list(&self) -> Result<Vec<(Digest, u64)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).ctx("read directory", &self.dir)? {
            let e = e.ctx("read directory", &self.dir)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(d) = Digest::parse(&format!("sha256:{name}")) {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((d, len));
            }
        }
        Ok(out)
    }

    /// Removes blob `d` (missing is fine).
    pub fn remove(&self, d: &Digest) -> Result<()> {
        let p = self.path(d);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove blob", p, e))
            }
            _ => Ok(()),
        }
    }
}

/// A blob being written. Dropped without [`BlobWriter::commit`], its
/// temporary file is removed.
pub struct BlobWriter {
    inner: Option<HashingWriter<std::io::BufWriter<File>>>,
    tmp: PathBuf,
    dest: PathBuf,
    expected: Digest,
    dir: PathBuf,
}

impl BlobWriter {
    /// Bytes written so far: where a resumed download continues.
    pub fn written(&self) -> u64 {
        self.inner.as_ref().map_or(0, |w| w.written())
    }

    /// Empties the file and the hash, to write the blob from its start
    /// again (a server that answered a range request with the whole blob).
    pub fn restart(&mut self) -> Result<()> {
        use std::io::Seek;
        let w = self.inner.take().expect("not committed");
        let (_, _, buf) = w.finish();
        let mut f = buf
            .into_inner()
            .map_err(|e| Error::io("write ingest file", &self.tmp, e.into_error()))?;
        f.set_len(0).ctx("truncate ingest file", &self.tmp)?;
        f.rewind().ctx("seek ingest file", &self.tmp)?;
        self.inner = Some(HashingWriter::new(std::io::BufWriter::with_capacity(
            1 << 20,
            f,
        )));
        Ok(())
    }

    /// Verifies the digest, fsyncs and renames the blob into place.
    /// Returns the number of bytes written.
    pub fn commit(mut self) -> Result<u64> {
        let w = self.inner.take().expect("commit called once");
        let (actual, n, buf) = w.finish();
        let f = buf
            .into_inner()
            .map_err(|e| Error::io("write ingest file", &self.tmp, e.into_error()))?;
        if actual != self.expected {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(Error::DigestMismatch {
                what: format!("blob {}", self.expected),
                expected: self.expected.to_string(),
                actual: actual.to_string(),
            });
        }
        f.sync_all().ctx("fsync", &self.tmp)?;
        drop(f);
        std::fs::rename(&self.tmp, &self.dest).ctx("rename into place", &self.dest)?;
        fsync_dir(&self.dir)?;
        Ok(n)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.as_mut().expect("not committed").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.as_mut().expect("not committed").flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// fsyncs a directory so a rename in it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .ctx("fsync directory", dir)
}

/// A blob being written whose name is its hash, known at the end.
pub struct UncheckedWriter {
    inner: Option<HashingWriter<std::io::BufWriter<File>>>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl UncheckedWriter {
    /// fsyncs and renames the blob into place; returns digest and size.
    pub fn commit(mut self) -> Result<(Digest, u64)> {
        let w = self.inner.take().expect("commit called once");
        let (d, n, buf) = w.finish();
        let f = buf
            .into_inner()
            .map_err(|e| Error::io("write ingest file", &self.tmp, e.into_error()))?;
        f.sync_all().ctx("fsync", &self.tmp)?;
        drop(f);
        let dest = self.dir.join(d.hex());
        std::fs::rename(&self.tmp, &dest).ctx("rename into place", &dest)?;
        fsync_dir(&self.dir)?;
        Ok((d, n))
    }
}

impl Write for UncheckedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.as_mut().expect("not committed").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.as_mut().expect("not committed").flush()
    }
}

impl Drop for UncheckedWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
