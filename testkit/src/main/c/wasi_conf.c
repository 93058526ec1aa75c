/*
 * WASI conformance checks for the runner, run on both our runner and Node's node:wasi; the test compares
 * stdout and exit status. argv[1] picks the check. Output must be deterministic (no times, no addresses).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static int check_args(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d]=[%s]\n", i, argv[i]);
    }
    return 0;
}

extern char **environ;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_env(void) {
    int n = 0;
    while (environ[n]) n++;
    char **copy = malloc(sizeof(char *) * (n + 1));
    memcpy(copy, environ, sizeof(char *) * n);
    qsort(copy, n, sizeof(char *), cmp_str);
    printf("envc=%d\n", n);
    for (int i = 0; i < n; i++) printf("env: %s\n", copy[i]);
    const char *g = getenv("GREETING");
    printf("GREETING=%s\n", g ? g : "(unset)");
    return 0;
}

static uint64_t now(__wasi_clockid_t id) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
    return t;
}

static int check_clock(void) {
    uint64_t r = now(__WASI_CLOCKID_REALTIME);
    printf("realtime after 2020: %s\n", r > 1577836800ULL * 1000000000ULL ? "yes" : "no");
    uint64_t a = now(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b = now(__WASI_CLOCKID_MONOTONIC);
    printf("monotonic advanced by >= 30ms across nanosleep: %s\n", b - a >= 30000000ULL ? "yes" : "no");
    __wasi_timestamp_t res = 0;
    printf("monotonic resolution ok: %s\n",
           __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 && res > 0 && res <= 1000000 ? "yes" : "no");
    __wasi_timestamp_t t;
    printf("bad clock id: errno %d\n", __wasi_clock_time_get(99, 1, &t));
    unsigned char buf[32] = {0};
    int nonzero = 0;
    if (getentropy(buf, sizeof buf) == 0)
        for (int i = 0; i < 32; i++) nonzero |= buf[i];
    printf("random: %s\n", nonzero ? "ok" : "zero");
    return 0;
}

static int check_poll(void) {
    __wasi_subscription_t s[3];
    __wasi_event_t ev[3];
    __wasi_size_t n = 0;
    memset(s, 0, sizeof s);
    /* two relative timeouts: only the shorter one fires */
    s[0].userdata = 111;
    s[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    s[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s[0].u.u.clock.timeout = 2000ULL * 1000 * 1000;
    s[1].userdata = 222;
    s[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    s[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s[1].u.u.clock.timeout = 20ULL * 1000 * 1000;
    uint64_t a = now(__WASI_CLOCKID_MONOTONIC);
    int e = __wasi_poll_oneoff(s, ev, 2, &n);
    uint64_t b = now(__WASI_CLOCKID_MONOTONIC);
    printf("poll two timeouts: errno=%d n=%u userdata=%llu type=%u error=%u waited>=20ms:%s\n", e, (unsigned)n,
           (unsigned long long)ev[0].userdata, ev[0].type, ev[0].error, b - a >= 20000000ULL ? "yes" : "no");
    return 0;
}

static int check_poll_more(void) {
    __wasi_subscription_t s[1];
    __wasi_event_t ev[1];
    __wasi_size_t n = 0;
    int e;
    memset(s, 0, sizeof s);
    s[0].userdata = 333;
    s[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    s[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s[0].u.u.clock.timeout = now(__WASI_CLOCKID_MONOTONIC) - 1;
    s[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    e = __wasi_poll_oneoff(s, ev, 1, &n);
    printf("poll past abstime: errno=%d n=%u userdata=%llu\n", e, (unsigned)n, (unsigned long long)ev[0].userdata);
    {
        __wasi_subscription_t s[2];
        __wasi_event_t ev[2];
        /* fd_write on stdout is ready */
        memset(s, 0, sizeof s);
        s[0].userdata = 444;
        s[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
        s[0].u.u.fd_write.file_descriptor = 1;
        s[1].userdata = 555;
        s[1].u.tag = __WASI_EVENTTYPE_CLOCK;
        s[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        s[1].u.u.clock.timeout = 5000ULL * 1000 * 1000;
        e = __wasi_poll_oneoff(s, ev, 2, &n);
        printf("poll stdout writable: errno=%d n=%u userdata=%llu type=%u\n", e, (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].type);
    }
    return 0;
}

static int check_files(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/input.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("open input: %s\n", strerror(errno));
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, f)) printf("input: %s", line);
    fclose(f);
    struct stat st;
    if (stat(path, &st) == 0) printf("input size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    snprintf(path, sizeof path, "%s/out.txt", dir);
    f = fopen(path, "w");
    if (!f) {
        printf("create out: %s\n", strerror(errno));
        return 1;
    }
    fprintf(f, "written by the guest\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/sub", dir);
    printf("mkdir: %s\n", mkdir(path, 0755) == 0 ? "ok" : strerror(errno));
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/out.txt", dir);
    snprintf(to, sizeof to, "%s/sub/moved.txt", dir);
    printf("rename: %s\n", rename(from, to) == 0 ? "ok" : strerror(errno));
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    printf("open missing: %s\n", open(path, O_RDONLY) < 0 && errno == ENOENT ? "ENOENT" : "?");
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir: %s\n", strerror(errno));
        return 1;
    }
    char *names[64];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) printf("entry: %s\n", names[i]);
    printf("outside the pre-open: %s\n", open("/etc/passwd", O_RDONLY) < 0 ? "refused" : "OPENED");
    return 0;
}

static int check_preopens(void) {
    /* list what wasi-libc found, the way an emulator scans fd 3.. */
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
        if (e == __WASI_ERRNO_BADF) {
            printf("fd %u: EBADF, end of scan\n", fd);
            break;
        }
        if (e != 0) {
            printf("fd %u: errno %d\n", fd, e);
            break;
        }
        if (ps.tag == __WASI_PREOPENTYPE_DIR) {
            char name[256] = {0};
            (void)__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len < 255 ? ps.u.dir.pr_name_len : 255);
            printf("fd %u: dir %s\n", fd, name);
        } else {
            __wasi_fdstat_t st;
            (void)__wasi_fd_fdstat_get(fd, &st);
            printf("fd %u: not a dir (tag %u, filetype %u)\n", fd, ps.tag, st.fs_filetype);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: wasi_conf args|env|clock|poll|files DIR|preopens|exit N|trap\n");
        return 2;
    }
    const char *mode = argv[1];
    int rc = 0;
    if (!strcmp(mode, "args")) rc = check_args(argc, argv);
    else if (!strcmp(mode, "env")) rc = check_env();
    else if (!strcmp(mode, "clock")) rc = check_clock();
    else if (!strcmp(mode, "poll")) rc = check_poll();
    else if (!strcmp(mode, "poll-more")) rc = check_poll_more(); /* not on Node: its abstime poll waits, fd_write on stdout is EPERM */
    else if (!strcmp(mode, "files") && argc > 2) rc = check_files(argv[2]);
    else if (!strcmp(mode, "preopens")) rc = check_preopens();
    else if (!strcmp(mode, "exit") && argc > 2) {
        printf("exiting with %d\n", atoi(argv[2]));
        fflush(stdout);
        exit(atoi(argv[2]));
    } else if (!strcmp(mode, "trap")) {
        printf("about to trap\n");
        fflush(stdout);
        __builtin_trap();
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    fflush(stdout);
    return rc;
}
