/* The container driver: hostd's side of its own runtime. Each container is a bundle
 * directory under <state-dir>/containers/<uuid> run by one hostd-monitor process that
 * outlives hostd; the driver writes the bundle's config.json from the instance and its
 * image, starts the monitor, signals the container, and watches each monitor through a
 * pidfd so that an exit is reported the moment it happens. */
#pragma once

#include <stdbool.h>

#include "driver.h"
#include "img-store.h"

typedef struct HdCtDriverConfig {
        const char *state_dir;    /* bundles go to <state_dir>/containers */
        HdImgStore *images;       /* where instance images are resolved */
        const char *monitor_path; /* NULL: hostd-monitor beside hostd, or in
                                   * ../libexec/hostd */
        bool allow_privileged;    /* network "host" and the other privileged knobs */
} HdCtDriverConfig;

/* A new, not yet initialized container driver (init probes the host). NULL when out of
 * memory. */
HdDriver *hd_ct_driver_new(const HdCtDriverConfig *cfg);
void hd_ct_driver_free(HdDriver *d);
