//! What the C API costs: bench_lifecycle's create → spawn `/bin/true` →
//! wait → destroy, through the Rust API and through libcontainerv's C
//! functions (the .so, loaded with dlopen), alternating one round of each
//! in the same run, with medians and the C path's overhead in percent.
//!
//! ```sh
//! cargo build --profile release-capi -p containerv-capi --lib --example bench_capi
//! sudo target/release-capi/examples/bench_capi [N]
//! ```
//!
//! The .so is looked up beside the example's directory
//! (`target/<profile>/libcontainerv.so`), so build both with one profile.

#[cfg(target_os = "linux")]
fn main() {
    use std::ffi::{c_char, c_int, c_void, CStr, CString};
    use std::time::Instant;

    use cv_core::{ContainerOptions, ProcessOptions, Runtime};

    #[repr(C)]
    struct Layer {
        type_: c_int,
        source: *const c_char,
        target: *const c_char,
        base_image: *const c_char,
        readonly: c_int,
    }
    type Create = unsafe extern "C" fn(*const c_char, *mut c_void, *mut *mut c_void) -> c_int;
    type Spawn = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, *mut i32) -> c_int;
    type Wait = unsafe extern "C" fn(*mut c_void, i32, *mut c_int) -> c_int;
    type Destroy = unsafe extern "C" fn(*mut c_void) -> c_int;
    type OptionsNew = unsafe extern "C" fn() -> *mut c_void;
    type Compose =
        unsafe extern "C" fn(*mut Layer, c_int, *const c_char, *mut *mut c_void) -> c_int;
    type SetLayers = unsafe extern "C" fn(*mut c_void, *mut c_void);
    type LastError = unsafe extern "C" fn() -> *const c_char;

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let exe = std::env::current_exe().unwrap();
    let so = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("libcontainerv.so");
    let so_c = CString::new(so.to_str().unwrap()).unwrap();
    // SAFETY: loading our own library, whose initialisers are Rust's.
    let lib = unsafe { libc::dlopen(so_c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!lib.is_null(), "dlopen {}", so.display());
    let sym = |name: &CStr| {
        // SAFETY: a symbol of the library just loaded.
        let p = unsafe { libc::dlsym(lib, name.as_ptr()) };
        assert!(!p.is_null(), "no {name:?} in {}", so.display());
        p
    };
    // SAFETY: each symbol has the C signature of containerv.h named here.
    let (create, spawn, wait, destroy, options_new, compose, set_layers, last_error) = unsafe {
        (
            std::mem::transmute::<*mut c_void, Create>(sym(c"containerv_create")),
            std::mem::transmute::<*mut c_void, Spawn>(sym(c"containerv_spawn")),
            std::mem::transmute::<*mut c_void, Wait>(sym(c"containerv_wait")),
            std::mem::transmute::<*mut c_void, Destroy>(sym(c"containerv_destroy")),
            std::mem::transmute::<*mut c_void, OptionsNew>(sym(c"containerv_options_new")),
            std::mem::transmute::<*mut c_void, Compose>(sym(c"containerv_layers_compose")),
            std::mem::transmute::<*mut c_void, SetLayers>(sym(c"containerv_options_set_layers")),
            std::mem::transmute::<*mut c_void, LastError>(sym(c"containerv_last_error")),
        )
    };
    let c_error = || {
        // SAFETY: containerv_last_error never returns NULL.
        unsafe { CStr::from_ptr(last_error()) }
            .to_string_lossy()
            .into_owned()
    };

    let work = std::env::temp_dir().join(format!("cv-bench-capi-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let rootfs = containerv_testutil::busybox_rootfs_copy(&work.join("rootfs"));
    let root = work.join("cv-root");
    // Before any thread: the C library reads its runtime root from here.
    std::env::set_var("CONTAINERV_ROOT", &root);
    let rt = Runtime::new(&root).unwrap();

    // Options made once on each side, as a program would.
    let opts = ContainerOptions::new().rootfs(&rootfs);
    let rootfs_c = CString::new(rootfs.to_str().unwrap()).unwrap();
    let mut base = Layer {
        type_: 0,
        source: rootfs_c.as_ptr(),
        target: std::ptr::null(),
        base_image: std::ptr::null(),
        readonly: 0,
    };
    let mut ctx = std::ptr::null_mut();
    // SAFETY: the C API with valid arguments.
    let copts = unsafe {
        let o = options_new();
        assert_eq!(
            compose(&mut base, 1, c"bench".as_ptr(), &mut ctx),
            0,
            "{}",
            c_error()
        );
        set_layers(o, ctx);
        o
    };
    let true_c = c"/bin/true";

    let rust_round = |i: usize| {
        let t = Instant::now();
        let c = rt.create(&format!("r{i}"), &opts).unwrap();
        let mut p = c.spawn(ProcessOptions::new(["/bin/true"])).unwrap();
        assert!(p.wait().unwrap().success());
        c.destroy().unwrap();
        t.elapsed().as_secs_f64() * 1e3
    };
    let c_round = |i: usize| {
        let id = CString::new(format!("c{i}")).unwrap();
        let t = Instant::now();
        let mut c = std::ptr::null_mut();
        let (mut pid, mut code) = (0, -1);
        // SAFETY: the C API with valid arguments, as a C caller makes them.
        unsafe {
            assert_eq!(create(id.as_ptr(), copts, &mut c), 0, "{}", c_error());
            assert_eq!(
                spawn(c, true_c.as_ptr(), std::ptr::null_mut(), &mut pid),
                0,
                "{}",
                c_error()
            );
            assert_eq!(wait(c, pid, &mut code), 0, "{}", c_error());
            assert_eq!(code, 0);
            assert_eq!(destroy(c), 0, "{}", c_error());
        }
        t.elapsed().as_secs_f64() * 1e3
    };
    for i in 0..5 {
        rust_round(1_000_000 + i); // warm-up
        c_round(1_000_000 + i);
    }
    let (mut rust, mut capi) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut diffs = Vec::with_capacity(n);
    for i in 0..n {
        // Alternate which goes first, so neither always follows the other.
        let (r, c) = if i % 2 == 0 {
            let r = rust_round(i);
            (r, c_round(i))
        } else {
            let c = c_round(i);
            (rust_round(i), c)
        };
        rust.push(r);
        capi.push(c);
        diffs.push(c - r);
    }
    diffs.sort_by(|a, b| a.total_cmp(b));
    rust.sort_by(|a, b| a.total_cmp(b));
    capi.sort_by(|a, b| a.total_cmp(b));
    let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (rm, cm) = (pct(&rust, 0.5), pct(&capi, 0.5));
    println!(
        "Rust API create+spawn+wait+destroy   N={n:4} median {rm:7.2} ms  p90 {:7.2} ms",
        pct(&rust, 0.9)
    );
    println!(
        "C API    create+spawn+wait+destroy   N={n:4} median {cm:7.2} ms  p90 {:7.2} ms  ({:+.2} % vs Rust)",
        pct(&capi, 0.9),
        (cm / rm - 1.0) * 100.0
    );
    // Paired: each C round against the Rust round next to it, which
    // cancels most of the drift of a shared machine's load.
    println!(
        "C - Rust, per pair: median {:+.3} ms ({:+.2} % of the Rust median)",
        pct(&diffs, 0.5),
        pct(&diffs, 0.5) / rm * 100.0
    );
    let _ = std::fs::remove_dir_all(&work);
}

#[cfg(not(target_os = "linux"))]
fn main() {}
