/* CRI-format container logs: the monitor's rotating writer and hostd's readers
 * (tail and follow). See ct-log.h. */
#include "ct-log.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hd-util.h"

/* A reader's line buffer: a record is at most ~16 KiB + 45 bytes; anything longer
 * was not written by us and is skipped. */
#define READ_BUF_CAP (64 * 1024)
/* One follow_read call reports at most this much, so an HTTP handler can interleave. */
#define FOLLOW_BATCH_RECORDS 1024
#define FOLLOW_BATCH_BYTES   (1024 * 1024)

static const char *const stream_names[] = { "stdout", "stderr" };

const char *hd_ct_log_stream_to_string(HdCtLogStream s)
{
        return s == HD_CT_LOG_STDERR ? "stderr" : "stdout";
}

/* ---- time --------------------------------------------------------------------------- */

void hd_ct_log_time_format(int64_t ns, char buf[static HD_CT_LOG_TIME_MAX])
{
        if (ns < 0)
                ns = 0;
        time_t sec = (time_t)(ns / 1000000000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char date[24];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, HD_CT_LOG_TIME_MAX, "%s.%09dZ", date, (int)(ns % 1000000000));
}

static int digits(const char *s, size_t n, int *ret)
{
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int hd_ct_log_time_parse(const char *s, size_t len, int64_t *ret_ns)
{
        /* YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z */
        int y, mo, d, h, mi, sec;
        if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
            s[16] != ':' || s[len - 1] != 'Z')
                return -EINVAL;
        if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
            digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &sec) < 0)
                return -EINVAL;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return -EINVAL;
        int64_t frac = 0;
        size_t i = 19;
        if (s[i] == '.') {
                size_t n = 0;
                for (i++; i < len - 1 && n < 9; i++, n++) {
                        if (s[i] < '0' || s[i] > '9')
                                return -EINVAL;
                        frac = frac * 10 + (s[i] - '0');
                }
                if (n == 0)
                        return -EINVAL;
                for (; n < 9; n++)
                        frac *= 10;
        }
        if (i != len - 1)
                return -EINVAL;
        struct tm tm = { .tm_year = y - 1900,
                         .tm_mon = mo - 1,
                         .tm_mday = d,
                         .tm_hour = h,
                         .tm_min = mi,
                         .tm_sec = sec };
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || t < 0)
                return -EINVAL;
        *ret_ns = (int64_t)t * 1000000000 + frac;
        return 0;
}

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- writer ------------------------------------------------------------------------- */

struct HdCtLogWriter {
        char *path;
        int fd;
        int64_t size;
        int64_t max_bytes;
        unsigned max_files;
        struct {
                size_t len;
                char buf[HD_CT_LOG_LINE_MAX];
        } pending[2];
        char rec[HD_CT_LOG_TIME_MAX + 16 + HD_CT_LOG_LINE_MAX];
};

static int open_log(const char *path, int *ret_fd, int64_t *ret_size)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        *ret_size = st.st_size;
        return 0;
}

int hd_ct_log_writer_open(const char *path, int64_t max_bytes, unsigned max_files,
                          HdCtLogWriter **ret, HdError **err)
{
        HdCtLogWriter *w = calloc(1, sizeof(*w));
        if (!w)
                return hd_error_set(err, -ENOMEM, "out of memory");
        w->fd = -1;
        w->max_bytes = max_bytes < 0 ? 0 : max_bytes;
        w->max_files = max_files ? max_files : 1;
        w->path = strdup(path);
        if (!w->path) {
                hd_ct_log_writer_free(w);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        int r = open_log(path, &w->fd, &w->size);
        if (r < 0) {
                hd_ct_log_writer_free(w);
                return hd_error_set(err, r, "open log `%s`: %s", path, strerror(-r));
        }
        *ret = w;
        return 0;
}

void hd_ct_log_writer_free(HdCtLogWriter *w)
{
        if (!w)
                return;
        if (w->fd >= 0)
                close(w->fd);
        free(w->path);
        free(w);
}

/* path → path.1 → … → path.<max_files-1> (the last one replaced: dropped), then a
 * fresh path. With max_files 1 the full file is simply replaced. On failure the
 * writer keeps appending to the file it has: a log too long beats a lost one. */
static int rotate(HdCtLogWriter *w)
{
        int r = 0;
        size_t plen = strlen(w->path);
        _cleanup_free_ char *from = malloc(plen + 16), *to = malloc(plen + 16);
        if (!from || !to)
                return -ENOMEM;
        if (w->max_files <= 1) {
                if (unlink(w->path) < 0 && errno != ENOENT)
                        return -errno;
        } else {
                for (unsigned i = w->max_files - 1; i >= 1; i--) {
                        if (i == 1)
                                snprintf(from, plen + 16, "%s", w->path);
                        else
                                snprintf(from, plen + 16, "%s.%u", w->path, i - 1);
                        snprintf(to, plen + 16, "%s.%u", w->path, i);
                        if (rename(from, to) < 0 && errno != ENOENT) {
                                r = -errno;
                                if (i == 1)
                                        return r; /* path is still ours: keep writing to it */
                        }
                }
        }
        int fd;
        int64_t size;
        int q = open_log(w->path, &fd, &size);
        if (q < 0)
                return q;
        close(w->fd);
        w->fd = fd;
        w->size = size;
        return r;
}

int hd_ct_log_writer_record(HdCtLogWriter *w, HdCtLogStream stream, bool partial, int64_t time_ns,
                            const char *text, size_t len)
{
        if (len > HD_CT_LOG_LINE_MAX || (unsigned)stream > HD_CT_LOG_STDERR)
                return -EINVAL;
        char when[HD_CT_LOG_TIME_MAX];
        hd_ct_log_time_format(time_ns ? time_ns : now_ns(), when);
        int head = snprintf(w->rec, sizeof(w->rec), "%s %s %c ", when, stream_names[stream],
                            partial ? 'P' : 'F');
        memcpy(w->rec + head, text, len);
        size_t total = (size_t)head + len;
        w->rec[total++] = '\n';

        int rr = 0;
        if (w->max_bytes > 0 && w->size > 0 && w->size + (int64_t)total > w->max_bytes)
                rr = rotate(w);
        if (w->fd < 0)
                return -EBADF;
        int r = hd_write_all(w->fd, w->rec, total);
        if (r < 0)
                return r;
        w->size += (int64_t)total;
        return rr < 0 ? rr : 1;
}

int hd_ct_log_writer_feed(HdCtLogWriter *w, HdCtLogStream stream, const void *data, size_t len)
{
        if ((unsigned)stream > HD_CT_LOG_STDERR)
                return -EINVAL;
        __typeof__(w->pending[0]) *p = &w->pending[stream];
        const char *d = data;
        int count = 0, err = 0;
        while (len > 0) {
                const char *nl = memchr(d, '\n', len);
                size_t seg = nl ? (size_t)(nl - d) : len;
                size_t room = HD_CT_LOG_LINE_MAX - p->len;
                int r;
                if (seg > room) {
                        /* The line outgrows a record: a full P piece, and go on. */
                        memcpy(p->buf + p->len, d, room);
                        r = hd_ct_log_writer_record(w, stream, true, 0, p->buf, HD_CT_LOG_LINE_MAX);
                        p->len = 0;
                        d += room;
                        len -= room;
                } else if (nl) {
                        if (p->len == 0)
                                r = hd_ct_log_writer_record(w, stream, false, 0, d, seg);
                        else {
                                memcpy(p->buf + p->len, d, seg);
                                r = hd_ct_log_writer_record(w, stream, false, 0, p->buf,
                                                            p->len + seg);
                                p->len = 0;
                        }
                        d += seg + 1;
                        len -= seg + 1;
                } else {
                        memcpy(p->buf + p->len, d, seg);
                        p->len += seg;
                        break;
                }
                if (r < 0)
                        err = r;
                else
                        count += r;
        }
        return err < 0 ? err : count;
}

size_t hd_ct_log_writer_pending(const HdCtLogWriter *w, HdCtLogStream stream)
{
        return (unsigned)stream > HD_CT_LOG_STDERR ? 0 : w->pending[stream].len;
}

int hd_ct_log_writer_flush(HdCtLogWriter *w, HdCtLogStream stream)
{
        if ((unsigned)stream > HD_CT_LOG_STDERR)
                return -EINVAL;
        __typeof__(w->pending[0]) *p = &w->pending[stream];
        if (p->len == 0)
                return 0;
        size_t n = p->len;
        p->len = 0;
        return hd_ct_log_writer_record(w, stream, true, 0, p->buf, n);
}

/* ---- record parsing ----------------------------------------------------------------- */

int hd_ct_log_parse_record(const char *line, size_t len, HdCtLogStream *ret_stream,
                           int64_t *ret_time_ns, bool *ret_partial, const char **ret_text,
                           size_t *ret_text_len)
{
        const char *end = line + len;
        const char *sp = memchr(line, ' ', len);
        if (!sp)
                return -EINVAL;
        int64_t t;
        if (hd_ct_log_time_parse(line, (size_t)(sp - line), &t) < 0)
                return -EINVAL;
        const char *p = sp + 1;
        HdCtLogStream stream;
        if (end - p >= 7 && memcmp(p, "stdout ", 7) == 0)
                stream = HD_CT_LOG_STDOUT;
        else if (end - p >= 7 && memcmp(p, "stderr ", 7) == 0)
                stream = HD_CT_LOG_STDERR;
        else
                return -EINVAL;
        p += 7;
        if (p >= end || (*p != 'F' && *p != 'P'))
                return -EINVAL;
        bool partial = *p == 'P';
        p++;
        /* "F text"; an empty text may come with or without its separating space. */
        if (p < end) {
                if (*p != ' ')
                        return -EINVAL;
                p++;
        }
        *ret_stream = stream;
        *ret_time_ns = t;
        *ret_partial = partial;
        *ret_text = p;
        *ret_text_len = (size_t)(end - p);
        return 0;
}

/* ---- follower (and tail) ------------------------------------------------------------ */

typedef struct Source {
        int fd; /* -1: path does not exist yet */
        dev_t dev;
        ino_t ino;
} Source;

struct HdCtLogFollower {
        char *path;
        unsigned max_files;
        Source *src; /* read in order; the last one is what path named when last looked */
        size_t n_src;
        off_t pos; /* read offset in src[0] */
        bool skipping;
        bool cb_stopped; /* the last error came from the callback */
        size_t len;
        char buf[READ_BUF_CAP];
};

static char *rotated_name(const char *path, unsigned i)
{
        char *s = NULL;
        if (i == 0)
                return strdup(path);
        if (asprintf(&s, "%s.%u", path, i) < 0)
                return NULL;
        return s;
}

static int source_open(const char *name, Source *ret)
{
        int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int r = S_ISREG(st.st_mode) ? -errno : -EINVAL;
                close(fd);
                return r;
        }
        *ret = (Source){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino };
        return 0;
}

static int follower_push(HdCtLogFollower *f, Source s)
{
        Source *n = realloc(f->src, (f->n_src + 1) * sizeof(Source));
        if (!n) {
                if (s.fd >= 0)
                        close(s.fd);
                return -ENOMEM;
        }
        f->src = n;
        f->src[f->n_src++] = s;
        return 0;
}

static void follower_pop(HdCtLogFollower *f)
{
        if (f->src[0].fd >= 0)
                close(f->src[0].fd);
        memmove(f->src, f->src + 1, (f->n_src - 1) * sizeof(Source));
        f->n_src--;
        f->pos = 0;
        f->len = 0;
        f->skipping = false;
}

static int pread_full(int fd, char *buf, size_t n, off_t at)
{
        size_t got = 0;
        while (got < n) {
                ssize_t k = pread(fd, buf + got, n - got, at + (off_t)got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO; /* truncated under us */
                got += (size_t)k;
        }
        return 0;
}

/* Where the last *remaining complete lines of a file of size bytes begin: 1 with
 * *ret_off when they start in this file, else 0 with *remaining reduced by the
 * file's line count. */
static int scan_back(int fd, off_t size, int64_t *remaining, off_t *ret_off)
{
        char chunk[8192];
        off_t end = size;
        int64_t seen = 0;
        while (end > 0) {
                size_t n = end < (off_t)sizeof(chunk) ? (size_t)end : sizeof(chunk);
                off_t at = end - (off_t)n;
                int r = pread_full(fd, chunk, n, at);
                if (r < 0)
                        return r;
                for (size_t i = n; i-- > 0;)
                        if (chunk[i] == '\n' && ++seen == *remaining + 1) {
                                *ret_off = at + (off_t)i + 1;
                                return 1;
                        }
                end = at;
        }
        if (seen == *remaining) {
                *ret_off = 0;
                return 1;
        }
        *remaining -= seen;
        return 0;
}

int hd_ct_log_follow_open(const char *path, unsigned max_files, int64_t n_lines,
                          HdCtLogFollower **ret, HdError **err)
{
        _cleanup_(hd_ct_log_follow_freep) HdCtLogFollower *f = calloc(1, sizeof(*f));
        if (!f || !(f->path = strdup(path)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        f->max_files = max_files ? max_files : 1;

        /* Oldest first; a file seen twice (rotated while we looked) counts once, where
         * it was seen last. */
        for (unsigned i = f->max_files; i-- > 0;) {
                _cleanup_free_ char *name = rotated_name(path, i);
                if (!name)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                Source s;
                int r = source_open(name, &s);
                if (r == -ENOENT && i == 0)
                        s = (Source){ .fd = -1 };
                else if (r == -ENOENT)
                        continue;
                else if (r < 0)
                        return hd_error_set(err, r, "open log `%s`: %s", name, strerror(-r));
                for (size_t k = 0; k < f->n_src; k++)
                        if (s.fd >= 0 && f->src[k].fd >= 0 && f->src[k].dev == s.dev &&
                            f->src[k].ino == s.ino) {
                                close(f->src[k].fd);
                                f->src[k].fd = -2; /* dropped below */
                        }
                if ((r = follower_push(f, s)) < 0)
                        return hd_error_set(err, r, "out of memory");
        }
        for (size_t k = 0; k < f->n_src;) {
                if (f->src[k].fd == -2) {
                        memmove(f->src + k, f->src + k + 1, (f->n_src - k - 1) * sizeof(Source));
                        f->n_src--;
                } else
                        k++;
        }

        /* Position at the last n_lines complete lines: newest file backwards. */
        if (n_lines >= 0) {
                int64_t remaining = n_lines;
                size_t first = 0;
                off_t off = 0;
                for (size_t k = f->n_src; k-- > 0;) {
                        if (f->src[k].fd < 0)
                                continue;
                        struct stat st;
                        if (fstat(f->src[k].fd, &st) < 0)
                                return hd_error_set(err, -errno, "stat log: %m");
                        int r = scan_back(f->src[k].fd, st.st_size, &remaining, &off);
                        if (r < 0)
                                return hd_error_set(err, r, "read log `%s`: %s", path,
                                                    strerror(-r));
                        if (r > 0) {
                                first = k;
                                break;
                        }
                }
                while (first-- > 0)
                        follower_pop(f);
                f->pos = off;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

void hd_ct_log_follow_free(HdCtLogFollower *f)
{
        if (!f)
                return;
        for (size_t k = 0; k < f->n_src; k++)
                if (f->src[k].fd >= 0)
                        close(f->src[k].fd);
        free(f->src);
        free(f->path);
        free(f);
}

/* path names another file than the last source: find where the old one went
 * (path.k), queue the files rotated after it, path.<k-1> … path.1, then path. */
static int follower_rotated(HdCtLogFollower *f, const Source *old)
{
        unsigned found = 0;
        for (unsigned i = 1; i < f->max_files && !found; i++) {
                _cleanup_free_ char *name = rotated_name(f->path, i);
                struct stat st;
                if (!name)
                        return -ENOMEM;
                if (stat(name, &st) == 0 && st.st_dev == old->dev && st.st_ino == old->ino)
                        found = i;
        }
        /* Not found: it was dropped, so every rotated file there is newer. */
        for (unsigned i = found ? found - 1 : f->max_files - 1; i > 0; i--) {
                _cleanup_free_ char *name = rotated_name(f->path, i);
                Source s;
                if (!name)
                        return -ENOMEM;
                if (source_open(name, &s) < 0)
                        continue;
                int r = follower_push(f, s);
                if (r < 0)
                        return r;
        }
        Source cur;
        int r = source_open(f->path, &cur);
        if (r == -ENOENT)
                cur = (Source){ .fd = -1 };
        else if (r < 0)
                return r;
        return follower_push(f, cur);
}

/* Reports the complete lines in the buffer and keeps the torn rest. */
static int follower_emit(HdCtLogFollower *f, HdCtLogCallback cb, void *userdata, int *count)
{
        size_t start = 0;
        int r = 0;
        for (;;) {
                char *nl = memchr(f->buf + start, '\n', f->len - start);
                if (!nl)
                        break;
                size_t n = (size_t)(nl - (f->buf + start));
                const char *line = f->buf + start;
                start += n + 1;
                if (f->skipping) {
                        f->skipping = false;
                        continue;
                }
                HdCtLogStream stream;
                int64_t t;
                bool partial;
                const char *text;
                size_t tlen;
                if (hd_ct_log_parse_record(line, n, &stream, &t, &partial, &text, &tlen) < 0)
                        continue;
                r = cb(stream, t, partial, text, tlen, userdata);
                if (r < 0) {
                        f->cb_stopped = true;
                        break;
                }
                (*count)++;
        }
        memmove(f->buf, f->buf + start, f->len - start);
        f->len -= start;
        if (f->len == sizeof(f->buf)) {
                /* A line longer than any record: not ours; skip to its end. */
                f->len = 0;
                f->skipping = true;
        }
        return r < 0 ? r : 0;
}

static int follower_read(HdCtLogFollower *f, HdCtLogCallback cb, void *userdata, bool follow)
{
        int count = 0;
        size_t bytes = 0;
        while (f->n_src > 0 && count < FOLLOW_BATCH_RECORDS && bytes < FOLLOW_BATCH_BYTES) {
                Source *s = &f->src[0];
                if (s->fd < 0) {
                        /* path did not exist when last looked at. */
                        if (f->n_src > 1) {
                                follower_pop(f);
                                continue;
                        }
                        if (!follow || source_open(f->path, s) < 0)
                                break;
                        f->pos = 0;
                        f->len = 0;
                }
                ssize_t n = pread(s->fd, f->buf + f->len, sizeof(f->buf) - f->len, f->pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n > 0) {
                        f->pos += n;
                        f->len += (size_t)n;
                        bytes += (size_t)n;
                        int r = follower_emit(f, cb, userdata, &count);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* End of this file. */
                if (f->n_src > 1) {
                        follower_pop(f);
                        continue;
                }
                if (!follow)
                        break;
                struct stat st;
                if (stat(f->path, &st) < 0)
                        break; /* between the writer's rename and its new file */
                if (st.st_dev != s->dev || st.st_ino != s->ino) {
                        Source old = *s;
                        int r = follower_rotated(f, &old);
                        if (r < 0)
                                return r;
                        continue; /* drains the old file once more, then moves on */
                }
                if (fstat(s->fd, &st) == 0 && st.st_size < f->pos) {
                        f->pos = 0; /* truncated: start over */
                        f->len = 0;
                        f->skipping = false;
                        continue;
                }
                break;
        }
        return count;
}

int hd_ct_log_follow_read(HdCtLogFollower *f, HdCtLogCallback cb, void *userdata)
{
        return follower_read(f, cb, userdata, true);
}

int hd_ct_log_tail(const char *path, unsigned max_files, int64_t n_lines, HdCtLogCallback cb,
                   void *userdata, HdError **err)
{
        _cleanup_(hd_ct_log_follow_freep) HdCtLogFollower *f = NULL;
        int r = hd_ct_log_follow_open(path, max_files, n_lines, &f, err);
        if (r < 0)
                return r;
        int total = 0;
        for (;;) {
                r = follower_read(f, cb, userdata, false);
                if (r < 0) {
                        if (!f->cb_stopped)
                                hd_error_set(err, r, "read log `%s`: %s", path, strerror(-r));
                        return r;
                }
                if (r == 0)
                        return total;
                total += r;
        }
}
