/* virtio-blk, read-only: the converted image's erofs rootfs (guest
 * /dev/vda), served from a memory range (no copy) or a host file.
 * IN, GET_ID and FLUSH succeed; OUT is answered IOERR, anything else
 * UNSUPP. Reads past the end of the image return zeros (the capacity is
 * rounded up to whole 512-byte sectors). A malformed request gets an error
 * status, never more than its own buffers are touched. */
#define _GNU_SOURCE
#include "emu.h"
#include "virtio.h"
#include <stdlib.h>
#include <unistd.h>

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_F_SEG_MAX (1ULL << 2)
#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_ID "c2w-rootfs"

typedef struct {
  const uint8_t *mem; /* image in memory, or NULL */
  int fd;             /* image file when mem is NULL */
  uint64_t size;      /* bytes */
  uint64_t reads, errors;
} BlkState;

/* Reads n image bytes at off into dst; bytes past the end are zeros. */
static int blk_read(BlkState *s, uint8_t *dst, uint64_t off, uint32_t n) {
  uint32_t have = off >= s->size ? 0 : s->size - off < n ? (uint32_t)(s->size - off) : n;
  if (have && s->mem) memcpy(dst, s->mem + off, have);
  uint32_t got = 0;
  while (!s->mem && got < have) {
    ssize_t r = pread(s->fd, dst + got, have - got, (off_t)(off + got));
    if (r <= 0) return 0;
    got += (uint32_t)r;
  }
  memset(dst + have, 0, n - have);
  return 1;
}

/* The request's data part: writable bytes before the status byte. IN fills
 * them from the image at byte offset off. */
static int blk_in(BlkState *s, const VirtChain *ch, uint64_t off, uint32_t data_len) {
  uint32_t left = data_len;
  for (int k = 0; k < ch->n && left; k++) {
    const VirtSeg *g = &ch->seg[k];
    if (!g->writable) continue;
    uint32_t n = g->len < left ? g->len : left;
    if (!blk_read(s, g->p, off, n)) return BLK_S_IOERR;
    off += n;
    left -= n;
  }
  s->reads++;
  return BLK_S_OK;
}

static int blk_get_id(const VirtChain *ch, uint32_t data_len) {
  uint8_t id[20] = {0};
  memcpy(id, BLK_ID, sizeof(BLK_ID) - 1);
  chain_write(ch, id, data_len < sizeof(id) ? data_len : sizeof(id));
  return BLK_S_OK;
}

/* Handles one request; returns the status byte. written: bytes of data. */
static int blk_request(BlkState *s, const VirtChain *ch, uint32_t *written) {
  uint8_t hdr[16];
  uint32_t type, data_len = ch->wlen - 1;
  uint64_t sector;
  *written = 0;
  if (ch->rlen < sizeof(hdr) || chain_read(ch, hdr, sizeof(hdr)) != sizeof(hdr)) return BLK_S_IOERR;
  memcpy(&type, hdr, 4);
  memcpy(&sector, hdr + 8, 8);
  switch (type) {
  case BLK_T_IN:
    if (sector > (UINT64_MAX >> 9) - (data_len >> 9) - 1) return BLK_S_IOERR;
    *written = data_len;
    return blk_in(s, ch, sector << 9, data_len);
  case BLK_T_GET_ID:
    *written = data_len < 20 ? data_len : 20;
    return blk_get_id(ch, data_len);
  case BLK_T_FLUSH: return BLK_S_OK;
  case BLK_T_OUT: return BLK_S_IOERR;
  default: return BLK_S_UNSUPP;
  }
}

/* The status byte is the last device-writable byte of the chain. */
static void blk_set_status(const VirtChain *ch, uint8_t status) {
  for (int k = ch->n - 1; k >= 0; k--) {
    if (ch->seg[k].writable && ch->seg[k].len) {
      ch->seg[k].p[ch->seg[k].len - 1] = status;
      return;
    }
  }
}

static void blk_notify(VirtioDev *d, int q) {
  BlkState *s = d->priv;
  VirtChain ch;
  while (virtq_pop(d, 0, &ch)) {
    if (ch.wlen == 0) { s->errors++; virtq_push(d, 0, &ch, 0); continue; }
    uint32_t written;
    int st = blk_request(s, &ch, &written);
    if (st != BLK_S_OK) { s->errors++; if (st == BLK_S_IOERR) written = 0; }
    blk_set_status(&ch, (uint8_t)st);
    virtq_push(d, 0, &ch, written + 1);
  }
}

static void put_le32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* mem != NULL: the image is [mem, mem+size); else the open file fd. */
VirtioDev *virtio_blk_new(Machine *m, int index, int irq, const uint8_t *mem, int fd, uint64_t size) {
  VirtioDev *d = virtio_new(m, index, irq, 2, 1);
  BlkState *s = calloc(1, sizeof(BlkState));
  if (!d || !s) return 0;
  s->mem = mem;
  s->fd = fd;
  s->size = size;
  d->priv = s;
  d->notify = blk_notify;
  d->features |= BLK_F_RO | BLK_F_SEG_MAX | BLK_F_FLUSH;
  uint64_t sectors = (size + 511) / 512;
  memcpy(d->config, &sectors, 8);            /* capacity */
  put_le32(d->config + 12, VIRTQ_MAX_SEG - 2); /* seg_max: header and status take two */
  return d;
}
