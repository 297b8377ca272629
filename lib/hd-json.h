/* jansson helpers shared by daemon and client. jansson (>= 2.11) already
 * provides json_decrefp() for use as a cleanup function. */
#pragma once

#include <jansson.h>

#include "hd-macro.h"

#define _cleanup_json_ _cleanup_(json_decrefp)
