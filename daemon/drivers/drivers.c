#include "driver.h"

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

void hd_drivers_builtin(HdDriver *ret[HD_KIND__COUNT], const char *ret_reason[HD_KIND__COUNT])
{
        /* Each kind's driver lands in its own change; until then the kind is
         * reported unavailable and its actions answer 503 with this reason. */
        ret[HD_KIND_CONTAINER] = NULL;
        ret_reason[HD_KIND_CONTAINER] = "the container driver is not part of this build yet";
        ret[HD_KIND_VM] = NULL;
        ret_reason[HD_KIND_VM] = "the VM driver is not part of this build yet";
}
