#include "driver.h"
#include "ct-driver.h"
#ifdef HD_HAVE_VM_DRIVER
#include "vm-driver.h"
#endif

HdDriverActionFn hd_driver_action_slot(const HdDriver *d, HdAction a)
{
        if (!d)
                return NULL;
        switch (a) {
        case HD_ACTION_START:
                return d->start;
        case HD_ACTION_STOP:
                return d->stop;
        case HD_ACTION_RESTART:
                return d->restart;
        case HD_ACTION_KILL:
                return d->kill;
        case HD_ACTION_PAUSE:
                return d->pause;
        case HD_ACTION_RESUME:
                return d->resume;
        case HD_ACTION_DELETE:
                return d->remove;
        default:
                return NULL;
        }
}

void hd_drivers_builtin(const HdDriversConfig *cfg, HdDriver *ret[HD_KIND__COUNT],
                        const char *ret_reason[HD_KIND__COUNT])
{
        HdCtDriverConfig ccfg = {
                .state_dir = cfg->state_dir,
                .images = cfg->images,
                .allow_privileged = cfg->allow_privileged,
        };
        ret[HD_KIND_CONTAINER] = hd_ct_driver_new(&ccfg);
        ret_reason[HD_KIND_CONTAINER] = ret[HD_KIND_CONTAINER] ? NULL : "out of memory";
#ifdef HD_HAVE_VM_DRIVER
        HdVmDriverConfig vcfg = {
                .state_dir = cfg->state_dir,
                .images = cfg->images,
                .uri = cfg->libvirt_uri,
        };
        ret[HD_KIND_VM] = hd_vm_driver_new(&vcfg);
        ret_reason[HD_KIND_VM] = ret[HD_KIND_VM] ? NULL : "out of memory";
#else
        ret[HD_KIND_VM] = NULL;
        ret_reason[HD_KIND_VM] = "the VM driver is not part of this build yet";
#endif
}

void hd_drivers_free(HdDriver *d[HD_KIND__COUNT])
{
        hd_ct_driver_free(d[HD_KIND_CONTAINER]);
        d[HD_KIND_CONTAINER] = NULL;
#ifdef HD_HAVE_VM_DRIVER
        hd_vm_driver_free(d[HD_KIND_VM]);
        d[HD_KIND_VM] = NULL;
#endif
}
