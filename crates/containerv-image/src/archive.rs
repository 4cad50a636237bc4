//! Import and export: OCI image layout directories, oci-archive (a tar of
//! a layout) and docker-archive (`docker save`'s `manifest.json` format,
//! uncompressed layers), interchangeable with `skopeo copy` and
//! `podman save`/`podman load`. Archives are streamed: every member is
//! written straight into the content store under its own hash (checked
//! against its name for OCI blobs), small JSON members are also kept in
//! memory, and the images are recorded once the whole archive is read.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::json;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageStore;
use crate::reference::{short_repo, ImageRef};
use crate::spec::{self, choose_platform, host_platform, Descriptor, Document, Manifest};
use crate::unpack::decompress;

/// Archive formats of `save`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    OciArchive,
    DockerArchive,
    OciDir,
}

impl std::str::FromStr for ArchiveFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "oci-archive" => Ok(ArchiveFormat::OciArchive),
            "docker-archive" => Ok(ArchiveFormat::DockerArchive),
            "oci-dir" | "oci" => Ok(ArchiveFormat::OciDir),
            _ => Err(Error::invalid(
                "archive format",
                format!("{s:?}: expected oci-archive, docker-archive or oci-dir"),
            )),
        }
    }
}

fn archive_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Archive {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Where `save` writes: a tar stream or a directory.
enum Sink<'a> {
    Tar(tar::Builder<std::io::BufWriter<Box<dyn Write + 'a>>>),
    Dir(std::path::PathBuf),
}

impl Sink<'_> {
    fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        match self {
            Sink::Tar(b) => {
                let mut h = tar::Header::new_ustar();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_mtime(0);
                b.append_data(&mut h, name, data)
                    .map_err(|e| Error::io("write archive", name, e))
            }
            Sink::Dir(d) => {
                let p = d.join(name);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("create directory", parent, e))?;
                }
                std::fs::write(&p, data).map_err(|e| Error::io("write", p, e))
            }
        }
    }

    fn add_file(&mut self, name: &str, src: &Path) -> Result<()> {
        match self {
            Sink::Tar(b) => {
                let mut f = std::fs::File::open(src).map_err(|e| Error::io("open", src, e))?;
                b.append_file(name, &mut f)
                    .map_err(|e| Error::io("write archive", name, e))
            }
            Sink::Dir(d) => {
                let p = d.join(name);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("create directory", parent, e))?;
                }
                if p.exists() {
                    return Ok(());
                }
                std::fs::copy(src, &p)
                    .map(|_| ())
                    .map_err(|e| Error::io("copy", p, e))
            }
        }
    }
}

fn tar_sink<'a>(w: Box<dyn Write + 'a>) -> Sink<'a> {
    let mut b = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, w));
    b.mode(tar::HeaderMode::Deterministic);
    Sink::Tar(b)
}

impl ImageStore {
    /// Writes `images` to `out` in `format` (a file, or a directory for
    /// [`ArchiveFormat::OciDir`]). A failed save leaves no file behind.
    pub fn save(&self, images: &[String], format: ArchiveFormat, out: &Path) -> Result<()> {
        if format == ArchiveFormat::OciDir {
            std::fs::create_dir_all(out).map_err(|e| Error::io("create directory", out, e))?;
            return self.save_to(images, format, Sink::Dir(out.to_path_buf()), out);
        }
        let f = std::fs::File::create(out).map_err(|e| Error::io("create", out, e))?;
        let result = self.save_to(images, format, tar_sink(Box::new(f)), out);
        if result.is_err() {
            let _ = std::fs::remove_file(out);
        }
        result
    }

    /// Writes `images` as a tar stream (oci-archive or docker-archive) to
    /// `w`, e.g. stdout for `cv save` without `-o`, as docker does.
    pub fn save_stream<'a>(
        &self,
        images: &[String],
        format: ArchiveFormat,
        w: Box<dyn Write + 'a>,
    ) -> Result<()> {
        if format == ArchiveFormat::OciDir {
            return Err(Error::invalid(
                "archive format",
                "oci-dir is a directory and cannot be written to a stream",
            ));
        }
        self.save_to(images, format, tar_sink(w), Path::new("<stream>"))
    }

    fn save_to(
        &self,
        images: &[String],
        format: ArchiveFormat,
        mut sink: Sink<'_>,
        out: &Path,
    ) -> Result<()> {
        let _lock = self.writer_lock()?;
        let meta = self.meta()?;
        let mut chosen = Vec::new();
        for i in images {
            let d = self.resolve(i)?;
            let name = ImageRef::parse(i)
                .ok()
                .map(|r| r.key())
                .filter(|k| meta.refs.contains_key(k))
                .or_else(|| meta.refs_of(d.as_str()).into_iter().next());
            chosen.push((d, name));
        }
        match format {
            ArchiveFormat::DockerArchive => self.save_docker(&chosen, &mut sink)?,
            _ => self.save_oci(&chosen, &mut sink)?,
        }
        match sink {
            Sink::Tar(b) => b
                .into_inner()
                .and_then(|mut w| w.flush())
                .map_err(|e| Error::io("write archive", out, e)),
            Sink::Dir(_) => Ok(()),
        }
    }

    fn save_oci(&self, chosen: &[(Digest, Option<String>)], sink: &mut Sink) -> Result<()> {
        sink.add_bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let mut written = std::collections::BTreeSet::new();
        let mut manifests = Vec::new();
        for (d, name) in chosen {
            let m = self.manifest(d)?;
            let mut blobs = vec![d.clone(), Digest::parse(&m.config.digest)?];
            for l in &m.layers {
                blobs.push(Digest::parse(&l.digest)?);
            }
            for b in blobs {
                if written.insert(b.clone()) {
                    if !self.blobs.contains(&b) {
                        return Err(Error::BlobNotFound(b.to_string()));
                    }
                    sink.add_file(&format!("blobs/sha256/{}", b.hex()), &self.blobs.path(&b))?;
                }
            }
            let mut desc = json!({
                "mediaType": spec::manifest_media_type(&m),
                "digest": d.as_str(),
                "size": self.blobs.size(d).unwrap_or(0),
            });
            if let Some(n) = name {
                desc["annotations"] = json!({
                    "io.containerd.image.name": n,
                    spec::REF_NAME_ANNOTATION: n,
                });
            }
            manifests.push(desc);
        }
        let index =
            json!({"schemaVersion": 2, "mediaType": spec::OCI_INDEX, "manifests": manifests});
        sink.add_bytes(
            "index.json",
            &serde_json::to_vec(&index).map_err(|e| Error::invalid("index", e))?,
        )
    }

    /// docker's `manifest.json`: one entry per image, with every tag asked
    /// for under it (as `docker save a:1 a:2` writes).
    fn save_docker(&self, chosen: &[(Digest, Option<String>)], sink: &mut Sink) -> Result<()> {
        let mut images: Vec<(&Digest, Vec<&String>)> = Vec::new();
        for (d, name) in chosen {
            match images.iter_mut().find(|(x, _)| *x == d) {
                Some((_, names)) => {
                    if let Some(n) = name.as_ref().filter(|n| !names.contains(n)) {
                        names.push(n);
                    }
                }
                None => images.push((d, name.iter().collect())),
            }
        }
        let mut entries = Vec::new();
        let mut written = std::collections::BTreeSet::new();
        for (d, names) in images {
            let m = self.manifest(d)?;
            let c = self.config(&m)?;
            let cd = Digest::parse(&m.config.digest)?;
            let cfg_name = format!("{}.json", cd.hex());
            if written.insert(cfg_name.clone()) {
                sink.add_file(&cfg_name, &self.blobs.path(&cd))?;
            }
            let mut layers = Vec::new();
            for (l, diff) in m.layers.iter().zip(&c.rootfs.diff_ids) {
                let diff = Digest::parse(diff)?;
                let name = format!("{}/layer.tar", diff.hex());
                if written.insert(name.clone()) {
                    // Docker archives hold uncompressed layers.
                    let blob = Digest::parse(&l.digest)?;
                    let tmp = self.blobs.ingest_dir().join(format!(
                        "save-{}-{}",
                        diff.hex(),
                        std::process::id()
                    ));
                    let r = (|| {
                        let f = self.blobs.open_blob(&blob)?;
                        let mut rd = decompress(f, blob.as_str())?;
                        let mut out = std::fs::File::create(&tmp)
                            .map_err(|e| Error::io("create", &tmp, e))?;
                        std::io::copy(&mut rd, &mut out)
                            .map_err(|e| Error::io("decompress layer", &tmp, e))?;
                        sink.add_file(&name, &tmp)
                    })();
                    let _ = std::fs::remove_file(&tmp);
                    r?;
                }
                layers.push(name);
            }
            let tags: Vec<String> = names
                .iter()
                .filter(|n| !n.contains('@'))
                .map(|n| {
                    let (repo, tag) = n.rsplit_once(':').unwrap_or((n, "latest"));
                    format!("{}:{tag}", short_repo(repo))
                })
                .collect();
            entries.push(json!({"Config": cfg_name, "RepoTags": tags, "Layers": layers}));
        }
        sink.add_bytes(
            "manifest.json",
            &serde_json::to_vec(&entries).map_err(|e| Error::invalid("manifest.json", e))?,
        )
    }

    /// Loads every image of an archive (oci-archive, docker-archive) or
    /// OCI layout directory. Returns the references recorded.
    pub fn load(&self, input: &Path) -> Result<Vec<String>> {
        let _lock = self.writer_lock()?;
        let mut files: BTreeMap<String, (Digest, u64)> = BTreeMap::new();
        let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if input.is_dir() {
            self.ingest_dir(input, input, &mut files, &mut small)?;
        } else {
            let f = std::fs::File::open(input).map_err(|e| Error::io("open", input, e))?;
            let rd = decompress(f, &input.display().to_string())?;
            self.ingest_tar(rd, input, &mut files, &mut small)?;
        }
        self.load_ingested(input, &files, &small)
    }

    /// Loads every image of an archive read from a stream (`cv load`
    /// without `-i` reads stdin, as docker does); gzip or zstd compressed
    /// archives too. `name` stands for the stream in errors.
    pub fn load_stream<'a>(&self, rd: impl Read + 'a, name: &str) -> Result<Vec<String>> {
        let _lock = self.writer_lock()?;
        let input = Path::new(name);
        let mut files: BTreeMap<String, (Digest, u64)> = BTreeMap::new();
        let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let rd = decompress(rd, name)?;
        self.ingest_tar(rd, input, &mut files, &mut small)?;
        self.load_ingested(input, &files, &small)
    }

    fn load_ingested(
        &self,
        input: &Path,
        files: &BTreeMap<String, (Digest, u64)>,
        small: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<String>> {
        if small.contains_key("index.json") {
            self.load_oci(input, files, small)
        } else if small.contains_key("manifest.json") {
            self.load_docker(input, files, small)
        } else {
            Err(archive_err(
                input,
                "neither an OCI layout (index.json) nor a docker archive (manifest.json)",
            ))
        }
    }

    fn ingest_member(
        &self,
        name: String,
        mut rd: impl Read,
        input: &Path,
        files: &mut BTreeMap<String, (Digest, u64)>,
        small: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        let mut w = self.blobs.writer_unchecked()?;
        let mut keep = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = rd
                .read(&mut buf)
                .map_err(|e| archive_err(input, format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n])
                .map_err(|e| Error::io("write blob", self.blobs.ingest_dir(), e))?;
            if keep.len() < (4 << 20) {
                keep.extend_from_slice(&buf[..n]);
            }
        }
        let (d, size) = w.commit()?;
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            if hex != d.hex() {
                self.blobs.remove(&d).ok();
                return Err(Error::DigestMismatch {
                    what: format!("{} member {name}", input.display()),
                    expected: format!("sha256:{hex}"),
                    actual: d.to_string(),
                });
            }
        }
        if size <= (4 << 20) {
            small.insert(name.clone(), keep);
        }
        files.insert(name, (d, size));
        Ok(())
    }

    fn ingest_tar(
        &self,
        rd: impl Read,
        input: &Path,
        files: &mut BTreeMap<String, (Digest, u64)>,
        small: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        let mut ar = tar::Archive::new(rd);
        for e in ar.entries().map_err(|e| archive_err(input, e))? {
            let e = e.map_err(|e| archive_err(input, e))?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = e.path().map_err(|er| archive_err(input, er))?;
            let name = name.to_string_lossy().trim_start_matches("./").to_string();
            self.ingest_member(name, e, input, files, small)?;
        }
        Ok(())
    }

    fn ingest_dir(
        &self,
        base: &Path,
        dir: &Path,
        files: &mut BTreeMap<String, (Digest, u64)>,
        small: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        for e in std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
            let e = e.map_err(|e| Error::io("read directory", dir, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|er| Error::io("stat", &p, er))?;
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            if ft.is_dir() {
                self.ingest_dir(base, &p, files, small)?;
            } else if ft.is_file() {
                // Blobs already in the store need not be copied again.
                if let Some(hex) = rel.strip_prefix("blobs/sha256/") {
                    if let Ok(d) = Digest::parse(&format!("sha256:{hex}")) {
                        if self.blobs.contains(&d) {
                            files.insert(rel, (d.clone(), self.blobs.size(&d).unwrap_or(0)));
                            continue;
                        }
                    }
                }
                let f = std::fs::File::open(&p).map_err(|er| Error::io("open", &p, er))?;
                self.ingest_member(rel, f, base, files, small)?;
            }
        }
        Ok(())
    }

    fn blob_json(&self, d: &Digest) -> Result<Vec<u8>> {
        self.blobs.read(d)
    }

    fn load_oci(
        &self,
        input: &Path,
        _files: &BTreeMap<String, (Digest, u64)>,
        small: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<String>> {
        let index = match Document::parse(&small["index.json"], spec::OCI_INDEX, "index.json")? {
            Document::Index(i) => i,
            Document::Manifest(_) => return Err(archive_err(input, "index.json is not an index")),
        };
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_else(|| "image".into());
        let mut out = Vec::new();
        for desc in &index.manifests {
            let name = desc.annotations.as_ref().and_then(|a| {
                a.get("io.containerd.image.name")
                    .or_else(|| a.get(spec::REF_NAME_ANNOTATION))
                    .cloned()
            });
            let (md, m) = self.resolve_manifest(desc, input)?;
            let r = match name {
                Some(n) if n.contains('/') || n.contains(':') => ImageRef::parse(&n).ok(),
                Some(tag) => ImageRef::parse(&format!("localhost/{stem}:{tag}")).ok(),
                None => None,
            };
            self.check_complete(&m, input)?;
            let cd = Digest::parse(&m.config.digest)?;
            self.record(&md, spec::manifest_media_type(&m), &cd, r.as_ref())?;
            out.push(r.map(|r| r.key()).unwrap_or_else(|| md.to_string()));
        }
        Ok(out)
    }

    /// The platform manifest behind an index.json entry.
    fn resolve_manifest(&self, desc: &Descriptor, input: &Path) -> Result<(Digest, Manifest)> {
        let mut d = Digest::parse(&desc.digest)?;
        for _ in 0..4 {
            let raw = self
                .blob_json(&d)
                .map_err(|_| archive_err(input, format!("blob {d} is missing")))?;
            match Document::parse(
                &raw,
                &desc.media_type,
                &format!("{} manifest {d}", input.display()),
            )? {
                Document::Manifest(m) => return Ok((d, m)),
                Document::Index(i) => {
                    let want = host_platform();
                    let next = choose_platform(&i, &want)
                        .or_else(|| i.manifests.first())
                        .ok_or_else(|| archive_err(input, format!("index {d} is empty")))?;
                    d = Digest::parse(&next.digest)?;
                }
            }
        }
        Err(archive_err(input, "indexes nested too deep"))
    }

    fn check_complete(&self, m: &Manifest, input: &Path) -> Result<()> {
        for d in std::iter::once(&m.config).chain(m.layers.iter()) {
            let dg = Digest::parse(&d.digest)?;
            if !self.blobs.contains(&dg) {
                return Err(archive_err(input, format!("blob {dg} is missing")));
            }
        }
        Ok(())
    }

    fn load_docker(
        &self,
        input: &Path,
        files: &BTreeMap<String, (Digest, u64)>,
        small: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Entry {
            config: String,
            #[serde(default)]
            repo_tags: Option<Vec<String>>,
            layers: Vec<String>,
        }
        let entries: Vec<Entry> = serde_json::from_slice(&small["manifest.json"])
            .map_err(|e| archive_err(input, format!("manifest.json: {e}")))?;
        let member = |n: &str| {
            files
                .get(n.trim_start_matches("./"))
                .cloned()
                .ok_or_else(|| {
                    archive_err(
                        input,
                        format!("member {n} named in manifest.json is missing"),
                    )
                })
        };
        let mut out = Vec::new();
        for e in entries {
            let (cd, csize) = member(&e.config)?;
            let mut layers = Vec::new();
            for l in &e.layers {
                let (ld, lsize) = member(l)?;
                let head = {
                    let mut f = self.blobs.open_blob(&ld)?;
                    let mut h = [0u8; 4];
                    let n = f.read(&mut h).unwrap_or(0);
                    crate::unpack::Compression::sniff(&h[..n])
                };
                let mt = match head {
                    crate::unpack::Compression::Gzip => spec::DOCKER_LAYER_GZIP,
                    crate::unpack::Compression::Zstd => spec::OCI_LAYER_ZSTD,
                    crate::unpack::Compression::None => spec::DOCKER_LAYER,
                };
                layers.push(json!({"mediaType": mt, "digest": ld.as_str(), "size": lsize}));
            }
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": spec::DOCKER_MANIFEST,
                "config": {"mediaType": spec::DOCKER_CONFIG, "digest": cd.as_str(), "size": csize},
                "layers": layers,
            });
            let raw = serde_json::to_vec(&manifest).map_err(|e| Error::invalid("manifest", e))?;
            let md = self.blobs.put(&raw, None)?;
            let tags = e.repo_tags.unwrap_or_default();
            if tags.is_empty() {
                self.record(&md, spec::DOCKER_MANIFEST, &cd, None)?;
                out.push(md.to_string());
            }
            for t in tags {
                let r = ImageRef::parse(&t)?;
                self.record(&md, spec::DOCKER_MANIFEST, &cd, Some(&r))?;
                out.push(r.key());
            }
        }
        Ok(out)
    }
}
