//! Starting a process inside a container's job with no instruction run
//! outside it: `CreateProcessW(CREATE_SUSPENDED)` → `AssignProcessToJobObject`
//! → `ResumeThread` (or, for an init created with `StartMode::OnStart`,
//! resumed later by `start`).
//!
//! Flags: `CREATE_UNICODE_ENVIRONMENT` (the block is UTF-16),
//! `CREATE_NEW_PROCESS_GROUP` (a Ctrl+C in the caller's console does not
//! reach the container), `EXTENDED_STARTUPINFO_PRESENT` with a
//! `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` naming the three standard handles
//! only. Never `CREATE_BREAKAWAY_FROM_JOB`, and the job has no breakaway
//! limit, so processes the container starts stay in it.
//!
//! The program is resolved before anything is created: a path (absolute or
//! relative to the process's working directory), or a bare name searched
//! in the working directory and then `PATH`, with `.exe` added when the
//! name has no extension. A missing program is an error naming it.

use std::fs::File;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Threading::{
    CreateProcessW, DeleteProcThreadAttributeList, InitializeProcThreadAttributeList, ResumeThread,
    TerminateProcess, UpdateProcThreadAttribute, CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED,
    CREATE_UNICODE_ENVIRONMENT, EXTENDED_STARTUPINFO_PRESENT, LPPROC_THREAD_ATTRIBUTE_LIST,
    PROCESS_INFORMATION, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, STARTF_USESTDHANDLES, STARTUPINFOEXW,
    STARTUPINFOW,
};

use super::cmdline;
use super::envblock::EnvBlock;
use super::job::Job;
use super::stdio::{self, ChildStdio, Stream};
use super::sys::{check, last_error, wide};
use crate::error::{Error, Result};
use crate::process::Stdio;

/// Held from making the standard handles inheritable until they are closed
/// again, so two spawns of this library never hand each other their pipes.
static INHERIT_LOCK: Mutex<()> = Mutex::new(());

/// Everything `CreateProcessW` needs, resolved and checked.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: EnvBlock,
    pub cwd: PathBuf,
}

impl Prepared {
    /// Checks `args`, resolves the program and the working directory.
    /// Creates nothing.
    pub(crate) fn new(args: &[String], env: EnvBlock, cwd: PathBuf) -> Result<Prepared> {
        cmdline::command_line_string(args)?;
        if !cwd.is_dir() {
            return Err(Error::option(
                "working directory",
                cwd.display().to_string(),
                "does not exist or is not a directory",
            ));
        }
        let program = resolve_program(&args[0], &cwd, env.get("PATH").unwrap_or(""))?;
        if cmdline::is_batch_file(&program) {
            return Err(Error::option(
                "program",
                program.display().to_string(),
                "is a batch file, which cmd.exe parses by its own rules: \
                 run it as cmd.exe /d /c ...",
            ));
        }
        Ok(Prepared {
            program,
            args: args.to_vec(),
            env,
            cwd,
        })
    }
}

/// Finds the program `name` (see the module doc).
pub(crate) fn resolve_program(name: &str, cwd: &Path, path_var: &str) -> Result<PathBuf> {
    let p = Path::new(name);
    let with_exe = |c: PathBuf| -> Option<PathBuf> {
        if c.is_file() {
            return Some(c);
        }
        if c.extension().is_none() {
            let e = c.with_extension("exe");
            if e.is_file() {
                return Some(e);
            }
        }
        None
    };
    let has_dir = name.contains(['\\', '/', ':']);
    let found = if has_dir {
        with_exe(if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        })
    } else {
        std::iter::once(cwd.to_path_buf())
            .chain(std::env::split_paths(path_var))
            .filter(|d| !d.as_os_str().is_empty())
            .find_map(|d| with_exe(d.join(p)))
    };
    found.ok_or_else(|| {
        Error::option(
            "program",
            name,
            if has_dir {
                "not found"
            } else {
                "not found in the working directory or PATH"
            },
        )
    })
}

/// A process just created in the job.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub pid: u32,
    pub process: OwnedHandle,
    /// The main thread: still suspended unless `resume` was given.
    pub thread: OwnedHandle,
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

/// Creates the process suspended, puts it in `job`, and resumes it if
/// `resume`. On any failure the process is terminated before it ran.
pub(crate) fn spawn_in_job(
    job: &Job,
    p: &Prepared,
    io: [Stdio; 3],
    resume: bool,
) -> Result<Spawned> {
    let [i, o, e] = io;
    let stdin = stdio::prepare(i, Stream::Input)?;
    let stdout = stdio::prepare(o, Stream::Output)?;
    let stderr = stdio::prepare(e, Stream::Error)?;

    let app = wide("program", p.program.as_os_str())?;
    let mut cmd = cmdline::command_line(&p.args)?;
    let env = p.env.to_wide();
    let cwd = wide("working directory", p.cwd.as_os_str())?;

    let pi = {
        let _guard = INHERIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let inherit = |c: &ChildStdio, s: &str| -> Result<Option<OwnedHandle>> {
            c.child
                .as_ref()
                .map(|h| stdio::duplicate(h.as_raw_handle(), true, s))
                .transpose()
        };
        let hs = [
            inherit(&stdin, "stdin")?,
            inherit(&stdout, "stdout")?,
            inherit(&stderr, "stderr")?,
        ];
        let raw = |h: &Option<OwnedHandle>| {
            h.as_ref()
                .map_or(std::ptr::null_mut(), |h| h.as_raw_handle())
        };
        let list: Vec<HANDLE> = hs.iter().flatten().map(|h| h.as_raw_handle()).collect();
        let attrs = AttrList::with_handles(&list)?;

        let mut si = STARTUPINFOEXW::default();
        si.StartupInfo.cb = std::mem::size_of::<STARTUPINFOEXW>() as u32;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = raw(&hs[0]);
        si.StartupInfo.hStdOutput = raw(&hs[1]);
        si.StartupInfo.hStdError = raw(&hs[2]);
        let mut flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | CREATE_NEW_PROCESS_GROUP;
        if let Some(a) = &attrs {
            si.lpAttributeList = a.ptr();
            flags |= EXTENDED_STARTUPINFO_PRESENT;
        } else {
            si.StartupInfo.cb = std::mem::size_of::<STARTUPINFOW>() as u32;
        }
        let mut pi = PROCESS_INFORMATION::default();
        // SAFETY: every pointer is valid for the call: NUL-terminated
        // application name and working directory, a writable NUL-terminated
        // command line, a double-NUL UTF-16 environment block
        // (CREATE_UNICODE_ENVIRONMENT), a STARTUPINFOEXW whose `cb` matches
        // the flags, and an attribute list that outlives the call.
        let ok = unsafe {
            CreateProcessW(
                app.as_ptr(),
                cmd.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                i32::from(!list.is_empty()),
                flags,
                env.as_ptr().cast(),
                cwd.as_ptr(),
                &si.StartupInfo,
                &mut pi,
            )
        };
        check(ok, format!("CreateProcessW {}", p.program.display()))?;
        pi
        // The inheritable duplicates close here, under the lock.
    };
    // SAFETY: CreateProcessW succeeded: both handles are new and ours.
    let (process, thread) = unsafe {
        (
            OwnedHandle::from_raw_handle(pi.hProcess),
            OwnedHandle::from_raw_handle(pi.hThread),
        )
    };
    if let Err(e) = job.assign(process.as_raw_handle()) {
        // SAFETY: our own, still suspended process: it never ran.
        unsafe { TerminateProcess(process.as_raw_handle(), 1) };
        return Err(e);
    }
    if resume {
        resume_thread(&thread)?;
    }
    Ok(Spawned {
        pid: pi.dwProcessId,
        process,
        thread,
        stdin: stdin.parent,
        stdout: stdout.parent,
        stderr: stderr.parent,
    })
}

/// Lets a suspended main thread run.
pub(crate) fn resume_thread(thread: &OwnedHandle) -> Result<()> {
    // SAFETY: the thread handle is open with THREAD_SUSPEND_RESUME.
    if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
        return Err(last_error("ResumeThread"));
    }
    Ok(())
}

/// A `PROC_THREAD_ATTRIBUTE_LIST` holding one handle list.
struct AttrList<'a> {
    buf: Vec<usize>,
    _handles: &'a [HANDLE],
}

impl<'a> AttrList<'a> {
    /// `None` for an empty list (nothing to inherit).
    fn with_handles(handles: &'a [HANDLE]) -> Result<Option<AttrList<'a>>> {
        if handles.is_empty() {
            return Ok(None);
        }
        let mut size = 0usize;
        // SAFETY: a size query: a NULL list with a valid size out-pointer.
        unsafe { InitializeProcThreadAttributeList(std::ptr::null_mut(), 1, 0, &mut size) };
        if size == 0 {
            return Err(last_error("InitializeProcThreadAttributeList (size)"));
        }
        let mut buf = vec![0usize; size.div_ceil(std::mem::size_of::<usize>())];
        let list: LPPROC_THREAD_ATTRIBUTE_LIST = buf.as_mut_ptr().cast();
        // SAFETY: `buf` is at least `size` bytes, pointer-aligned.
        let ok = unsafe { InitializeProcThreadAttributeList(list, 1, 0, &mut size) };
        check(ok, "InitializeProcThreadAttributeList")?;
        let attrs = AttrList {
            buf,
            _handles: handles,
        };
        // SAFETY: the list was initialised for one attribute; `handles`
        // outlives the list (it is borrowed by it), and its byte size is passed.
        let ok = unsafe {
            UpdateProcThreadAttribute(
                attrs.ptr(),
                0,
                PROC_THREAD_ATTRIBUTE_HANDLE_LIST as usize,
                handles.as_ptr().cast(),
                std::mem::size_of_val(handles),
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        };
        check(
            ok,
            "UpdateProcThreadAttribute(PROC_THREAD_ATTRIBUTE_HANDLE_LIST)",
        )?;
        Ok(Some(attrs))
    }

    fn ptr(&self) -> LPPROC_THREAD_ATTRIBUTE_LIST {
        self.buf.as_ptr() as LPPROC_THREAD_ATTRIBUTE_LIST
    }
}

impl Drop for AttrList<'_> {
    fn drop(&mut self) {
        // SAFETY: the list was initialised by InitializeProcThreadAttributeList.
        unsafe { DeleteProcThreadAttributeList(self.ptr()) };
    }
}
