/*
 * The Windows side of the C API (run under Wine by tests/c_examples.rs and
 * on real Windows by the windows workflow):
 * - containerv_join: a process started outside the container joins its
 *   job, and is then in the job. The joiner is a second process (this
 *   program with --join ID), because a process in the job ends when the
 *   container is destroyed.
 * - upload/download: a file goes into the container's working directory, a
 *   process of the container copies it, the copy comes back out.
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

static int copy_round_trip(struct containerv_container* c)
{
    const char* host_in[1]   = { "capi-upload.txt" };
    const char* inside[1]    = { "/box/in.txt" };
    const char* back_from[1] = { "/box/out.txt" };
    const char* host_out[1]  = { "capi-download.txt" };
    const char* escape[1]    = { "/../outside.txt" };
    struct containerv_spawn_options so;
    process_handle_t p;
    int              code = -1;
    char             buf[64] = "";
    FILE*            f = fopen(host_in[0], "w");

    if (f == NULL) {
        return 1;
    }
    fputs("hello from the host\n", f);
    fclose(f);
    if (containerv_upload(c, host_in, inside, 1) != 0) {
        fprintf(stderr, "upload: %s\n", containerv_last_error());
        return 1;
    }
    /* A process of the container, in its working directory, copies it. */
    memset(&so, 0, sizeof so);
    so.arguments = "/d /c \"copy box\\in.txt box\\out.txt >NUL\"";
    if (containerv_spawn(c, "cmd.exe", &so, &p) != 0 || containerv_wait(c, p, &code) != 0 || code != 0) {
        fprintf(stderr, "copy in the container: code %d, %s\n", code, containerv_last_error());
        return 1;
    }
    if (containerv_download(c, back_from, host_out, 1) != 0) {
        fprintf(stderr, "download: %s\n", containerv_last_error());
        return 1;
    }
    f = fopen(host_out[0], "r");
    if (f == NULL || fgets(buf, sizeof buf, f) == NULL || strncmp(buf, "hello from the host", 19) != 0) {
        fprintf(stderr, "downloaded: %s\n", buf);
        return 1;
    }
    fclose(f);
    errno = 0;
    if (containerv_upload(c, host_in, escape, 1) != -1 || errno != EINVAL) {
        fprintf(stderr, "upload outside the working directory was not refused\n");
        return 1;
    }
    remove(host_in[0]);
    remove(host_out[0]);
    printf("copy round trip ok\n");
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
    if (copy_round_trip(c) != 0) {
        containerv_destroy(c);
        return 1;
    }
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
