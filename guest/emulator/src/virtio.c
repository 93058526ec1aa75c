/* virtio-mmio (version 2) transport, split virtqueues, and the console and
 * entropy devices. */
#include "emu.h"
#include "virtio.h"
#include <stdlib.h>
#include <unistd.h>

VirtioDev *g_virtio_console;
static VirtioDev *g_devs[VIRTIO_MAX];
static int g_ndevs;

/* ---- guest memory helpers (physical addresses) ---- */
static uint8_t *gptr(VirtioDev *d, uint64_t pa, uint64_t len) { return phys_ram_ptr(d->m, pa, len); }

static int rd16(VirtioDev *d, uint64_t pa, uint16_t *v) {
  uint8_t *p = gptr(d, pa, 2);
  if (!p) return 0;
  memcpy(v, p, 2);
  return 1;
}

void virtio_raise(VirtioDev *d) {
  d->int_status |= 1;
  plic_set_irq(d->m->plic, d->irq, 1);
}

static void virtio_fail(VirtioDev *d, const char *why) {
  /* A broken ring is a guest bug: report it through DEVICE_NEEDS_RESET. */
  if (d->m->verbose) emu_log("virtio%d: %s\n", d->index, why);
  d->status |= 0x40;
  d->int_status |= 2;
  plic_set_irq(d->m->plic, d->irq, 1);
}

int virtq_has_avail(VirtioDev *d, int qn) {
  VirtQueue *q = &d->q[qn];
  uint16_t idx;
  if (!q->ready || !rd16(d, q->avail + 2, &idx)) return 0;
  return idx != q->last_avail;
}

/* Pops the next available chain into chain. Returns 1 if one was popped. */
int virtq_pop(VirtioDev *d, int qn, VirtChain *ch) {
  VirtQueue *q = &d->q[qn];
  uint16_t idx, head, flags, next;
  if (!q->ready || !rd16(d, q->avail + 2, &idx) || idx == q->last_avail) return 0;
  if (!rd16(d, q->avail + 4 + 2 * (uint64_t)(q->last_avail % q->num), &head)) return 0;
  q->last_avail++;
  memset(ch, 0, sizeof(*ch));
  ch->head = head;
  uint16_t cur = head;
  for (int n = 0; n < (int)q->num; n++) {
    if (cur >= q->num) { virtio_fail(d, "descriptor index out of range"); return 0; }
    uint8_t *desc = gptr(d, q->desc + 16 * (uint64_t)cur, 16);
    if (!desc) { virtio_fail(d, "descriptor table outside RAM"); return 0; }
    uint64_t addr; uint32_t len;
    memcpy(&addr, desc, 8); memcpy(&len, desc + 8, 4);
    memcpy(&flags, desc + 12, 2); memcpy(&next, desc + 14, 2);
    uint8_t *buf = gptr(d, addr, len);
    if (!buf || ch->n >= VIRTQ_MAX_SEG) { virtio_fail(d, "bad descriptor buffer"); return 0; }
    VirtSeg *s = &ch->seg[ch->n++];
    s->p = buf; s->len = len; s->writable = (flags & 2) != 0;
    if (s->writable) ch->wlen += len; else ch->rlen += len;
    if (!(flags & 1)) return 1;
    cur = next;
  }
  virtio_fail(d, "descriptor loop");
  return 0;
}

void virtq_push(VirtioDev *d, int qn, const VirtChain *ch, uint32_t written) {
  VirtQueue *q = &d->q[qn];
  uint16_t idx;
  if (!rd16(d, q->used + 2, &idx)) return;
  uint8_t *e = gptr(d, q->used + 4 + 8 * (uint64_t)(idx % q->num), 8);
  uint8_t *pidx = gptr(d, q->used + 2, 2);
  if (!e || !pidx) return;
  uint32_t id = ch->head;
  memcpy(e, &id, 4); memcpy(e + 4, &written, 4);
  idx++;
  memcpy(pidx, &idx, 2);
  virtio_raise(d);
}

/* Copies the device-readable bytes of a chain into out (at most cap). */
size_t chain_read(const VirtChain *ch, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (int k = 0; k < ch->n && n < cap; k++) {
    if (ch->seg[k].writable) continue;
    size_t m = ch->seg[k].len;
    if (m > cap - n) m = cap - n;
    memcpy(out + n, ch->seg[k].p, m);
    n += m;
  }
  return n;
}

/* Copies data into the device-writable buffers of a chain; returns bytes copied. */
size_t chain_write(const VirtChain *ch, const uint8_t *data, size_t len) {
  size_t n = 0;
  for (int k = 0; k < ch->n && n < len; k++) {
    if (!ch->seg[k].writable) continue;
    size_t m = ch->seg[k].len;
    if (m > len - n) m = len - n;
    memcpy(ch->seg[k].p, data + n, m);
    n += m;
  }
  return n;
}

/* ---- MMIO register file ---- */
static int mmio_read(void *opaque, uint64_t off, int size, uint64_t *val) {
  VirtioDev *d = opaque;
  VirtQueue *q = &d->q[d->queue_sel < VIRTQ_MAX ? d->queue_sel : 0];
  if (off >= 0x100) {
    uint64_t v = 0;
    if (off - 0x100 + (uint64_t)size <= sizeof(d->config)) memcpy(&v, d->config + (off - 0x100), (size_t)size);
    *val = v;
    return 1;
  }
  if (size != 4) return 0;
  switch (off) {
  case 0x000: *val = 0x74726976; break;
  case 0x004: *val = 2; break;
  case 0x008: *val = d->device_id; break;
  case 0x00c: *val = 0x4332574a; break; /* "JW2C" */
  case 0x010: *val = d->feat_sel == 0 ? (uint32_t)d->features : d->feat_sel == 1 ? (uint32_t)(d->features >> 32) : 0; break;
  case 0x034: *val = d->queue_sel < (uint32_t)d->nq ? VIRTQ_NUM_MAX : 0; break;
  case 0x044: *val = q->ready; break;
  case 0x060: *val = d->int_status; break;
  case 0x070: *val = d->status; break;
  case 0x0fc: *val = d->config_gen; break;
  default: *val = 0; break;
  }
  return 1;
}

static void virtio_reset(VirtioDev *d) {
  d->status = 0; d->int_status = 0; d->drv_features = 0; d->queue_sel = 0;
  memset(d->q, 0, sizeof(d->q));
  plic_set_irq(d->m->plic, d->irq, 0);
  if (d->on_reset) d->on_reset(d);
}

static void set_lo(uint64_t *r, uint64_t v) { *r = (*r & ~0xffffffffULL) | (uint32_t)v; }
static void set_hi(uint64_t *r, uint64_t v) { *r = (*r & 0xffffffffULL) | (v << 32); }

static void queue_write(VirtioDev *d, uint64_t off, uint64_t val) {
  if (d->queue_sel >= (uint32_t)d->nq) return;
  VirtQueue *q = &d->q[d->queue_sel];
  switch (off) {
  case 0x038: if (val && val <= VIRTQ_NUM_MAX && !(val & (val - 1))) q->num = (uint32_t)val; break;
  case 0x044: q->ready = val & 1; if (q->ready && !q->num) q->num = VIRTQ_NUM_MAX; break;
  case 0x080: set_lo(&q->desc, val); break;
  case 0x084: set_hi(&q->desc, val); break;
  case 0x090: set_lo(&q->avail, val); break;
  case 0x094: set_hi(&q->avail, val); break;
  case 0x0a0: set_lo(&q->used, val); break;
  case 0x0a4: set_hi(&q->used, val); break;
  }
}

static int mmio_write(void *opaque, uint64_t off, int size, uint64_t val) {
  VirtioDev *d = opaque;
  if (off >= 0x100) {
    if (d->config_write) d->config_write(d, off - 0x100, size, val);
    return 1;
  }
  if (size != 4) return 0;
  switch (off) {
  case 0x014: d->feat_sel = (uint32_t)val; break;
  case 0x020:
    if (d->drv_feat_sel == 0) set_lo(&d->drv_features, val);
    else if (d->drv_feat_sel == 1) set_hi(&d->drv_features, val);
    break;
  case 0x024: d->drv_feat_sel = (uint32_t)val; break;
  case 0x030: d->queue_sel = (uint32_t)val; break;
  case 0x050:
    if (val < (uint64_t)d->nq && d->q[val].ready && d->notify) d->notify(d, (int)val);
    break;
  case 0x064:
    d->int_status &= ~(uint32_t)val;
    if (!d->int_status) plic_set_irq(d->m->plic, d->irq, 0);
    break;
  case 0x070:
    if (val == 0) virtio_reset(d);
    else d->status = (uint32_t)val;
    break;
  default: queue_write(d, off, val); break;
  }
  return 1;
}

VirtioDev *virtio_new(Machine *m, int index, int irq, uint32_t device_id, int nq) {
  VirtioDev *d = calloc(1, sizeof(VirtioDev));
  if (!d) return 0;
  d->m = m; d->index = index; d->irq = irq; d->device_id = device_id; d->nq = nq;
  d->features = 1ULL << 32; /* VIRTIO_F_VERSION_1 */
  machine_add_mmio(m, VIRTIO_BASE + VIRTIO_STRIDE * (uint64_t)index, VIRTIO_STRIDE, d, mmio_read, mmio_write);
  if (g_ndevs < VIRTIO_MAX) g_devs[g_ndevs++] = d;
  return d;
}

/* ---- console ---- */
#define CONS_BUF 4096
typedef struct {
  uint8_t in[CONS_BUF];
  size_t in_head, in_len;
  int active; /* the guest writes its console output here (not via SBI) */
} ConsoleState;

static void console_tx(VirtioDev *d) {
  VirtChain ch;
  while (virtq_pop(d, 1, &ch)) {
    if (ch.rlen) ((ConsoleState *)d->priv)->active = 1;
    for (int k = 0; k < ch.n; k++)
      if (!ch.seg[k].writable) host_console_write(ch.seg[k].p, ch.seg[k].len);
    virtq_push(d, 1, &ch, 0);
  }
}

/* Input goes to the virtio console once the guest uses it for output;
 * until then it stays queued for SBI getchar (console=hvc0 on SBI). */
static void console_rx(VirtioDev *d) {
  ConsoleState *s = d->priv;
  VirtChain ch;
  while (s->active && s->in_len && virtq_has_avail(d, 0)) {
    if (!virtq_pop(d, 0, &ch)) return;
    uint8_t tmp[CONS_BUF];
    size_t n = s->in_len;
    if (n > ch.wlen) n = ch.wlen;
    for (size_t k = 0; k < n; k++) tmp[k] = s->in[(s->in_head + k) % CONS_BUF];
    size_t w = chain_write(&ch, tmp, n);
    s->in_head = (s->in_head + w) % CONS_BUF;
    s->in_len -= w;
    virtq_push(d, 0, &ch, (uint32_t)w);
  }
}

static void console_notify(VirtioDev *d, int q) {
  if (q == 1) console_tx(d);
  else console_rx(d);
}

/* Reads what stdin has now into the console buffer (shared with SBI getchar). */
static ConsoleState g_cons_nodev;
static ConsoleState *cons_state(void) {
  return g_virtio_console ? (ConsoleState *)g_virtio_console->priv : &g_cons_nodev;
}
static void console_fill(Machine *m) {
  ConsoleState *s = cons_state();
  if (m->console_eof || s->in_len == CONS_BUF || !host_console_readable()) return;
  uint8_t tmp[CONS_BUF];
  int n = host_console_read(tmp, CONS_BUF - s->in_len);
  if (n == 0) { m->console_eof = 1; return; }
  for (int k = 0; k < n; k++) s->in[(s->in_head + s->in_len + (size_t)k) % CONS_BUF] = tmp[k];
  if (n > 0) s->in_len += (size_t)n;
}

int console_getchar(Machine *m) {
  ConsoleState *s = cons_state();
  console_fill(m);
  if (!s->in_len) return -1;
  int ch = s->in[s->in_head];
  s->in_head = (s->in_head + 1) % CONS_BUF;
  s->in_len--;
  return ch;
}

VirtioDev *virtio_console_new(Machine *m, int index, int irq) {
  VirtioDev *d = virtio_new(m, index, irq, 3, 2);
  if (!d) return 0;
  d->priv = calloc(1, sizeof(ConsoleState));
  d->notify = console_notify;
  g_virtio_console = d;
  return d;
}

/* ---- entropy ---- */
static void rng_notify(VirtioDev *d, int q) {
  VirtChain ch;
  (void)q;
  while (virtq_pop(d, 0, &ch)) {
    uint32_t total = 0;
    for (int k = 0; k < ch.n; k++) {
      if (!ch.seg[k].writable) continue;
      for (uint32_t off = 0; off < ch.seg[k].len; off += 256) {
        uint32_t n = ch.seg[k].len - off > 256 ? 256 : ch.seg[k].len - off;
        if (getentropy(ch.seg[k].p + off, n) != 0) {
          emu_log("emulator: getentropy failed\n");
          exit(1);
        }
        total += n;
      }
    }
    virtq_push(d, 0, &ch, total);
  }
}

VirtioDev *virtio_rng_new(Machine *m, int index, int irq) {
  VirtioDev *d = virtio_new(m, index, irq, 4, 1);
  if (d) d->notify = rng_notify;
  return d;
}

/* Called from the main loop: moves host input into the guest. */
void virtio_poll(Machine *m) {
  console_fill(m);
  if (g_virtio_console) console_rx(g_virtio_console);
  for (int k = 0; k < g_ndevs; k++)
    if (g_devs[k]->poll) g_devs[k]->poll(g_devs[k]);
}

int virtio_count(void) { return g_ndevs; }
