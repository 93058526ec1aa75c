/* virtio-mmio device model shared by the virtio devices. */
#ifndef C2W_VIRTIO_H
#define C2W_VIRTIO_H
#include "emu.h"

#define VIRTQ_MAX 4
#define VIRTQ_NUM_MAX 256
#define VIRTQ_MAX_SEG 64

typedef struct {
  uint32_t num, ready;
  uint64_t desc, avail, used;
  uint16_t last_avail;
} VirtQueue;

typedef struct {
  uint8_t *p;
  uint32_t len;
  int writable;
} VirtSeg;

typedef struct {
  uint16_t head;
  int n;
  uint32_t rlen, wlen;
  VirtSeg seg[VIRTQ_MAX_SEG];
} VirtChain;

typedef struct VirtioDev {
  Machine *m;
  int index, irq, nq;
  uint32_t device_id;
  uint64_t features, drv_features;
  uint32_t feat_sel, drv_feat_sel, queue_sel, status, int_status, config_gen;
  VirtQueue q[VIRTQ_MAX];
  uint8_t config[64];
  void (*notify)(struct VirtioDev *d, int q);
  void (*poll)(struct VirtioDev *d);
  void (*on_reset)(struct VirtioDev *d);
  void (*config_write)(struct VirtioDev *d, uint64_t off, int size, uint64_t val);
  void *priv;
} VirtioDev;

VirtioDev *virtio_new(Machine *m, int index, int irq, uint32_t device_id, int nq);
int virtq_has_avail(VirtioDev *d, int qn);
int virtq_pop(VirtioDev *d, int qn, VirtChain *ch);
void virtq_push(VirtioDev *d, int qn, const VirtChain *ch, uint32_t written);
size_t chain_read(const VirtChain *ch, uint8_t *out, size_t cap);
size_t chain_write(const VirtChain *ch, const uint8_t *data, size_t len);
void virtio_raise(VirtioDev *d);
int virtio_count(void);
struct pollfd;
VirtioDev *virtio_net_new(Machine *m, int index, int irq, int listen_fd, const uint8_t mac[6]);
int virtio_net_pollfds(struct pollfd *p, int max);
int virtio_net_parse_mac(const char *str, uint8_t mac[6]);
VirtioDev *virtio_9p_new(Machine *m, int index, int irq, const char *tag, const char *dir, int read_only);
VirtioDev *virtio_blk_new(Machine *m, int index, int irq, const uint8_t *mem, int fd, uint64_t size);
#endif
