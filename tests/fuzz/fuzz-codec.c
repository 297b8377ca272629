/* libFuzzer target for the codec: arbitrary bytes → parse → spec validation →
 * canonical JSON → validation again (the round trip must be exact), plus the
 * PATCH, action-argument and network-create parsers over the same object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-codec: %s\n", what);
                abort();
        }
}

static void spec_round_trip(const json_t *j)
{
        HdInstanceSpec a = { 0 }, b = { 0 };
        _cleanup_error_ HdError *err = NULL;
        if (hd_codec_instance_spec_from_json(j, &a, &err) < 0) {
                check(err && err->code < 0 && err->message, "failure without an error");
                check(a.name == NULL, "failure left a partial spec");
                return;
        }
        check(err == NULL, "success with an error set");

        _cleanup_json_ json_t *ja = hd_codec_instance_spec_to_json(&a);
        check(ja != NULL, "spec_to_json failed");
        _cleanup_free_ char *ta = json_dumps(ja, JSON_COMPACT);
        check(ta != NULL, "json_dumps failed");

        /* through text, as the store keeps it */
        _cleanup_json_ json_t *reparsed = NULL;
        check(hd_codec_parse_object(ta, strlen(ta), &reparsed, NULL) == 0,
              "canonical JSON does not parse");
        check(hd_codec_instance_spec_from_json(reparsed, &b, NULL) == 0,
              "canonical JSON is not accepted back");
        _cleanup_json_ json_t *jb = hd_codec_instance_spec_to_json(&b);
        _cleanup_free_ char *tb = json_dumps(jb, JSON_COMPACT);
        check(tb && strcmp(ta, tb) == 0, "round trip changed the canonical JSON");

        /* a copy has the same canonical form too */
        HdInstanceSpec c;
        check(hd_instance_spec_copy(&c, &a) == 0, "copy failed");
        _cleanup_json_ json_t *jc = hd_codec_instance_spec_to_json(&c);
        check(json_equal(ja, jc), "copy differs");

        /* an instance around it serializes */
        HdInstance inst = { .spec = a, .state = HD_STATE_CREATED, .revision = 1 };
        _cleanup_json_ json_t *ji = hd_codec_instance_to_json(&inst);
        check(ji != NULL, "instance_to_json failed");

        hd_instance_spec_clear(&a);
        hd_instance_spec_clear(&b);
        hd_instance_spec_clear(&c);
}

static void patch(const json_t *j)
{
        HdInstancePatch p;
        if (hd_codec_instance_patch_from_json(j, &p, NULL) < 0)
                return;
        HdInstanceSpec s = { 0 };
        s.name = strdup("x");
        s.image = strdup("i");
        hd_kvlist_set(&s.labels, "keep", "v");
        HdError *err = NULL;
        int r = hd_codec_instance_patch_apply(&p, &s, &err);
        check(r == 0 ? err == NULL : err != NULL, "patch_apply error mismatch");
        check(s.labels.n <= HD_MAX_LABELS, "patch left too many labels");
        for (size_t i = 1; i < s.labels.n; i++)
                check(strcmp(s.labels.items[i - 1].key, s.labels.items[i].key) < 0,
                      "labels not sorted");
        hd_error_free(err);
        hd_instance_spec_clear(&s);
        hd_instance_patch_clear(&p);
}

/* A network create body: what is accepted serializes, and its output (less the
 * output-only members) is accepted back as the same network. */
static void network(const json_t *j)
{
        HdNetwork a = { 0 }, b = { 0 };
        _cleanup_error_ HdError *err = NULL;
        if (hd_codec_network_create_from_json(j, &a, &err) < 0) {
                check(err && err->code < 0 && err->message && err->field,
                      "network failure without a field");
                check(a.name == NULL && a.subnet == NULL && a.gateway == NULL,
                      "network failure left a partial network");
                return;
        }
        check(a.name && a.subnet && a.gateway, "network without name, subnet or gateway");
        check(hd_codec_network_name_is_valid(a.name), "accepted name fails the name rule");

        _cleanup_json_ json_t *ja = hd_codec_network_to_json(&a);
        check(ja != NULL, "network_to_json failed");
        _cleanup_json_ json_t *req = json_copy(ja);
        check(req != NULL, "json_copy failed");
        json_object_del(req, "bridge");
        json_object_del(req, "default");
        json_object_del(req, "created_at");
        json_object_del(req, "used_by");
        check(hd_codec_network_create_from_json(req, &b, NULL) == 0,
              "network output is not accepted back");
        _cleanup_json_ json_t *jb = hd_codec_network_to_json(&b);
        check(json_equal(ja, jb), "network round trip changed it");
        hd_network_clear(&a);
        hd_network_clear(&b);
}

static void actions(const json_t *j)
{
        for (HdAction a = 0; a < HD_ACTION__COUNT; a++) {
                char *args = NULL;
                if (hd_codec_action_args_from_json(a, j, &args, NULL) < 0) {
                        check(args == NULL, "action failure returned args");
                        continue;
                }
                /* canonical args are accepted back and unchanged */
                json_t *back = NULL;
                check(hd_codec_parse_object(args, strlen(args), &back, NULL) == 0,
                      "action args do not parse");
                char *again = NULL;
                check(hd_codec_action_args_from_json(a, back, &again, NULL) == 0 &&
                              strcmp(args, again) == 0,
                      "action args round trip");
                HdOperation op = { .action = a, .args_json = args };
                json_t *jo = hd_codec_operation_to_json(&op);
                check(jo && json_equal(json_object_get(jo, "args"), back), "operation args");
                json_decref(jo);
                json_decref(back);
                free(again);
                free(args);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *j = NULL;
        HdError *err = NULL;
        if (hd_codec_parse_object((const char *)data, size, &j, &err) < 0) {
                check(err && err->message, "parse failure without a message");
                /* what the HTTP layer would send must always serialize */
                json_t *e = hd_codec_error_to_json("invalid_argument", err->message, err->field);
                check(e != NULL, "error_to_json failed");
                json_decref(e);
                hd_error_free(err);
                return 0;
        }
        spec_round_trip(j);
        patch(j);
        network(j);
        actions(j);

        /* stored texts come back as objects, whatever they hold */
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        HdEvent ev = { .seq = 1, .type = (char *)"instance.updated", .data_json = text };
        json_t *je = hd_codec_event_to_json(&ev);
        check(je && json_equal(json_object_get(je, "data"), j), "event data");
        json_decref(je);

        json_decref(j);
        return 0;
}
