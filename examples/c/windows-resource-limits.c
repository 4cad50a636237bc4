/*
 * windows-resource-limits: the seed's Job Object example on the containerv
 * C API. A container with a memory limit, a CPU percentage and a process
 * count; processes spawned into it are assigned to its job automatically;
 * destroying it ends them all.
 *
 *   Windows: windows-resource-limits.exe
 *   Linux:   windows-resource-limits ROOTFS   (the same call, mapped to
 *            cgroups: memory limit, CPU quota, pids limit; run as root)
 *
 * Under Wine, job limits are accepted but not enforced and CPU rate
 * control is refused: the example detects Wine, says so, and carries on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chef/containerv.h>

#define LIMIT_PROCESSES 8
#define ATTEMPTS 12

static int fail(const char* what)
{
    fprintf(stderr, "windows-resource-limits: %s: %s\n", what, containerv_last_error());
    return 1;
}

#if defined(_WIN32)
/* Wine's ntdll exports wine_get_version; Windows' does not. */
static const char* wine_version(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    FARPROC f     = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
    return f ? ((const char* (*)(void))(void (*)(void))f)() : NULL;
}
#else
#include <unistd.h>
static const char* wine_version(void)
{
    return NULL;
}
#endif

/* Options with the limits; `cpu` NULL leaves the CPU uncapped. */
static struct containerv_options* limited_options(const char* rootfs, const char* id, const char* cpu)
{
    struct containerv_options* options = containerv_options_new();
    if (options == NULL) {
        return NULL;
    }
#if !defined(_WIN32)
    {
        struct containerv_layer          layer;
        struct containerv_layer_context* ctx = NULL;
        memset(&layer, 0, sizeof layer);
        layer.type   = CONTAINERV_LAYER_BASE_ROOTFS;
        layer.source = (char*)rootfs;
        if (containerv_layers_compose(&layer, 1, id, &ctx) != 0) {
            containerv_options_delete(options);
            return NULL;
        }
        containerv_options_set_layers(options, ctx);
        containerv_layers_destroy(ctx);
    }
#else
    (void)rootfs;
    (void)id;
#endif
    containerv_options_set_resource_limits(options, "256M", cpu ? cpu : "max", "8");
    return options;
}

int main(int argc, char** argv)
{
    struct containerv_options*      options;
    struct containerv_container*    container = NULL;
    struct containerv_spawn_options spawn;
    struct containerv_stats         stats;
    const char*                     wine = wine_version();
    const char*                     rootfs = argc > 1 ? argv[1] : NULL;
    const char*                     cpu = "25%";
    process_handle_t                procs[ATTEMPTS];
    char                            id[64];
    int                             i, started = 0, refused = 0;

#if defined(_WIN32)
    if (argc > 1 && strcmp(argv[1], "--sleep") == 0) {
        Sleep(20000);
        return 0;
    }
    snprintf(id, sizeof id, "limits-demo-%lu", (unsigned long)GetCurrentProcessId());
#else
    if (rootfs == NULL) {
        fprintf(stderr, "usage: %s ROOTFS\n", argv[0]);
        return 2;
    }
    snprintf(id, sizeof id, "limits-demo-%d", (int)getpid());
#endif
    if (wine != NULL) {
        printf("running under Wine %s: job limits are accepted but not enforced there\n", wine);
    }

    /* Memory 256 MiB, CPU 25 %, 8 processes. */
    options = limited_options(rootfs, id, "25");
    if (options == NULL) {
        return fail("options");
    }
    if (containerv_create(id, options, &container) != 0) {
        containerv_options_delete(options);
        if (wine == NULL) {
            return fail("create");
        }
        printf("Wine refuses the CPU rate cap (%s): creating without it\n", containerv_last_error());
        cpu     = "uncapped";
        options = limited_options(rootfs, id, NULL);
        if (options == NULL || containerv_create(id, options, &container) != 0) {
            containerv_options_delete(options);
            return fail("create");
        }
    }
    containerv_options_delete(options);
    printf("container %s: memory 256M, cpu %s, at most %d processes\n", containerv_id(container), cpu,
           LIMIT_PROCESSES);

    /* Spawned processes join the container's job (cgroup) on their own;
     * past the process limit a spawn fails. */
    memset(&spawn, 0, sizeof spawn);
    for (i = 0; i < ATTEMPTS; i++) {
        int rc;
#if defined(_WIN32)
        char self[MAX_PATH];
        GetModuleFileNameA(NULL, self, sizeof self);
        spawn.arguments = "--sleep";
        rc              = containerv_spawn(container, self, &spawn, &procs[started]);
#else
        spawn.arguments = "20";
        rc              = containerv_spawn(container, "/bin/sleep", &spawn, &procs[started]);
#endif
        if (rc == 0) {
            started++;
        } else {
            refused++;
        }
    }
    if (containerv_get_stats(container, &stats) != 0) {
        return fail("stats");
    }
    printf("%d of %d spawns started, %d refused; %u processes in the container\n", started, ATTEMPTS,
           refused, stats.active_processes);
    if (refused > 0) {
        printf("process limit enforced: %s\n", containerv_last_error());
    } else if (wine != NULL) {
        printf("process limit not enforced: Wine does not enforce job limits\n");
    } else {
        printf("process limit NOT enforced\n");
        containerv_destroy(container);
        return 1;
    }

    /* Destroy ends every process of the container (the job's). */
    for (i = 0; i < started && i < 1; i++) {
        if (containerv_kill(container, procs[i]) != 0) {
            return fail("kill");
        }
    }
    if (containerv_destroy(container) != 0) {
        return fail("destroy");
    }
    printf("container destroyed, its processes ended with it\n");
    return 0;
}
