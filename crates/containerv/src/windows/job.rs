//! One container's job object: create or open it by name, set its limits,
//! assign processes, terminate it, and query its accounting and process
//! list. Only this file calls the `*JobObject*` APIs.

use std::mem::{offset_of, size_of};
use std::os::windows::io::{AsRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::{GetLastError, ERROR_ALREADY_EXISTS, ERROR_MORE_DATA, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation,
    JobObjectBasicAndIoAccountingInformation, JobObjectBasicProcessIdList,
    JobObjectBasicUIRestrictions, JobObjectCpuRateControlInformation,
    JobObjectExtendedLimitInformation, OpenJobObjectW, QueryInformationJobObject,
    SetInformationJobObject, TerminateJobObject, JOBOBJECTINFOCLASS,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION,
    JOBOBJECT_BASIC_PROCESS_ID_LIST, JOBOBJECT_BASIC_UI_RESTRICTIONS,
    JOBOBJECT_CPU_RATE_CONTROL_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_CPU_RATE_CONTROL_ENABLE, JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP,
    JOB_OBJECT_LIMIT_ACTIVE_PROCESS, JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION,
    JOB_OBJECT_LIMIT_JOB_MEMORY, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOB_OBJECT_LIMIT_PROCESS_MEMORY,
};

use super::limits::JobLimits;
use super::sys::{check, hundred_ns_to_ns, last_error, owned, wide};
use crate::error::{Error, Result};

/// `JOB_OBJECT_ALL_ACCESS` (not in windows-sys).
const JOB_OBJECT_ALL_ACCESS: u32 = 0x001F_001F;

/// The job's name for container `id`: other processes open it by this name
/// while it exists.
pub(crate) fn job_name(id: &str) -> String {
    format!("containerv-{id}")
}

/// Figures from the job's accounting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accounting {
    /// User + kernel time of every process ever in the job, ns.
    pub cpu_ns: u64,
    pub active_processes: u64,
    pub total_processes: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
}

/// An open job object.
#[derive(Debug)]
pub(crate) struct Job {
    handle: OwnedHandle,
}

impl Job {
    /// Creates the job `containerv-<id>`; [`Error::AlreadyExists`] if a job
    /// of that name exists (the container is alive in some process).
    pub(crate) fn create(id: &str) -> Result<Job> {
        let name = wide("job name", job_name(id).as_ref())?;
        // SAFETY: `name` is a NUL-terminated UTF-16 string; default security.
        let h = unsafe { CreateJobObjectW(std::ptr::null(), name.as_ptr()) };
        // SAFETY: reads the calling thread's last-error value.
        let already = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        let handle = owned(h, format!("CreateJobObjectW {}", job_name(id)))?;
        if already {
            drop(handle);
            return Err(Error::AlreadyExists(id.to_string()));
        }
        Ok(Job { handle })
    }

    /// Opens the existing job of container `id`.
    pub(crate) fn open(id: &str) -> Result<Job> {
        let name = wide("job name", job_name(id).as_ref())?;
        // SAFETY: `name` is a NUL-terminated UTF-16 string.
        let h = unsafe { OpenJobObjectW(JOB_OBJECT_ALL_ACCESS, 0, name.as_ptr()) };
        if h.is_null() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(Job {
            handle: owned(h, "OpenJobObjectW")?,
        })
    }

    pub(crate) fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }

    /// Sets every limit in `l` on the job.
    pub(crate) fn apply(&self, l: &JobLimits) -> Result<()> {
        let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        let basic = &mut info.BasicLimitInformation;
        // A crashing process ends instead of waiting on an error dialog.
        basic.LimitFlags = JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
        if l.kill_on_close {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        }
        if let Some(n) = l.active_processes {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
            basic.ActiveProcessLimit = n;
        }
        if let Some(b) = l.process_memory {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
            info.ProcessMemoryLimit = usize::try_from(b).unwrap_or(usize::MAX);
        }
        if let Some(b) = l.job_memory {
            info.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
            info.JobMemoryLimit = usize::try_from(b).unwrap_or(usize::MAX);
        }
        self.set(
            JobObjectExtendedLimitInformation,
            &info,
            "set job limits (memory, active processes, kill-on-close)",
        )?;
        if let Some(rate) = l.cpu_rate {
            let mut cpu = JOBOBJECT_CPU_RATE_CONTROL_INFORMATION {
                ControlFlags: JOB_OBJECT_CPU_RATE_CONTROL_ENABLE
                    | JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP,
                ..Default::default()
            };
            cpu.Anonymous.CpuRate = rate;
            self.set(
                JobObjectCpuRateControlInformation,
                &cpu,
                format!("set job CPU rate hard cap {rate}/10000"),
            )?;
        }
        if l.ui != 0 {
            let ui = JOBOBJECT_BASIC_UI_RESTRICTIONS {
                UIRestrictionsClass: l.ui,
            };
            self.set(
                JobObjectBasicUIRestrictions,
                &ui,
                format!("set job UI restrictions {:#x}", l.ui),
            )?;
        }
        Ok(())
    }

    fn set<T>(&self, class: JOBOBJECTINFOCLASS, info: &T, what: impl Into<String>) -> Result<()> {
        // SAFETY: `info` points to a live `T`, the structure `class` expects,
        // and its exact size is passed.
        let ok = unsafe {
            SetInformationJobObject(
                self.raw(),
                class,
                (info as *const T).cast(),
                size_of::<T>() as u32,
            )
        };
        check(ok, what)
    }

    fn query<T: Default>(&self, class: JOBOBJECTINFOCLASS, what: &str) -> Result<T> {
        let mut info = T::default();
        // SAFETY: `info` is a writable `T`, the structure `class` fills,
        // and its exact size is passed.
        let ok = unsafe {
            QueryInformationJobObject(
                self.raw(),
                class,
                (&mut info as *mut T).cast(),
                size_of::<T>() as u32,
                std::ptr::null_mut(),
            )
        };
        check(ok, what)?;
        Ok(info)
    }

    /// Puts a (suspended) process into the job.
    pub(crate) fn assign(&self, process: HANDLE) -> Result<()> {
        // SAFETY: both handles are open; the process handle has
        // PROCESS_SET_QUOTA | PROCESS_TERMINATE (it is ours from CreateProcessW).
        let ok = unsafe { AssignProcessToJobObject(self.raw(), process) };
        check(ok, "AssignProcessToJobObject")
    }

    /// Ends every process of the job with `exit_code`.
    pub(crate) fn terminate(&self, exit_code: u32) -> Result<()> {
        // SAFETY: the job handle is open with JOB_OBJECT_TERMINATE.
        let ok = unsafe { TerminateJobObject(self.raw(), exit_code) };
        check(ok, "TerminateJobObject")
    }

    /// The limits in force and the peak memory figures.
    pub(crate) fn extended_limits(&self) -> Result<JOBOBJECT_EXTENDED_LIMIT_INFORMATION> {
        self.query(
            JobObjectExtendedLimitInformation,
            "query job extended limit information",
        )
    }

    /// CPU time, process counts and I/O. Where the I/O accounting query
    /// fails (Wine 8 does not implement it) the basic accounting is used and
    /// the I/O fields read 0.
    pub(crate) fn accounting(&self) -> Result<Accounting> {
        match self.query::<JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION>(
            JobObjectBasicAndIoAccountingInformation,
            "query job basic and I/O accounting",
        ) {
            Ok(info) => {
                let mut a = basic(&info.BasicInfo);
                a.read_bytes = info.IoInfo.ReadTransferCount;
                a.write_bytes = info.IoInfo.WriteTransferCount;
                a.read_ops = info.IoInfo.ReadOperationCount;
                a.write_ops = info.IoInfo.WriteOperationCount;
                Ok(a)
            }
            Err(e) => {
                tracing::debug!("job I/O accounting unavailable ({e}); using basic accounting");
                let info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = self.query(
                    JobObjectBasicAccountingInformation,
                    "query job basic accounting",
                )?;
                Ok(basic(&info))
            }
        }
    }

    /// Ids of the processes in the job now.
    pub(crate) fn process_ids(&self) -> Result<Vec<u32>> {
        let header =
            offset_of!(JOBOBJECT_BASIC_PROCESS_ID_LIST, ProcessIdList) / size_of::<usize>();
        let mut room = 64usize;
        for _ in 0..8 {
            let mut buf = vec![0usize; header + room];
            let bytes = buf.len() * size_of::<usize>();
            // SAFETY: `buf` is writable, usize-aligned (as the structure
            // is) and `bytes` long; the API writes at most that much.
            let ok = unsafe {
                QueryInformationJobObject(
                    self.raw(),
                    JobObjectBasicProcessIdList,
                    buf.as_mut_ptr().cast(),
                    bytes as u32,
                    std::ptr::null_mut(),
                )
            };
            // SAFETY: reads the calling thread's last-error value.
            if ok == 0 && unsafe { GetLastError() } != ERROR_MORE_DATA {
                return Err(last_error("query job process id list"));
            }
            // SAFETY: the buffer starts with the structure's header, which
            // the call filled (also on ERROR_MORE_DATA).
            let list = unsafe { &*(buf.as_ptr() as *const JOBOBJECT_BASIC_PROCESS_ID_LIST) };
            let (assigned, listed) = (
                list.NumberOfAssignedProcesses as usize,
                list.NumberOfProcessIdsInList as usize,
            );
            if ok != 0 && listed >= assigned {
                return Ok(buf[header..header + listed.min(room)]
                    .iter()
                    .map(|&p| p as u32)
                    .collect());
            }
            room = (assigned + 16).max(room * 2);
        }
        Err(Error::sys(
            "query job process id list",
            std::io::Error::other("the job kept growing while it was listed"),
        ))
    }
}

fn basic(b: &JOBOBJECT_BASIC_ACCOUNTING_INFORMATION) -> Accounting {
    Accounting {
        cpu_ns: hundred_ns_to_ns(b.TotalUserTime)
            .saturating_add(hundred_ns_to_ns(b.TotalKernelTime)),
        active_processes: u64::from(b.ActiveProcesses),
        total_processes: u64::from(b.TotalProcesses),
        ..Default::default()
    }
}
