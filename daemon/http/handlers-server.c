/* GET /v1 and GET /v1/host. */
#include "http-internal.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif

void hd_handle_server_info(HdRequest *req, HdResponse *resp)
{
        HdCore *c = req->http->core;
        const HdHostFacts *f = hd_core_host_facts(c);
        json_t *drivers = json_object();
        const char *accel = f->accel, *accel_reason = f->accel_reason;
        for (int k = 0; k < HD_KIND__COUNT; k++) {
                HdDriverStatus st;
                hd_core_driver_status(c, (HdKind)k, &st);
                json_t *d = json_pack("{s:b}", "available", st.available);
                json_object_set_new(d, "reason", st.reason ? json_string(st.reason) : json_null());
                if (st.facts.accel)
                        json_object_set_new(d, "accel", json_string(st.facts.accel));
                if (st.facts.endpoint)
                        json_object_set_new(d, "uri", json_string(st.facts.endpoint));
                if (st.facts.detail)
                        json_object_set_new(d, "detail", json_string(st.facts.detail));
                if (k == HD_KIND_VM && st.available) {
                        json_t *names = json_array();
                        for (size_t n = 0; n < st.facts.n_foreign; n++)
                                json_array_append_new(names, json_string(st.facts.foreign[n]));
                        json_object_set_new(d, "foreign_domains", names);
                }
                json_object_set_new(drivers, hd_kind_to_string((HdKind)k), d);
                /* The VM driver's probe (it boots guests) outranks the host's. */
                if (k == HD_KIND_VM && st.facts.accel) {
                        accel = st.facts.accel;
                        accel_reason = st.facts.accel_reason ? st.facts.accel_reason : "";
                }
        }
        const char *net_reason = NULL;
        bool net_ok = hd_core_net_available(req->http->core, &net_reason);
        json_t *nets = json_pack("{s:b}", "available", net_ok);
        if (!net_ok && net_reason)
                json_object_set_new(nets, "reason", json_string(net_reason));
        hd_resp_json(resp, 200,
                     json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s,s], s:o, s:{s:s, s:s}, s:{s:s}, s:s, "
                               "s:o}",
                               "name", "hostd", "version", HD_VERSION, "api_version", "v1",
                               "api_extensions", "instances", "operations", "events", "metrics",
                               "images", "networks", "drivers", drivers, "accel", "kind", accel,
                               "reason", accel_reason, "cgroup", "version", f->cgroup_version,
                               "auth", req->tcp ? "token" : "unix", "networks", nets));
}

void hd_handle_host_info(HdRequest *req, HdResponse *resp)
{
        HdCore *c = req->http->core;
        const HdHostFacts *f = hd_core_host_facts(c);
        _cleanup_error_ HdError *err = NULL;
        HdHostUsage u;
        if (hd_core_host_usage(c, &u, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }

        json_t *by_kind = json_object(), *by_state = json_object();
        int64_t total = 0;
        for (int s = 0; s < HD_STATE__COUNT; s++) {
                int64_t n = 0;
                for (int k = 0; k < HD_KIND__COUNT; k++)
                        n += u.counts[k][s];
                json_object_set_new(by_state, hd_state_to_string((HdState)s), json_integer(n));
        }
        for (int k = 0; k < HD_KIND__COUNT; k++) {
                int64_t n = 0;
                for (int s = 0; s < HD_STATE__COUNT; s++)
                        n += u.counts[k][s];
                total += n;
                json_object_set_new(by_kind, hd_kind_to_string((HdKind)k), json_integer(n));
        }
        hd_resp_json(resp, 200,
                     json_pack("{s:s, s:I, s:I, s:{s:f, s:f}, s:{s:f, s:I}, s:{s:f, s:I}, "
                               "s:{s:I, s:o, s:o}}",
                               "hostname", f->hostname, "cpus", (json_int_t)u.capacity.cpus,
                               "memory_mb", (json_int_t)u.capacity.memory_mb, "overcommit", "cpu",
                               u.capacity.cpu_overcommit, "memory", u.capacity.memory_overcommit,
                               "capacity", "vcpus", u.capacity.vcpus, "memory_mb",
                               (json_int_t)u.capacity.admit_memory_mb, "allocated", "vcpus",
                               u.allocated_vcpus, "memory_mb", (json_int_t)u.allocated_memory_mb,
                               "instances", "total", (json_int_t)total, "by_kind", by_kind,
                               "by_state", by_state));
}
