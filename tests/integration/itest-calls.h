/* Check-aware shorthands over the harness for tests that drive instances through the
 * API: each asserts what it expects (HTTP status, operation success) and fails the
 * test with the response when it does not hold. */
#pragma once

#include <jansson.h>

#include "harness.h"

/* method path (body NULL: no body; else JSON) must answer want; the body's JSON (new
 * reference, may be NULL). */
json_t *itest_call(HdTestDaemon *d, const char *method, const char *path, const char *body,
                   int want);
/* The string member key of j, or "". */
const char *itest_str(const json_t *j, const char *key);
/* POST /v1/instances/NAME/WHAT?wait=WAIT_S: the operation, which must have succeeded. */
json_t *itest_action(HdTestDaemon *d, const char *name, const char *what, const char *body,
                     int wait_s);
/* GET /v1/instances/NAME (200). */
json_t *itest_get(HdTestDaemon *d, const char *name);
/* Polls NAME every poll_ms until its state is state (then returns the instance), failing
 * after timeout_ms. */
json_t *itest_wait_state(HdTestDaemon *d, const char *name, const char *state, int timeout_ms,
                         int poll_ms);
/* GET /v1/instances/NAME/logsQUERY as text (200); the caller frees. */
char *itest_logs(HdTestDaemon *d, const char *name, const char *query);
/* Deletes every instance of the daemon through the API (force, waited for), checking
 * nothing: for teardowns. */
void itest_delete_all(HdTestDaemon *d);
