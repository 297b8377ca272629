/* jansson helpers shared by daemon and client. */
#pragma once

#include <jansson.h>

#include "hd-macro.h"

HD_DEFINE_CLEANUP(json_t *, json_decref)
#define _cleanup_json_ _cleanup_(json_decrefp)
