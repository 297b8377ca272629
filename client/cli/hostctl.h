/* hostctl: shared declarations of the command line client's files. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "hostclient.h"
#include "hd-json.h"
#include "hd-macro.h"

#define HOSTCTL_EXIT_OK          0
#define HOSTCTL_EXIT_ERROR       1   /* the API or the connection failed */
#define HOSTCTL_EXIT_USAGE       2   /* the command line is wrong */
#define HOSTCTL_EXIT_INTERRUPTED 130 /* Ctrl-C (128 + SIGINT), as a shell reports it */

typedef enum HostctlOutput {
        HOSTCTL_OUTPUT_TABLE,
        HOSTCTL_OUTPUT_JSON,
} HostctlOutput;

typedef struct Hostctl {
        HcOptions options; /* from the environment, then the global flags */
        char *token;       /* read from --token-file */
        HcClient *client;  /* created on first use */
        HostctlOutput output;
} Hostctl;

/* A command: argv[0] is its name. Returns the exit status. */
typedef int (*HostctlCommandFn)(Hostctl *ctl, int argc, char **argv);

typedef struct HostctlCommand {
        const char *name;
        const char *usage; /* arguments, after the name */
        const char *summary;
        HostctlCommandFn run;
} HostctlCommand;

/* ---- hostctl.c ----------------------------------------------------------------------- */

/* The client, created on first use; NULL after printing why it could not be. */
HcClient *hostctl_client(Hostctl *ctl);

/* "hostctl: <message>" on stderr; each returns the exit status to use. */
int hostctl_usage_error(const char *fmt, ...) HD_PRINTF(1, 2);
int hostctl_error(const char *fmt, ...) HD_PRINTF(1, 2);
/* The API's message, with " (field: x)" when it named one; prefix (may be NULL) first. */
int hostctl_api_error(const HcError *err, const char *prefix);

/* Parses -o/--output (into ctl) and -h/--help of any command along with the command's own
 * long options (each with a val >= 256, no short forms). Returns the val of the next
 * command option, -1 at the end of the options, or an exit status + 1000 when the
 * command must stop now (usage error, help printed). optarg is set as by getopt. */
#define HOSTCTL_OPT_STOP 1000
#define HOSTCTL_COMMON_OPTIONS                      \
        { "output", required_argument, NULL, 'o' }, \
        {                                           \
                "help", no_argument, NULL, 'h'      \
        }
int hostctl_getopt(Hostctl *ctl, int argc, char **argv, const struct option *longopts);
/* Same, with the command's own short options too (getopt syntax, e.g. "p:"), whose
 * letters are returned as they are. */
int hostctl_getopt_short(Hostctl *ctl, int argc, char **argv, const char *shortopts,
                         const struct option *longopts);

/* `help [COMMAND]`: the overview, or one command's usage. */
int hostctl_cmd_help(Hostctl *ctl, int argc, char **argv);

/* A command's subcommand ("image ls", "network create", "bench run"). */
typedef struct HostctlSub {
        const char *name;
        HostctlCommandFn run;
} HostctlSub;
/* Runs the subcommand argv[1] names out of subs[0..n) with argv[0] (the command) as its
 * own argv[0], so messages and --help name the command; `--help` shows the command's
 * help. names lists the subcommands for the missing-subcommand message. */
int hostctl_dispatch(Hostctl *ctl, int argc, char **argv, const HostctlSub *subs, size_t n,
                     const char *names);

/* Strict number parsing of an option value; false after printing a usage error. */
bool hostctl_parse_int(const char *option, const char *value, long long min, long long max,
                       long long *ret);

/* ---- hostctl-output.c ---------------------------------------------------------------- */

typedef struct HostctlTable HostctlTable;

HostctlTable *hostctl_table_new(size_t n_columns, const char *const *headers);
/* Adds a row of n_columns cells (copied; NULL prints as "-"). */
int hostctl_table_add(HostctlTable *t, const char *const *cells);
/* Prints with columns aligned, two spaces apart; the last column is not padded. */
void hostctl_table_print(const HostctlTable *t, FILE *f);
void hostctl_table_free(HostctlTable *t);
HD_DEFINE_CLEANUP(HostctlTable *, hostctl_table_free)

/* A JSON value as one line of text: strings bare, null as "-", arrays of scalars joined
 * with ", ", anything else compact JSON. The caller frees it. */
char *hostctl_value_string(const json_t *v);

/* Pretty JSON (2-space indent) and a newline on stdout. */
void hostctl_print_json(const json_t *j);
/* A list answer: as JSON with -o json, else the array under member through print (an
 * answer without that array is an error naming the server). */
int hostctl_print_list(Hostctl *ctl, const json_t *answer, const char *member,
                       void (*print)(const json_t *items));
/* Bytes in human units ("512B", "1.5KiB", "27.0MiB", …) into buf, which it returns. */
const char *hostctl_bytes(int64_t n, char *buf, size_t size);

/* Object members as aligned "key: value" lines, nested objects flattened to dotted keys. */
void hostctl_print_kv(const json_t *obj);

/* The INSTANCES table (NAME KIND STATE IMAGE ADDRESS VCPUS MEMORY UUID) of an array;
 * ADDRESS is the first of an instance's addresses. */
void hostctl_print_instances(const json_t *instances);
/* The operations table (ID ACTION INSTANCE STATUS CREATED) of an array. */
void hostctl_print_operations(const json_t *operations);
/* One event as "seq time type instance data". */
void hostctl_print_event_line(const json_t *event);

/* ---- hostctl-commands.c -------------------------------------------------------------- */

extern const HostctlCommand hostctl_commands[];
extern const size_t hostctl_n_commands;

/* Seconds that actions, `rm` and `wait` wait for their operation unless told. */
#define HOSTCTL_DEFAULT_WAIT_S 60

/* A growing array of borrowed strings (option values). */
typedef struct HostctlStrv {
        const char **v;
        size_t n;
} HostctlStrv;
void hostctl_strv_clear(HostctlStrv *s);
/* Returns HOSTCTL_EXIT_OK, or the exit status after printing an error. */
int hostctl_strv_push(HostctlStrv *s, const char *value);

/* Checks the number of positional arguments left after the options. Returns -1 when it
 * is right, or the exit status of the usage error printed. */
int hostctl_positional(int argc, char **argv, int min, int max, const char *what);

/* For commands with no options of their own: returns -1 to go on, or an exit status. */
int hostctl_only_common_options(Hostctl *ctl, int argc, char **argv, int min, int max,
                                const char *what);

/* An object as JSON or as "key: value" lines, following -o. */
int hostctl_print_object(Hostctl *ctl, const json_t *obj);

/* --wait S; false after printing a usage error. */
bool hostctl_parse_wait(const char *value, long long *ret);

/* Whether s has the form KEY=VALUE with a non-empty KEY. */
bool hostctl_is_key_value(const char *s);

/* One page of a list: the libhostclient call for opts with limit and after set. */
typedef int (*HostctlPageFn)(HcClient *c, const void *opts, int limit, const char *after,
                             json_t **ret, HcError *err);

/* Follows the "next" cursors, collecting the member arrays of every page into
 * {member: […], "next": cursor|null}; with limit > 0 it stops after limit items and
 * keeps the cursor to go on from there. */
int hostctl_collect(Hostctl *ctl, HostctlPageFn page_fn, const void *opts, const char *member,
                    long long limit, json_t **ret);

/* Prints an operation that an action returned; with wait_s > 0, waits for what is left of
 * wait_s first, and then a failed, cancelled or unfinished operation is an error. */
int hostctl_finish_operation(Hostctl *ctl, json_t *op, long long wait_s, int64_t started_ms);

/* ---- hostctl-instances.c ------------------------------------------------------------- */

/* `ls`, `show`, `create`, `label` and `rm`. */
int hostctl_cmd_ls(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_show(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_create(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_label(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_rm(Hostctl *ctl, int argc, char **argv);

/* ---- hostctl-images.c ---------------------------------------------------------------- */

/* `image ls|import|show|rm|prune`. */
int hostctl_cmd_image(Hostctl *ctl, int argc, char **argv);

/* ---- hostctl-networks.c -------------------------------------------------------------- */

/* `network ls|create|show|rm`. */
int hostctl_cmd_network(Hostctl *ctl, int argc, char **argv);
/* The networks table (NAME SUBNET GATEWAY NAT DEFAULT USED_BY) of an array. */
void hostctl_print_networks(const json_t *networks);

/* ---- hostctl-bench.c ----------------------------------------------------------------- */

/* `bench run|ls|show|compare|rm`: VM vs container benchmarks. */
int hostctl_cmd_bench(Hostctl *ctl, int argc, char **argv);
/* Its entry for help and lookup, which hostctl.c adds to hostctl_commands[]. */
extern const HostctlCommand hostctl_bench_command;

/* ---- hostctl-io.c -------------------------------------------------------------------- */

/* `logs`, `exec` and `stats`: what goes in and out of a running instance. */
int hostctl_cmd_logs(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_exec(Hostctl *ctl, int argc, char **argv);
int hostctl_cmd_stats(Hostctl *ctl, int argc, char **argv);
