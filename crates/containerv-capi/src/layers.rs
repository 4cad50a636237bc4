//! `<chef/containerv/layers.h>`: a base rootfs, host directories and an
//! overlay, validated by `containerv_layers_compose` into a
//! [`Composition`] that `containerv_options_set_layers` copies. The core
//! makes the mounts at create (and undoes them at destroy); nothing is
//! mounted here.

use std::ffi::{c_char, c_int, CString};
use std::path::{Path, PathBuf};

use cv_core::ContainerOptions;

use crate::cstr;
use crate::error::{guard, guard_ptr, guard_void, CError};

pub const CONTAINERV_LAYER_BASE_ROOTFS: c_int = 0;
pub const CONTAINERV_LAYER_VAFS_PACKAGE: c_int = 1;
pub const CONTAINERV_LAYER_HOST_DIRECTORY: c_int = 2;
pub const CONTAINERV_LAYER_OVERLAY: c_int = 3;

/// `struct containerv_layer`, field for field.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct containerv_layer {
    pub type_: c_int,
    pub source: *mut c_char,
    pub target: *mut c_char,
    pub base_image: *mut c_char,
    pub readonly: c_int,
}

/// A validated set of layers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Composition {
    base: PathBuf,
    base_readonly: bool,
    /// (host source, container target, read-only)
    binds: Vec<(PathBuf, PathBuf, bool)>,
    /// Some(None): an overlay in a private directory; Some(Some(dir)): the
    /// caller's upper directory, kept.
    overlay: Option<Option<PathBuf>>,
}

impl Composition {
    /// Adds the layers to the core's builder.
    #[cfg(target_os = "linux")]
    pub(crate) fn apply(&self, mut o: ContainerOptions) -> Result<ContainerOptions, CError> {
        o = o.rootfs(&self.base).readonly_rootfs(self.base_readonly);
        for (s, t, ro) in &self.binds {
            o = o.bind(s, t, *ro);
        }
        match &self.overlay {
            None => {}
            Some(None) => o = o.overlay(false),
            Some(Some(dir)) => o = o.overlay_upper_dir(dir, true),
        }
        Ok(o)
    }

    /// Windows: the base layer is the working directory; a job object has
    /// no mounts.
    #[cfg(windows)]
    pub(crate) fn apply(&self, o: ContainerOptions) -> Result<ContainerOptions, CError> {
        if !self.binds.is_empty() || self.overlay.is_some() {
            return Err(CError::notsup(
                "host directory and overlay layers on Windows: a job object has no mounts",
            ));
        }
        Ok(o.working_dir(&self.base))
    }
}

/// The opaque `struct containerv_layer_context`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct containerv_layer_context {
    pub(crate) composition: Composition,
    /// The base path for `containerv_layers_get_rootfs`.
    rootfs: CString,
}

fn compose(layers: &[containerv_layer]) -> Result<Composition, CError> {
    let mut c = Composition::default();
    let mut bases = 0;
    for (i, l) in layers.iter().enumerate() {
        let what = |f: &str| format!("layers[{i}].{f}");
        // SAFETY: the caller's strings (NUL-terminated or NULL).
        let (source, target, image) = unsafe {
            (
                cstr::optional(l.source, &what("source"))?,
                cstr::optional(l.target, &what("target"))?,
                cstr::optional(l.base_image, &what("base_image"))?,
            )
        };
        let need_source =
            || source.ok_or_else(|| CError::inval(format!("{} is NULL", what("source"))));
        match l.type_ {
            CONTAINERV_LAYER_BASE_ROOTFS => {
                bases += 1;
                if let Some(img) = image {
                    return Err(CError::notsup(format!(
                        "{} {img:?}: base images are not supported; give a rootfs directory as source",
                        what("base_image")
                    )));
                }
                let s = need_source()?;
                if !Path::new(s).is_dir() {
                    return Err(CError::inval(format!(
                        "{} {s:?}: not a directory",
                        what("source")
                    )));
                }
                c.base = PathBuf::from(s);
                c.base_readonly = l.readonly != 0;
            }
            CONTAINERV_LAYER_VAFS_PACKAGE => {
                return Err(CError::notsup(format!(
                    "layers[{i}]: VaFS package layers are not supported by this containerv"
                )))
            }
            CONTAINERV_LAYER_HOST_DIRECTORY => {
                let s = need_source()?;
                if !Path::new(s).exists() {
                    return Err(CError::inval(format!(
                        "{} {s:?}: does not exist",
                        what("source")
                    )));
                }
                let t =
                    target.ok_or_else(|| CError::inval(format!("{} is NULL", what("target"))))?;
                if !t.starts_with('/') {
                    return Err(CError::inval(format!(
                        "{} {t:?}: must be an absolute path inside the container",
                        what("target")
                    )));
                }
                c.binds.push((s.into(), t.into(), l.readonly != 0));
            }
            CONTAINERV_LAYER_OVERLAY => {
                if c.overlay.is_some() {
                    return Err(CError::inval(format!(
                        "layers[{i}]: a second overlay layer"
                    )));
                }
                c.overlay = Some(source.map(PathBuf::from));
            }
            t => {
                return Err(CError::inval(format!(
                    "layers[{i}].type {t}: unknown layer type"
                )))
            }
        }
    }
    if bases != 1 {
        return Err(CError::inval(format!(
            "expected exactly one CONTAINERV_LAYER_BASE_ROOTFS layer, got {bases}"
        )));
    }
    Ok(c)
}

/// # Safety
/// `layers` points to `layer_count` layers; `container_id` is NULL or a
/// string; `context_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn containerv_layers_compose(
    layers: *mut containerv_layer,
    layer_count: c_int,
    container_id: *const c_char,
    context_out: *mut *mut containerv_layer_context,
) -> c_int {
    guard("containerv_layers_compose", || {
        if context_out.is_null() {
            return Err(CError::inval("context_out is NULL"));
        }
        if layers.is_null() {
            return Err(CError::inval("layers is NULL"));
        }
        if layer_count <= 0 {
            return Err(CError::inval(format!(
                "layer_count {layer_count} is not positive"
            )));
        }
        // SAFETY: the caller's string.
        let id = unsafe { cstr::required(container_id, "container_id") }?;
        cv_core::id::validate_id(id)?;
        // SAFETY: `layer_count` layers at `layers` (the caller's contract).
        let slice = unsafe { std::slice::from_raw_parts(layers, layer_count as usize) };
        let composition = compose(slice)?;
        let rootfs = CString::new(composition.base.to_string_lossy().into_owned())
            .map_err(|_| CError::inval("rootfs path has a NUL byte"))?;
        let ctx = Box::new(containerv_layer_context {
            composition,
            rootfs,
        });
        // SAFETY: checked non-NULL above.
        unsafe { *context_out = Box::into_raw(ctx) };
        Ok(0)
    })
}

/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn containerv_layers_get_rootfs(
    context: *mut containerv_layer_context,
) -> *const c_char {
    guard_ptr("containerv_layers_get_rootfs", || {
        // SAFETY: the caller's contract.
        let ctx = unsafe { context.as_ref() }.ok_or_else(|| CError::inval("context is NULL"))?;
        Ok(ctx.rootfs.as_ptr().cast_mut())
    })
}

/// # Safety
/// `context` is NULL or a live context, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn containerv_layers_destroy(context: *mut containerv_layer_context) {
    guard_void("containerv_layers_destroy", || {
        if !context.is_null() {
            // SAFETY: made by Box::into_raw in containerv_layers_compose.
            drop(unsafe { Box::from_raw(context) });
        }
        Ok(())
    })
}
