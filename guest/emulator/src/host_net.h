#ifndef C2W_HOST_NET_H
#define C2W_HOST_NET_H
#include <stddef.h>
int host_sock_accept(int listen_fd, int *again);
long host_sock_recv(int fd, void *buf, size_t len, int *again);
long host_sock_send(int fd, const void *buf, size_t len, int *again);
void host_sock_close(int fd);
#endif
