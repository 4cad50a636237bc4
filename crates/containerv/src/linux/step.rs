//! What a forked child was doing when it failed: one [`Step`] enum for the
//! init (`init/child.rs`), the exec path (`exec.rs`) and everything they
//! call in the child (`proc_setup`, `tty`, `seccomp`).
//!
//! A child cannot allocate, so a failure is a [`ChildError`]: a step (a
//! `u32` code on the wire, see [`super::report`]) and an errno. The parent
//! turns it into a message with [`Step::name`], or with
//! `PreparedProcess::error` when the program or directory should be named.
//! Adding a step: a variant at the end of the enum, its name in
//! [`Step::name`], and the variant in [`Step::ALL`].

/// A step a child can fail at. The discriminant is the wire code.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Fallback for a code this build does not know.
    ChildSetup = 0,
    OomScoreAdj,
    Setrlimit,
    KeepCaps,
    DropBoundingCap,
    Setgroups,
    Setresgid,
    Setresuid,
    Capset,
    NoNewPrivs,
    Chdir,
    Exec,
    JoinCgroup,
    Setns,
    Clone,
    DupStdio,
    Setsid,
    SetControllingTerminal,
    OpenPty,
    SendPtyMaster,
    WritePid,
    SetDumpable,
    IoprioSet,
    SchedSetattr,
    Personality,
    CwdOutsideContainer,
    Seccomp,
    SeccompAgent,
    /// The program check before the wait for `start` (`check_program`).
    Lookup,
    /// The init's stdio (no terminal).
    InitStdio,
    /// The exec fifo, reopened through /proc/self/fd at `start`.
    ReachFifo,
    /// `keyctl(KEYCTL_JOIN_SESSION_KEYRING)`.
    JoinSessionKeyring,
}

impl Step {
    /// Every step, in code order (`ALL[code] as u32 == code`).
    pub(crate) const ALL: [Step; 32] = [
        Step::ChildSetup,
        Step::OomScoreAdj,
        Step::Setrlimit,
        Step::KeepCaps,
        Step::DropBoundingCap,
        Step::Setgroups,
        Step::Setresgid,
        Step::Setresuid,
        Step::Capset,
        Step::NoNewPrivs,
        Step::Chdir,
        Step::Exec,
        Step::JoinCgroup,
        Step::Setns,
        Step::Clone,
        Step::DupStdio,
        Step::Setsid,
        Step::SetControllingTerminal,
        Step::OpenPty,
        Step::SendPtyMaster,
        Step::WritePid,
        Step::SetDumpable,
        Step::IoprioSet,
        Step::SchedSetattr,
        Step::Personality,
        Step::CwdOutsideContainer,
        Step::Seccomp,
        Step::SeccompAgent,
        Step::Lookup,
        Step::InitStdio,
        Step::ReachFifo,
        Step::JoinSessionKeyring,
    ];

    /// The step as error messages name it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::ChildSetup => "child set-up",
            Step::OomScoreAdj => "oom_score_adj",
            Step::Setrlimit => "setrlimit",
            Step::KeepCaps => "prctl PR_SET_KEEPCAPS",
            Step::DropBoundingCap => "drop capability from bounding set",
            Step::Setgroups => "setgroups",
            Step::Setresgid => "setresgid",
            Step::Setresuid => "setresuid",
            Step::Capset => "capset",
            Step::NoNewPrivs => "prctl PR_SET_NO_NEW_PRIVS",
            Step::Chdir => "chdir",
            Step::Exec => "exec",
            Step::JoinCgroup => "join cgroup",
            Step::Setns => "setns",
            Step::Clone => "clone",
            Step::DupStdio => "dup stdio",
            Step::Setsid => "setsid",
            Step::SetControllingTerminal => "set controlling terminal",
            Step::OpenPty => "open pty",
            Step::SendPtyMaster => "send pty master",
            Step::WritePid => "write pid",
            Step::SetDumpable => "prctl PR_SET_DUMPABLE",
            Step::IoprioSet => "ioprio_set",
            Step::SchedSetattr => "sched_setattr",
            Step::Personality => "personality",
            Step::CwdOutsideContainer => "cwd is outside the container",
            Step::Seccomp => "seccomp",
            Step::SeccompAgent => "seccomp agent at linux.seccomp.listenerPath",
            Step::Lookup => "lookup",
            Step::InitStdio => "set up stdio",
            Step::ReachFifo => {
                "reach the exec fifo through /proc/self/fd (the container has no /proc: mount one)"
            }
            Step::JoinSessionKeyring => "join a new session keyring",
        }
    }

    /// The wire code.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// The step of a wire code; an unknown code is [`Step::ChildSetup`].
    pub(crate) fn from_code(code: u32) -> Step {
        Step::ALL
            .get(code as usize)
            .copied()
            .unwrap_or(Step::ChildSetup)
    }

    /// This step failing with `errno`.
    pub(crate) fn failed(self, errno: i32) -> ChildError {
        ChildError { step: self, errno }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed step in a child: what it was doing and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildError {
    pub step: Step,
    pub errno: i32,
}

impl ChildError {
    /// The parent's error when nothing better than the step's name is
    /// known (`PreparedProcess::error` names programs and directories).
    pub(crate) fn into_error(self) -> crate::error::Error {
        crate::error::Error::Setup {
            step: self.step.name().to_string(),
            source: std::io::Error::from_raw_os_error(self.errno),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_positions_and_round_trip() {
        for (i, s) in Step::ALL.iter().enumerate() {
            assert_eq!(s.code() as usize, i, "{s:?} out of order in Step::ALL");
            assert_eq!(Step::from_code(s.code()), *s);
        }
        assert_eq!(Step::from_code(Step::ALL.len() as u32), Step::ChildSetup);
        assert_eq!(Step::from_code(u32::MAX), Step::ChildSetup);
    }

    #[test]
    fn names_are_distinct_and_unchanged() {
        let names: std::collections::HashSet<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Step::ALL.len());
        // Words users and tests match on.
        assert_eq!(Step::Exec.to_string(), "exec");
        assert_eq!(Step::Chdir.name(), "chdir");
        assert_eq!(Step::InitStdio.name(), "set up stdio");
        assert_eq!(
            Step::SeccompAgent.name(),
            "seccomp agent at linux.seccomp.listenerPath"
        );
    }

    #[test]
    fn generic_error_names_the_step_and_errno() {
        let e = Step::Setns.failed(libc::EPERM).into_error().to_string();
        assert!(e.contains("setns"), "{e}");
        let os = std::io::Error::from_raw_os_error(libc::EPERM).to_string();
        let os = os.split(" (os error").next().unwrap_or(&os).to_string();
        assert!(e.contains(&os), "{e}");
    }
}
