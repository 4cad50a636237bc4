/*
 * containerv_join on Windows (run under Wine by tests/c_examples.rs): a
 * process started outside the container joins its job, and is then in
 * the job. The joiner is a second process (this program with --join ID),
 * because a process in the job ends when the container is destroyed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <chef/containerv.h>

static int joiner(const char* id)
{
    char   name[200];
    HANDLE job;
    BOOL   in = FALSE;
    if (containerv_join(id) != 0) {
        fprintf(stderr, "join: %s\n", containerv_last_error());
        return 10;
    }
    snprintf(name, sizeof name, "containerv-%s", id);
    job = OpenJobObjectA(JOB_OBJECT_QUERY, FALSE, name);
    if (job == NULL || !IsProcessInJob(GetCurrentProcess(), job, &in) || !in) {
        fprintf(stderr, "not in job %s\n", name);
        return 11;
    }
    printf("joined %s\n", name);
    return 0;
}

int main(int argc, char** argv)
{
    struct containerv_options*   opts;
    struct containerv_container* c = NULL;
    char                         id[64], cmd[MAX_PATH + 100], self[MAX_PATH];
    STARTUPINFOA                 si;
    PROCESS_INFORMATION          pi;
    DWORD                        code = 99;

    if (argc > 2 && strcmp(argv[1], "--join") == 0) {
        return joiner(argv[2]);
    }
    snprintf(id, sizeof id, "cvjoin-%lu", (unsigned long)GetCurrentProcessId());
    errno = 0;
    if (containerv_join(id) != -1 || errno != ENOENT) {
        fprintf(stderr, "join of a missing container: errno %d, %s\n", errno, containerv_last_error());
        return 1;
    }
    opts = containerv_options_new();
    if (containerv_create(id, opts, &c) != 0) {
        fprintf(stderr, "create: %s\n", containerv_last_error());
        return 1;
    }
    containerv_options_delete(opts);

    GetModuleFileNameA(NULL, self, sizeof self);
    snprintf(cmd, sizeof cmd, "\"%s\" --join %s", self, id);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "CreateProcess failed: %lu\n", GetLastError());
        return 1;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    if (containerv_destroy(c) != 0) {
        fprintf(stderr, "destroy: %s\n", containerv_last_error());
        return 1;
    }
    if (code != 0) {
        fprintf(stderr, "joiner exited %lu\n", code);
        return 1;
    }
    printf("ok join\n");
    return 0;
}
