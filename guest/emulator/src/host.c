/* Host services: clock, console I/O and waiting. The same POSIX calls work
 * natively and on wasi-libc (poll() maps to poll_oneoff there). */
#define _GNU_SOURCE
#include "emu.h"
#include "virtio.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t host_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Console output is buffered (SBI putchar delivers one byte per call) and
 * flushed by the main loop after every slice, when full, and at exit. */
static uint8_t out_buf[4096];
static size_t out_len;

static void write_all(const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(1, buf, len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return; /* stdout gone: drop console output, keep the guest running */
    }
    buf += n;
    len -= (size_t)n;
  }
}

void host_console_flush(void) {
  if (out_len) write_all(out_buf, out_len);
  out_len = 0;
}

void host_console_write(const uint8_t *buf, size_t len) {
  if (out_len + len > sizeof(out_buf)) host_console_flush();
  if (len > sizeof(out_buf)) { write_all(buf, len); return; }
  memcpy(out_buf + out_len, buf, len);
  out_len += len;
}

static int stdin_ready(int timeout_ms) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int r = poll(&p, 1, timeout_ms);
  return r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

int host_console_readable(void) { return stdin_ready(0); }

int host_console_read(uint8_t *buf, size_t len) {
  ssize_t n = read(0, buf, len);
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? -1 : 0;
  return (int)n;
}

/* Sleeps until timeout, stdin input or network activity. */
void host_wait(uint64_t timeout_ns, int watch_stdin) {
  int ms = (int)((timeout_ns + 999999) / 1000000);
  if (ms > 1000) ms = 1000;
  struct pollfd p[4];
  int n = 0;
  if (watch_stdin) { p[0].fd = 0; p[0].events = POLLIN; p[0].revents = 0; n = 1; }
  n += virtio_net_pollfds(p + n, 4 - n);
  if (n > 0 && poll(p, (nfds_t)n, ms) >= 0) return;
  if (ms > 0) { /* nothing to watch (or poll unsupported): plain sleep */
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, 0);
  }
}
