/* hostd: wires config, store, drivers, core and HTTP together, then waits for a
 * signal. Shutdown order: stop accepting, let requests in flight finish, stop
 * the core, close the database. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "config.h"
#include "core.h"
#include "hd-codec.h"
#include "hd-log.h"
#include "img-store.h"
#include "net.h"
#include "server.h"
#include "store.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif

/* One hostd per state dir: an flock held for the process's life. */
static int take_lock(const char *state_dir, HdError **err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/hostd.lock", state_dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                char pid[32] = "";
                ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
                if (n > 0)
                        pid[strcspn(pid, "\n")] = '\0';
                return hd_error_set(err, -EBUSY,
                                    "another hostd (pid %s) is running on state dir `%s`",
                                    pid[0] ? pid : "?", state_dir);
        }
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
                return hd_error_set(err, -errno, "cannot write `%s`: %s", path, strerror(errno));
        return TAKE_FD(fd);
}

static void drivers_freep(HdDriver ***d)
{
        if (*d)
                hd_drivers_free(*d);
}

static int run(HdConfig *cfg, HdError **err)
{
        int r = hd_mkdir_p(cfg->state_dir, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create state dir `%s`: %s", cfg->state_dir,
                                    strerror(-r));
        _cleanup_close_ int lock_fd = take_lock(cfg->state_dir, err);
        if (lock_fd < 0)
                return lock_fd;

        _cleanup_free_ char *token = NULL;
        if (cfg->token_file) {
                r = hd_config_read_token(cfg->token_file, &token, err);
                if (r < 0)
                        return r;
        }
        if (cfg->listen && !token)
                return hd_error_set_field(err, -EINVAL, "token-file",
                                          "refusing to listen on TCP `%s` without --token-file",
                                          cfg->listen);

        _cleanup_free_ char *tls_cert = NULL, *tls_key = NULL;
        if (!cfg->tls_cert != !cfg->tls_key)
                return hd_error_set_field(err, -EINVAL, cfg->tls_cert ? "tls-key" : "tls-cert",
                                          "--tls-cert and --tls-key go together");
        if (cfg->tls_cert && !cfg->listen)
                return hd_error_set_field(err, -EINVAL, "listen",
                                          "--tls-cert needs --listen HOST:PORT");
        if (cfg->tls_cert) {
                r = hd_read_file(cfg->tls_cert, 1 << 20, &tls_cert, NULL);
                if (r < 0)
                        return hd_error_set_field(err, r, "tls-cert", "`%s`: %s", cfg->tls_cert,
                                                  strerror(-r));
                struct stat st;
                if (stat(cfg->tls_key, &st) == 0 && (st.st_mode & 0077))
                        return hd_error_set_field(err, -EPERM, "tls-key",
                                                  "TLS key `%s` is readable by others (mode "
                                                  "%04o); chmod 600 it",
                                                  cfg->tls_key, (unsigned)(st.st_mode & 07777));
                r = hd_read_file(cfg->tls_key, 1 << 20, &tls_key, NULL);
                if (r < 0)
                        return hd_error_set_field(err, r, "tls-key", "`%s`: %s", cfg->tls_key,
                                                  strerror(-r));
        }

        _cleanup_free_ char *db_path = NULL;
        if (asprintf(&db_path, "%s/hostd.db", cfg->state_dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_(hd_store_closep) HdStore *store = NULL;
        r = hd_store_open(db_path, cfg->event_retention, &store, err);
        if (r < 0)
                return hd_error_wrap(err, "inventory `%s`", db_path);

        _cleanup_free_ char *images_root = NULL;
        if (asprintf(&images_root, "%s/images", cfg->state_dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        HdImgStoreConfig icfg = {
                .allow_devices = cfg->image_allow_devices,
                .keep_setid = cfg->image_keep_setid,
        };
        _cleanup_(hd_img_store_closep) HdImgStore *images = NULL;
        r = hd_img_store_open(images_root, store, &icfg, &images, err);
        if (r < 0)
                return hd_error_wrap(err, "image store `%s`", images_root);

        /* Block the signals before any thread exists (drivers start theirs in the
         * core) so only sigwait sees them. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);

        HdDriver *drivers[HD_KIND__COUNT] = { 0 };
        const char *reasons[HD_KIND__COUNT];
        HdDriversConfig dcfg = {
                .state_dir = cfg->state_dir,
                .images = images,
                .allow_privileged = cfg->allow_privileged,
                .libvirt_uri = cfg->libvirt_uri,
        };
        hd_drivers_builtin(&dcfg, drivers, reasons);
        _cleanup_(drivers_freep) HdDriver **owned_drivers = drivers;

        HdCoreConfig ccfg = {
                .cpu_overcommit = cfg->cpu_overcommit,
                .memory_overcommit = cfg->memory_overcommit,
                .op_workers = (int)cfg->op_workers,
                .state_dir = cfg->state_dir,
        };
        /* Networks: unavailable (with the reason GET /v1 shows) rather than fatal, so
         * a host without nftables still runs its instances without one. */
        HdNetConfig ncfg = { .state_dir = cfg->state_dir, .nft_table = cfg->nft_table };
        _cleanup_(hd_net_freep) HdNet *net = NULL;
        _cleanup_error_ HdError *net_err = NULL;
        if (hd_net_new(&ncfg, &net, &net_err) < 0)
                hd_log_warn("networks are unavailable: %s", net_err->message);
        HdNetwork def = { 0 };
        bool have_def = false;
        if (strcmp(cfg->default_network, "none") != 0) {
                _cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "name", cfg->default_network,
                                                     "subnet", cfg->default_network_subnet);
                _cleanup_error_ HdError *e = NULL;
                if (!j || hd_codec_network_create_from_json(j, &def, &e) < 0)
                        return hd_error_set_field(err, -EINVAL, "default-network",
                                                  "default network: %s",
                                                  e && e->message ? e->message : "invalid");
                have_def = true;
        }
        /* After net: the core uses it until it is freed. */
        _cleanup_(hd_core_freep) HdCore *core = NULL;
        r = hd_core_new(&ccfg, store, drivers, reasons, &core, err);
        if (r < 0) {
                hd_network_clear(&def);
                return r;
        }
        r = hd_core_set_net(core, net, net_err ? net_err->message : NULL, have_def ? &def : NULL,
                            err);
        hd_network_clear(&def);
        if (r >= 0)
                r = hd_core_start(core, err);
        if (r < 0)
                return r;

        HdHttpConfig hcfg = {
                .socket_path = cfg->socket_path,
                .socket_group = cfg->socket_group,
                .listen = cfg->listen,
                .token = token,
                .tls_cert_pem = tls_cert,
                .tls_key_pem = tls_key,
                .connection_limit = (unsigned)cfg->max_connections,
                .connection_timeout_s = (unsigned)cfg->connection_timeout,
                .connection_memory = 64 * 1024,
                .images = images,
        };
        HdHttp *http = NULL;
        r = hd_http_start(&hcfg, core, &http, err);
        if (r < 0)
                return r;

        hd_log_info("hostd %s ready: state dir %s, inventory %s", HD_VERSION, cfg->state_dir,
                    db_path);
        hd_log_info("try: curl --unix-socket %s http://localhost/v1", cfg->socket_path);
        if (cfg->listen)
                hd_log_info("or:  curl %s-H \"Authorization: Bearer $(cat %s)\" %s://%s/v1",
                            cfg->tls_cert ? "--cacert CA.pem " : "", cfg->token_file,
                            cfg->tls_cert ? "https" : "http", cfg->listen);

        int sig = 0;
        for (;;) {
                if (sigwait(&sigs, &sig) != 0)
                        continue;
                if (sig == SIGHUP) {
                        hd_log_info("SIGHUP ignored: restart hostd to apply configuration");
                        continue;
                }
                break;
        }
        hd_log_info("%s received: finishing requests in flight", strsignal(sig));

        /* Stop accepting, wake waiters and event streams, then give requests in
         * flight time to complete before connections are closed. */
        hd_http_quiesce(http);
        hd_core_shutdown(core);
        hd_http_drain(http, 10000);
        hd_http_stop(http);
        hd_log_info("stopped");
        return 0;
}

int main(int argc, char **argv)
{
        HdConfig cfg;
        _cleanup_error_ HdError *err = NULL;

        signal(SIGPIPE, SIG_IGN);
        hd_config_init(&cfg);
        int r = hd_config_parse_args(&cfg, argc, argv, &err);
        if (r < 0) {
                fprintf(stderr, "hostd: %s\n", err && err->message ? err->message : "bad usage");
                hd_config_clear(&cfg);
                return 2;
        }
        if (cfg.show_help || cfg.show_version || cfg.print_routes) {
                if (cfg.show_help)
                        hd_config_usage(stdout);
                else if (cfg.show_version)
                        printf("hostd %s\n", HD_VERSION);
                else
                        hd_http_print_routes(stdout);
                hd_config_clear(&cfg);
                return 0;
        }
        hd_log_set_level(cfg.log_level);

        r = run(&cfg, &err);
        hd_config_clear(&cfg);
        if (r < 0) {
                hd_log_error("%s", err && err->message ? err->message : strerror(-r));
                return 1;
        }
        return 0;
}
