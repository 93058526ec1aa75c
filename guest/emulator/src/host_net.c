/* Host stream sockets for virtio-net: accept on an inherited listening socket,
 * non-blocking receive and send. WASI: the preview1 sock_* calls (wasi-libc
 * has no accept()); native: the POSIX equivalents. All return -1 with
 * *again set when the call would block, -1 on a hard error, else a count. */
#define _GNU_SOURCE
#include "emu.h"
#include "host_net.h"
#include <errno.h>
#include <unistd.h>

#if defined(__wasi__)
#include <wasi/api.h>

int host_sock_accept(int listen_fd, int *again) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_sock_accept((__wasi_fd_t)listen_fd, __WASI_FDFLAGS_NONBLOCK, &fd);
  *again = e == __WASI_ERRNO_AGAIN;
  return e ? -1 : (int)fd;
}

long host_sock_recv(int fd, void *buf, size_t len, int *again) {
  __wasi_iovec_t iov = {.buf = buf, .buf_len = len};
  __wasi_size_t n = 0;
  __wasi_roflags_t fl = 0;
  __wasi_errno_t e = __wasi_sock_recv((__wasi_fd_t)fd, &iov, 1, 0, &n, &fl);
  *again = e == __WASI_ERRNO_AGAIN;
  return e ? -1 : (long)n;
}

long host_sock_send(int fd, const void *buf, size_t len, int *again) {
  __wasi_ciovec_t iov = {.buf = buf, .buf_len = len};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_sock_send((__wasi_fd_t)fd, &iov, 1, 0, &n);
  *again = e == __WASI_ERRNO_AGAIN;
  return e ? -1 : (long)n;
}

void host_sock_close(int fd) { close(fd); }

#else
#include <sys/socket.h>

int host_sock_accept(int listen_fd, int *again) {
  int fd = accept4(listen_fd, 0, 0, SOCK_NONBLOCK);
  *again = fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  return fd;
}

long host_sock_recv(int fd, void *buf, size_t len, int *again) {
  ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
  *again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  return (long)n;
}

long host_sock_send(int fd, const void *buf, size_t len, int *again) {
  ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  *again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  return (long)n;
}

void host_sock_close(int fd) { close(fd); }
#endif
