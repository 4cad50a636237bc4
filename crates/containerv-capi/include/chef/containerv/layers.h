/*
 * containerv: composing a container's root filesystem from layers.
 *
 * The C API of the containerv library (crates/containerv-capi), with the
 * names, types and field order of the original chef containerv
 * <chef/containerv/layers.h>, so its callers compile unchanged.
 *
 * Conventions (as in <chef/containerv.h>): functions returning int return 0
 * on success and -1 on failure with errno set; containerv_last_error()
 * then says why.
 */
#ifndef CHEF_CONTAINERV_LAYERS_H
#define CHEF_CONTAINERV_LAYERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a layer is. */
enum containerv_layer_type {
    /* The base root filesystem: `source` is a directory on the host.
     * Exactly one per composition. With `readonly` set the container's root
     * is mounted read-only. */
    CONTAINERV_LAYER_BASE_ROOTFS,
    /* A VaFS package (.pack): not supported by this implementation;
     * containerv_layers_compose fails with ENOTSUP. */
    CONTAINERV_LAYER_VAFS_PACKAGE,
    /* A host directory (or file) `source` bind-mounted at `target` (an
     * absolute path inside the container), read-only when `readonly`. */
    CONTAINERV_LAYER_HOST_DIRECTORY,
    /* A writable overlay over the base: writes go to `source` (a host
     * directory, created if missing, kept after the container is destroyed)
     * or, with `source` NULL, to a private directory removed on destroy.
     * The base itself is never written. */
    CONTAINERV_LAYER_OVERLAY
};

/* One layer. Every string is borrowed: containerv_layers_compose copies
 * what it needs, the caller keeps ownership of the array and its strings. */
struct containerv_layer {
    enum containerv_layer_type type;
    /* Host path; see enum containerv_layer_type. */
    char* source;
    /* Mount point inside the container (CONTAINERV_LAYER_HOST_DIRECTORY). */
    char* target;
    /* An image name for a base layer: not supported, must be NULL
     * (containerv_layers_compose fails with ENOTSUP otherwise). */
    char* base_image;
    /* Non-zero: read-only. */
    int readonly;
};

/* A validated composition, owned by the caller: free it with
 * containerv_layers_destroy. */
struct containerv_layer_context;

/*
 * Validates `layer_count` layers for container `container_id` and returns a
 * composition in `*context_out` (set only on success). Nothing is mounted
 * yet: the container's mounts are made by containerv_create and undone by
 * containerv_destroy.
 *
 * Fails with EINVAL (NULL pointer, count <= 0, no or several base layers,
 * a missing source, a relative target, an invalid id) or ENOTSUP (VaFS
 * packages, base images).
 */
extern int containerv_layers_compose(
    struct containerv_layer*          layers,
    int                               layer_count,
    const char*                       container_id,
    struct containerv_layer_context** context_out
);

/*
 * The base root filesystem directory of `context` (the host path the
 * container's root is made from). Owned by the context: valid until
 * containerv_layers_destroy. NULL (errno EINVAL) when `context` is NULL.
 */
extern const char* containerv_layers_get_rootfs(
    struct containerv_layer_context* context
);

/* Frees `context` (NULL is allowed and does nothing). Containers created
 * from it are not affected: options and containers keep their own copy. */
extern void containerv_layers_destroy(
    struct containerv_layer_context* context
);

#ifdef __cplusplus
}
#endif

#endif /* CHEF_CONTAINERV_LAYERS_H */
