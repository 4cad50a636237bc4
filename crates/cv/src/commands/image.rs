//! Image commands with docker's flags: `pull`, `push`, `images`, `rmi`,
//! `tag`, `save`, `load` at top level and `image inspect|prune|ls|rm|…`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use containerv_image::archive::ArchiveFormat;
use containerv_image::registry::{
    Credentials, ProgressMode, PullOptions, PushOptions, RegistryOptions,
};
use containerv_image::spec::Platform;

#[path = "image_format.rs"]
pub(crate) mod format;

use format::Format;

use super::image_events::ImageEvents;
use super::Context;
use crate::output::{human_size, is_json, table};

/// Image commands docker has at top level.
#[derive(Subcommand)]
pub enum TopLevel {
    /// Download an image from a registry.
    Pull(PullArgs),
    /// Upload an image to a registry.
    Push(PushArgs),
    /// List images.
    Images(ListArgs),
    /// Remove one or more images.
    Rmi(RmArgs),
    /// Create a tag TARGET that refers to SOURCE.
    Tag { source: String, target: String },
    /// Save images to an archive (oci-archive, docker-archive or oci-dir).
    Save(SaveArgs),
    /// Load images from an archive or OCI layout directory.
    Load(LoadArgs),
    /// Show the history of an image.
    History(super::image_history::HistoryArgs),
}

/// `cv image …`.
#[derive(Subcommand)]
pub enum ImageCmd {
    Pull(PullArgs),
    Push(PushArgs),
    #[command(alias = "list")]
    Ls(ListArgs),
    #[command(alias = "remove")]
    Rm(RmArgs),
    Tag {
        source: String,
        target: String,
    },
    Save(SaveArgs),
    Load(LoadArgs),
    /// Show the history of an image.
    History(super::image_history::HistoryArgs),
    /// Display detailed information on one or more images.
    Inspect {
        images: Vec<String>,
        /// `json` (one object per line) or a Go template (`{{.Id}}`,
        /// `{{json .Config}}`); default: docker's JSON array.
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Remove unused images.
    Prune {
        /// Remove all images not used by a container, not just dangling ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt (cv never prompts; accepted for docker compatibility).
        #[arg(short, long)]
        force: bool,
        #[arg(long)]
        format: Option<String>,
    },
}

#[derive(Args)]
pub struct RegistryArgs {
    /// Credentials `USER:PASSWORD`.
    #[arg(long)]
    creds: Option<String>,
    /// Auth file (docker config.json / containers auth.json format).
    #[arg(long)]
    authfile: Option<PathBuf>,
    /// Require HTTPS (false: plain HTTP to this registry).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    tls_verify: bool,
}

impl RegistryArgs {
    fn credentials(&self) -> anyhow::Result<Credentials> {
        Ok(match (&self.creds, &self.authfile) {
            (Some(c), _) => Credentials::parse_user_pass(c)
                .with_context(|| "--creds must be USER:PASSWORD".to_string())?,
            (None, Some(f)) => Credentials::AuthFile(f.clone()),
            (None, None) => Credentials::Auto,
        })
    }

    fn options(&self, image: &str) -> RegistryOptions {
        let mut o = RegistryOptions::default();
        if !self.tls_verify {
            if let Ok(r) = containerv_image::ImageRef::parse(image) {
                o.insecure.push(r.registry().to_string());
            }
        }
        o
    }
}

#[derive(Args)]
pub struct PullArgs {
    image: String,
    /// Platform `os/arch[/variant]` to pick from a multi-arch image.
    #[arg(long)]
    platform: Option<String>,
    /// Suppress verbose output.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    reg: RegistryArgs,
}

#[derive(Args)]
pub struct PushArgs {
    image: String,
    /// Destination (default: IMAGE itself).
    destination: Option<String>,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    reg: RegistryArgs,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only images of this REPOSITORY[:TAG] (a glob, as docker).
    reference: Option<String>,
    /// Filter (docker's keys: dangling, reference, label, before, since).
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Show all images (cv keeps no intermediate images: same as default).
    #[arg(short, long)]
    all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Show digests.
    #[arg(long)]
    digests: bool,
    /// Don't truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// `json` (one docker-shaped object per line) or a Go template
    /// (`{{.Repository}}:{{.Tag}}`, `table {{.ID}}\t{{.Size}}`).
    #[arg(long)]
    format: Option<String>,
}

#[derive(Args)]
pub struct RmArgs {
    #[arg(required = true)]
    images: Vec<String>,
    /// Force removal of an image referenced by several names.
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
pub struct SaveArgs {
    #[arg(required = true)]
    images: Vec<String>,
    /// Write to this file (or directory for oci-dir), instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// oci-archive (default), docker-archive (docker's and podman's
    /// `manifest.json` format; several images in one archive) or oci-dir.
    #[arg(long, default_value = "oci-archive")]
    format: String,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Archive file or OCI layout directory (default: an archive on stdin).
    #[arg(short, long)]
    input: Option<PathBuf>,
    #[arg(short, long)]
    quiet: bool,
}

pub fn run_top(ctx: &Context, c: TopLevel) -> anyhow::Result<()> {
    match c {
        TopLevel::Pull(a) => pull(ctx, a),
        TopLevel::Push(a) => push(ctx, a),
        TopLevel::Images(a) => list(ctx, a),
        TopLevel::Rmi(a) => rm(ctx, a),
        TopLevel::Tag { source, target } => tag(ctx, &source, &target),
        TopLevel::Save(a) => save(ctx, a),
        TopLevel::Load(a) => load(ctx, a),
        TopLevel::History(a) => super::image_history::history(ctx, a),
    }
}

pub fn run(ctx: &Context, c: ImageCmd) -> anyhow::Result<()> {
    match c {
        ImageCmd::Pull(a) => pull(ctx, a),
        ImageCmd::Push(a) => push(ctx, a),
        ImageCmd::Ls(a) => list(ctx, a),
        ImageCmd::Rm(a) => rm(ctx, a),
        ImageCmd::Tag { source, target } => tag(ctx, &source, &target),
        ImageCmd::Save(a) => save(ctx, a),
        ImageCmd::Load(a) => load(ctx, a),
        ImageCmd::History(a) => super::image_history::history(ctx, a),
        ImageCmd::Inspect { images, format } => {
            let store = ctx.images()?;
            let mut out = Vec::new();
            for i in &images {
                out.push(format::inspect_json(&store.inspect(i)?));
            }
            match Format::parse(format.as_deref()) {
                Format::Default => println!("{}", serde_json::to_string_pretty(&out)?),
                Format::Json => {
                    for v in &out {
                        println!("{}", serde_json::to_string(v)?);
                    }
                }
                Format::Template { text, .. } => {
                    for v in &out {
                        println!("{}", format::render(&text, v)?);
                    }
                }
            }
            Ok(())
        }
        ImageCmd::Prune {
            all,
            force: _,
            format,
        } => {
            let r = ctx.images()?.prune(all, &|_| false)?;
            ImageEvents::new(ctx).pruned(&r);
            if is_json(&format) {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                if !r.images_deleted.is_empty() {
                    println!("Deleted Images:");
                    for i in &r.images_deleted {
                        println!("deleted: {i}");
                    }
                    println!();
                }
                println!("Total reclaimed space: {}", human_size(r.reclaimed));
            }
            Ok(())
        }
    }
}

fn tag(ctx: &Context, source: &str, target: &str) -> anyhow::Result<()> {
    let store = ctx.images()?;
    store.tag(source, target)?;
    ImageEvents::new(ctx).tagged(&store, target);
    Ok(())
}

fn parse_platform(s: &str) -> anyhow::Result<Platform> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [os, arch] => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: None,
        }),
        [os, arch, v] => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: Some(v.to_string()),
        }),
        _ => bail!("--platform {s:?}: expected os/arch[/variant]"),
    }
}

fn pull(ctx: &Context, a: PullArgs) -> anyhow::Result<()> {
    let opts = PullOptions {
        credentials: a.reg.credentials()?,
        platform: a.platform.as_deref().map(parse_platform).transpose()?,
        registry: a.reg.options(&a.image),
        progress: if a.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        no_unpack: false,
    };
    let store = ctx.images()?;
    let r = store.pull(&a.image, &opts)?;
    ImageEvents::new(ctx).by_ref(&store, "pull", &r.reference);
    if a.quiet {
        println!("{}", r.reference);
    } else {
        println!(
            "{}: {} layers ({} downloaded, {})",
            r.reference,
            r.layers,
            r.layers_downloaded,
            human_size(r.bytes_downloaded)
        );
        println!("Digest: {}", r.digest);
        println!("Status: Downloaded image for {}", r.reference);
    }
    Ok(())
}

fn push(ctx: &Context, a: PushArgs) -> anyhow::Result<()> {
    let dest = a.destination.clone().unwrap_or_else(|| a.image.clone());
    let opts = PushOptions {
        credentials: a.reg.credentials()?,
        registry: a.reg.options(&dest),
    };
    let store = ctx.images()?;
    let d = store.push(&a.image, Some(&dest), &opts)?;
    ImageEvents::new(ctx).by_ref(&store, "push", &dest);
    if !a.quiet {
        println!("Pushed {dest}: digest: {d}");
    }
    Ok(())
}

fn list(ctx: &Context, a: ListArgs) -> anyhow::Result<()> {
    let store = ctx.images()?;
    let filters =
        super::image_filter::ImageFilters::parse(&store, &a.filter, a.reference.as_deref())?;
    let rows: Vec<_> = store
        .list()?
        .into_iter()
        .filter(|r| filters.matches(&store, r))
        .collect();
    let id = |s: &str| -> String {
        if a.no_trunc {
            s.to_string()
        } else {
            format::short_id(s)
        }
    };
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                println!("{}", id(&r.id));
            }
        }
        return Ok(());
    }
    let now = format::now();
    match Format::parse(a.format.as_deref()) {
        Format::Json => {
            for r in &rows {
                let v = format::summary_json(r, a.no_trunc, now);
                println!("{}", serde_json::to_string(&v)?);
            }
            return Ok(());
        }
        Format::Template { table, text } => {
            if table {
                println!("{}", format::header(&text));
            }
            for r in &rows {
                let v = format::summary_json(r, a.no_trunc, now);
                println!("{}", format::render(&text, &v)?);
            }
            return Ok(());
        }
        Format::Default => {}
    }
    let mut header = vec!["REPOSITORY", "TAG"];
    if a.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.repository.clone(), r.tag.clone()];
            if a.digests {
                v.push(r.digest.clone());
            }
            v.extend([
                id(&r.id),
                format::since(&r.created, now),
                human_size(r.size),
            ]);
            v
        })
        .collect();
    table(&header, &table_rows);
    Ok(())
}

fn rm(ctx: &Context, a: RmArgs) -> anyhow::Result<()> {
    let store = ctx.images()?;
    let events = ImageEvents::new(ctx);
    let mut failed = false;
    for i in &a.images {
        let id = ImageEvents::id_of(&store, i);
        match store.remove(i, a.force) {
            Ok(lines) => {
                for l in &lines {
                    println!("{l}");
                    // docker's untag per name, delete when it goes.
                    let action = if l.starts_with("Untagged: ") {
                        "untag"
                    } else {
                        "delete"
                    };
                    if let Some((id, labels)) = &id {
                        events.by_id(action, id, labels);
                    }
                }
            }
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn save(ctx: &Context, a: SaveArgs) -> anyhow::Result<()> {
    let fmt: ArchiveFormat = a.format.parse()?;
    let store = ctx.images()?;
    let ids: Vec<_> = a
        .images
        .iter()
        .filter_map(|i| ImageEvents::id_of(&store, i))
        .collect();
    match &a.output {
        Some(out) => ctx.images()?.save(&a.images, fmt, out)?,
        None => {
            use std::io::IsTerminal as _;
            if std::io::stdout().is_terminal() {
                bail!("cowardly refusing to save to a terminal: use the -o flag or redirect");
            }
            ctx.images()?
                .save_stream(&a.images, fmt, Box::new(std::io::stdout().lock()))?
        }
    }
    let events = ImageEvents::new(ctx);
    for (id, labels) in &ids {
        events.by_id("save", id, labels);
    }
    Ok(())
}

fn load(ctx: &Context, a: LoadArgs) -> anyhow::Result<()> {
    let loaded = match &a.input {
        Some(input) => ctx.images()?.load(input)?,
        None => {
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() {
                bail!("requested load from stdin, but stdin is a terminal: use the -i flag or redirect");
            }
            ctx.images()?
                .load_stream(std::io::stdin().lock(), "stdin")?
        }
    };
    let store = ctx.images()?;
    let events = ImageEvents::new(ctx);
    for l in loaded {
        if !a.quiet {
            println!("Loaded image: {l}");
        }
        if let Some((id, labels)) = ImageEvents::id_of(&store, &l) {
            events.by_id("load", &id, &labels);
        }
    }
    Ok(())
}

/// `run`/`create --pull`: pulls `image` when the policy asks (always, or
/// missing and not in the store), as docker does, with its messages on
/// stderr (stdout is the container's). The built-in image is made by the
/// engine, never pulled; no image given means the built-in one.
pub fn pull_for_run(
    ctx: &Context,
    image: Option<&str>,
    policy: super::container::args::PullPolicy,
) -> anyhow::Result<()> {
    use super::container::args::PullPolicy;
    let Some(image) = image.filter(|i| !containerv_engine::builtin::is_builtin(i)) else {
        return Ok(());
    };
    match policy {
        PullPolicy::Never => return Ok(()),
        PullPolicy::Missing => match ctx.images()?.resolve(image) {
            Ok(_) => return Ok(()),
            Err(containerv_image::Error::ImageNotFound(_)) => {
                eprintln!("Unable to find image '{image}' locally");
            }
            Err(e) => return Err(e.into()),
        },
        PullPolicy::Always => {}
    }
    let opts = PullOptions {
        credentials: Credentials::Auto,
        platform: None,
        registry: RegistryOptions::default(),
        progress: ProgressMode::Auto,
        no_unpack: false,
    };
    let store = ctx.images()?;
    let r = store.pull(image, &opts)?;
    ImageEvents::new(ctx).by_ref(&store, "pull", &r.reference);
    eprintln!("Digest: {}", r.digest);
    eprintln!("Status: Downloaded image for {}", r.reference);
    Ok(())
}
