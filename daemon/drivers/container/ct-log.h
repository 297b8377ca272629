/* Container logs in the CRI format (containerd, CRI-O): one record per line,
 *
 *   2026-11-22T12:00:00.123456789Z stdout F text\n
 *
 * "F" closes a line; "P" is a piece of a line: a line longer than
 * HD_CT_LOG_LINE_MAX bytes is cut into P records (its last piece is F), and bytes
 * left without a newline when a stream ends are one P record. The text holds no
 * newline; a reader joins P records with what follows to rebuild a long line.
 *
 * The monitor writes (HdCtLogWriter, with size-based rotation:
 * path → path.1 → … → path.<max_files-1>, the oldest dropped); hostd reads
 * (hd_ct_log_tail for `logs?tail=N`, HdCtLogFollower for `logs?follow=true`).
 * Readers never block and tolerate the writer running at the same time: a record
 * is one write(2), and a torn last line is left for the next read.
 *
 * Errors: int < 0 (-errno), with HdError where noted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-error.h"

/* Text bytes per record: longer lines are cut into P records. */
#define HD_CT_LOG_LINE_MAX (16 * 1024)
/* A follower that returned 0 is called again after this many milliseconds. */
#define HD_CT_LOG_FOLLOW_POLL_MS 200
/* Room for hd_ct_log_time_format's output. */
#define HD_CT_LOG_TIME_MAX 40

typedef enum HdCtLogStream {
        HD_CT_LOG_STDOUT = 0,
        HD_CT_LOG_STDERR = 1,
} HdCtLogStream;

/* "stdout" / "stderr" */
const char *hd_ct_log_stream_to_string(HdCtLogStream s);

/* RFC 3339 UTC with nanoseconds, as in the records: "2026-11-22T12:00:00.123456789Z". */
void hd_ct_log_time_format(int64_t ns, char buf[static HD_CT_LOG_TIME_MAX]);
/* Parses that form (1 to 9 fraction digits, or none); -EINVAL otherwise. */
int hd_ct_log_time_parse(const char *s, size_t len, int64_t *ret_ns);

/* ---- writer (the monitor) ----------------------------------------------------------- */

typedef struct HdCtLogWriter HdCtLogWriter;

/* Opens (creates, mode 0640, or appends to) the log at path. max_bytes 0 never
 * rotates; max_files counts path itself (1: the file is started afresh when full). */
int hd_ct_log_writer_open(const char *path, int64_t max_bytes, unsigned max_files,
                          HdCtLogWriter **ret, HdError **err);
/* Flushes nothing (call hd_ct_log_writer_flush first) and closes. NULL is fine. */
void hd_ct_log_writer_free(HdCtLogWriter *w);
HD_DEFINE_CLEANUP(HdCtLogWriter *, hd_ct_log_writer_free)

/* Feeds bytes read from a stream: every complete line becomes an F record, a line
 * that outgrows HD_CT_LOG_LINE_MAX is written as P records, and the rest of an
 * unfinished line is kept (per stream) until its newline comes. Returns the
 * number of records written or -errno (the writer stays usable: a failed write
 * loses that record only). */
int hd_ct_log_writer_feed(HdCtLogWriter *w, HdCtLogStream stream, const void *data, size_t len);
/* Bytes of an unfinished line held for stream. */
size_t hd_ct_log_writer_pending(const HdCtLogWriter *w, HdCtLogStream stream);
/* Writes the held bytes of an unfinished line as a P record (the stream ended, or
 * it has been quiet for a while). No-op when nothing is held. */
int hd_ct_log_writer_flush(HdCtLogWriter *w, HdCtLogStream stream);
/* Writes one record as given (len <= HD_CT_LOG_LINE_MAX, no newline in text),
 * rotating first when the file would pass max_bytes. time_ns 0: now. */
int hd_ct_log_writer_record(HdCtLogWriter *w, HdCtLogStream stream, bool partial, int64_t time_ns,
                            const char *text, size_t len);

/* ---- readers (hostd) ---------------------------------------------------------------- */

/* Called once per record, oldest first. text is not NUL-terminated and is valid
 * during the call only. Return < 0 to stop the walk; the value is passed back. */
typedef int (*HdCtLogCallback)(HdCtLogStream stream, int64_t time_ns, bool partial,
                               const char *text, size_t len, void *userdata);

/* Parses one line (without its newline) into its parts; -EINVAL if malformed. */
int hd_ct_log_parse_record(const char *line, size_t len, HdCtLogStream *ret_stream,
                           int64_t *ret_time_ns, bool *ret_partial, const char **ret_text,
                           size_t *ret_text_len);

/* Calls cb for the last n_lines records (n_lines < 0: all of them) across
 * path.<max_files-1> … path.1, path, oldest first. Malformed lines are skipped; a
 * torn last line (the writer is mid-write) is not reported. Returns the number of
 * records reported, a callback's negative value, or -errno with err set. A log
 * that does not exist yet has no records (returns 0). */
int hd_ct_log_tail(const char *path, unsigned max_files, int64_t n_lines, HdCtLogCallback cb,
                   void *userdata, HdError **err);

/* Follows a log as it is written, across rotations (it notices that path now
 * names another file and finishes the old one first, including files rotated
 * further meanwhile) and truncation (starts over at offset 0).
 *
 * hd_ct_log_follow_open positions it like hd_ct_log_tail: the first reads return
 * the last n_lines records (n_lines < 0: everything, 0: only what comes next), so
 * `logs?tail=N&follow=true` has no gap and no repeat between the two. */
typedef struct HdCtLogFollower HdCtLogFollower;
int hd_ct_log_follow_open(const char *path, unsigned max_files, int64_t n_lines,
                          HdCtLogFollower **ret, HdError **err);
/* Reports the records available now through cb, a bounded batch per call.
 * Returns how many: > 0 call again at once; 0 nothing new, call again after
 * HD_CT_LOG_FOLLOW_POLL_MS (or when the container is gone, stop: the writer
 * never appends after the monitor exited). < 0: a callback's value or -errno. */
int hd_ct_log_follow_read(HdCtLogFollower *f, HdCtLogCallback cb, void *userdata);
void hd_ct_log_follow_free(HdCtLogFollower *f);
HD_DEFINE_CLEANUP(HdCtLogFollower *, hd_ct_log_follow_free)
