# Counts the tests of one step's log: prints "PASSED FAILED SKIPPED".
# Used by scripts/test (per step) and tools/wine/test. Run with
#   awk -v rc=EXIT_STATUS -f scripts/lib/count-results.awk LOG
#
# - A closing "N passed, N failed[, N skipped]" line (tools/wine/test,
#   tools/cgroup2-vm/run-tests.sh: they count their own libtest lines) is
#   the step's count when present (the last one wins); the libtest lines it
#   summarises are not counted again.
# - Otherwise every libtest "test result:" line is added up, and a test
#   binary that crashed (cargo's "error: test failed, to rerun pass ..."
#   without a "test result: FAILED" line of its own: a signal, a Wine client
#   error, a panic outside a test) is one failure: its tests never ran.
# - A step that exited non-zero with no failure counted (a build, fmt or
#   clippy error, a crash before any test) is one failure.
/^test result: / {
    for (i = 1; i <= NF; i++) {
        if ($(i) ~ /^passed;?$/) tp += $(i - 1)
        if ($(i) ~ /^failed;?$/) tf += $(i - 1)
        if ($(i) ~ /^ignored;?$/) ts += $(i - 1)
    }
    if ($3 == "FAILED.") fres++
}
/^error: test failed, to rerun pass / { rerun++ }
/^[A-Za-z -]*:? *[0-9]+ passed, [0-9]+ failed/ {
    have = 1; sp = sf = ss = 0
    for (i = 1; i <= NF; i++) {
        if ($(i) ~ /^passed,?$/) sp = $(i - 1)
        if ($(i) ~ /^failed,?$/) sf = $(i - 1)
        if ($(i) ~ /^skipped,?$/) ss = $(i - 1)
    }
}
END {
    if (have) { p = sp; f = sf; s = ss }
    else {
        p = tp; f = tf; s = ts
        if (rerun > fres) f += rerun - fres
    }
    if (rc != "" && rc != 0 && f == 0) f = 1
    print p + 0, f + 0, s + 0
}
