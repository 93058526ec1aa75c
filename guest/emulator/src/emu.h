/* c2w-java guest emulator: RISC-V 64 system emulator (shared declarations). */
#ifndef C2W_EMU_H
#define C2W_EMU_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/* keeps request handlers out of their dispatcher (Wasm function size limit) */
#define NOINLINE __attribute__((noinline))

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

/* ---- machine memory map (QEMU virt-like) ---- */
#define RAM_BASE 0x80000000ULL
#define KERNEL_OFFSET 0x200000ULL
#define PLIC_BASE 0x0c000000ULL
#define PLIC_SIZE 0x00400000ULL
#define VIRTIO_BASE 0x10001000ULL
#define VIRTIO_STRIDE 0x1000ULL
#define VIRTIO_MAX 24
#define TIMEBASE_HZ 10000000ULL
/* c2w exit device: a 32-bit write of status S at offset 0 ends the emulator
 * with exit status S & 0xff (used by init to report the command's status) */
#define EXITDEV_BASE 0x00100000ULL
#define EXITDEV_SIZE 0x1000ULL

/* ---- privilege levels ---- */
#define PRV_U 0
#define PRV_S 1

/* ---- exception causes ---- */
#define EXC_INSN_MISALIGNED 0
#define EXC_INSN_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_S 9
#define EXC_INSN_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

#define IRQ_SSI 1
#define IRQ_STI 5
#define IRQ_SEI 9

/* sstatus bits */
#define SST_SIE (1ULL << 1)
#define SST_SPIE (1ULL << 5)
#define SST_SPP (1ULL << 8)
#define SST_FS (3ULL << 13)
#define SST_SUM (1ULL << 18)
#define SST_MXR (1ULL << 19)
#define SST_UXL (2ULL << 32)
#define SST_SD (1ULL << 63)

/* access kinds for translation */
#define ACC_READ 0
#define ACC_WRITE 1
#define ACC_FETCH 2

typedef struct Cpu Cpu;
typedef struct Insn Insn;
/* A handler gets the instruction's pc and returns the next pc. Simple
 * handlers never touch c->pc (it is only written back at slice end); any
 * handler that can trap stores pc into c->pc first (see SLOW_OP). */
typedef uint64_t (*OpFn)(Cpu *c, const Insn *i, uint64_t pc);

/* Defines op_NAME as a wrapper that publishes pc in c->pc, runs a body that
 * uses c->pc (and may raise exceptions), and returns c->pc. Only these
 * handlers can end a slice (END_SLICE); they say so in bit 0 of the
 * returned pc (pcs are even), so the run loop tests a register, not memory. */
#define SLOW_OP(name)                                                       \
  static void name##_body(Cpu *c, const Insn *i);                           \
  uint64_t op_##name(Cpu *c, const Insn *i, uint64_t pc) {                  \
    c->pc = pc;                                                             \
    name##_body(c, i);                                                      \
    return c->pc | (uint64_t)c->stop;                                       \
  }                                                                         \
  static void name##_body(Cpu *c, const Insn *i)

/* One decoded instruction. Decoded code is kept in blocks (see cpu_exec.c):
 * straight-line runs of instructions within one guest page, keyed by the
 * physical address of their first instruction and trusted until the next
 * fence.i (RISC-V makes stores visible to instruction fetch only then). */
struct Insn {
  /* bytes 0-7: what the frequent handlers read, as one 64-bit load
   * (insn_word); bytes 4-11: what the block loop reads (insn_loop_word).
   * In the JVM runner every Wasm load is a bounds-checked call, so one
   * load and a few shifts beat four byte loads. */
  int32_t imm; /* also: CSR number | kind << 12, AMO funct5, FMA rm | rs3 << 3 */
  uint8_t rd, rs1, rs2;
  uint8_t len;
  uint16_t off; /* pc - pc of the block's first instruction */
  uint8_t op;   /* BOP_* (cpu_exec.c) */
  uint8_t pad;
  uint32_t raw;
  OpFn fn;
};

/* imm | rd << 32 | rs1 << 40 | rs2 << 48 | len << 56 (little-endian, as Wasm) */
static inline uint64_t insn_word(const Insn *i) {
  uint64_t w;
  memcpy(&w, i, 8);
  return w;
}
#define W_IMM(w) ((int64_t)(int32_t)(uint32_t)(w))
#define W_RD(w) ((uint32_t)((w) >> 32) & 0xff)
#define W_RS1(w) ((uint32_t)((w) >> 40) & 0xff)
#define W_RS2(w) ((uint32_t)((w) >> 48) & 0xff)
#define W_LEN(w) ((w) >> 56)
/* rd | rs1 << 8 | rs2 << 16 | len << 24 | off << 32 | op << 48 */
static inline uint64_t insn_loop_word(const Insn *i) {
  uint64_t w;
  memcpy(&w, &i->rd, 8);
  return w;
}
#define LW_LEN(w) (((w) >> 24) & 0xff)
#define LW_OFF(w) (((w) >> 32) & 0xffff)
#define LW_OP(w) ((uint32_t)((w) >> 48) & 0xff)

/* the instruction's own bits (stval of an illegal-instruction trap) */
#define INSN_BITS(i) ((i)->len == 2 ? ((i)->raw & 0xffff) : (i)->raw)

#define TLB_SIZE 256
typedef struct {
  uint64_t tag;    /* virtual page number + 1 (0 = invalid) */
  uint64_t addend; /* host address = va + addend */
} TlbEntry;

/* decoded-block cache: hash table of block starts, blocks in an arena */
#define BTAB_BITS 15
#define BTAB_SIZE (1u << BTAB_BITS)
#define BLOCK_MAX 64            /* instructions per block */
#define ARENA_INSNS (1u << 17)  /* Insn slots; full -> flush everything */
typedef struct {
  uint64_t tag; /* generation << 32 | RAM offset of the first instruction */
  Insn *ins;
} BlockEnt;

#define REG_SINK 32 /* writes to x0 go here */

struct Machine;

struct Cpu {
  uint64_t x[33];
  uint64_t f[32];
  uint64_t pc;
  int priv;
  /* slice control (see cpu_run) */
  int stop;
  uint64_t insn_count; /* instructions run before the current block */
  /* fetch fast path (see fetch_invalidate): the page of the last fetch */
  uint64_t fetch_page;  /* page-aligned va */
  uint8_t *fetch_base;  /* its host address */
  uint32_t fetch_key;   /* its RAM offset (FETCH_KEY_INVALID when none) */
  /* CSRs */
  uint64_t sstatus, sie, sip, stvec, sscratch, sepc, scause, stval, satp;
  uint64_t scounteren, senvcfg;
  uint32_t fflags, frm;
  uint64_t stimecmp; /* deadline set by SBI set_timer, in timebase ticks */
  int wfi;
  uint64_t ld_val; /* value of a load's slow path (cpu_exec.c) */
  /* LR/SC */
  uint64_t resv_addr;
  int resv_valid;
  /* TLBs per privilege level */
  TlbEntry tlb_r[2][TLB_SIZE];
  TlbEntry tlb_w[2][TLB_SIZE];
  TlbEntry tlb_x[2][TLB_SIZE];
  /* decoded blocks (cpu_exec.c) */
  BlockEnt *btab;
  Insn *arena;
  uint32_t arena_used;
  uint32_t bgen; /* generation: bumping it drops every block */
  Insn scratch[2]; /* a page-straddling instruction + end marker */
  uint64_t block_flushes;
  struct Machine *m;
  /* set when the guest asked to stop (SBI reset) */
  int halted;
  int exit_code;
};

/* ---- memory-mapped device interface ---- */
typedef struct {
  uint64_t base, size;
  void *opaque;
  int (*read)(void *opaque, uint64_t off, int size, uint64_t *val);
  int (*write)(void *opaque, uint64_t off, int size, uint64_t val);
} MmioRegion;

#define MMIO_MAX 32

typedef struct Machine {
  Cpu cpu;
  uint8_t *ram;
  uint64_t ram_size;
  MmioRegion mmio[MMIO_MAX];
  int n_mmio;
  struct Plic *plic;
  uint64_t time_origin_ns;
  int console_eof;
  int verbose;
} Machine;

/* End the current run slice after this instruction (keeps counts exact). */
#define END_SLICE(c) ((c)->stop = 1)
#define FETCH_INVALID 0x0000800000000000ULL
#define FETCH_KEY_INVALID 0xfffff000u
void fetch_invalidate(Cpu *c);
void blocks_flush(Cpu *c); /* fence.i: forget all decoded code */

/* util.c: printf-free formatting (stderr) */
void emu_log(const char *fmt, ...);
int emu_snprintf(char *buf, size_t cap, const char *fmt, ...);

/* cpu_exec.c */
int64_t cpu_run(Cpu *c, int64_t n);
extern int cpu_dispatch_calls; /* 1: run_calls (--dispatch=calls), 0: run_inline */
void cpu_reset(Cpu *c, Machine *m, uint64_t pc);

/* decode.c / decode_c.c */
void decode(uint32_t raw, Insn *d);
void decode_c(uint32_t raw, Insn *d);
void decode_fp(uint32_t raw, Insn *d);

/* trap.c */
void raise_exception(Cpu *c, uint64_t cause, uint64_t tval);
int check_interrupts(Cpu *c);
void take_interrupt(Cpu *c, int irq);
int csr_read(Cpu *c, int csr, uint64_t *val);
int csr_write(Cpu *c, int csr, uint64_t val);
void sbi_call(Cpu *c);
void tlb_flush(Cpu *c);
uint64_t machine_time(Machine *m);
uint64_t machine_time_at(Machine *m, uint64_t now_ns);
void cpu_update_timer_irq(Cpu *c);
void cpu_update_timer_irq_at(Cpu *c, uint64_t now_ns);

/* mem.c */
int mem_load_slow(Cpu *c, uint64_t va, int size, uint64_t *out);
int mem_store_slow(Cpu *c, uint64_t va, int size, uint64_t val);
int64_t fetch_slow(Cpu *c); /* raw bits at pc, or -1 after raising a fault */
int translate(Cpu *c, uint64_t va, int acc, uint64_t *pa, int fill_tlb);
uint8_t *phys_ram_ptr(Machine *m, uint64_t pa, uint64_t len);
int phys_read(Machine *m, uint64_t pa, int size, uint64_t *val);
int phys_write(Machine *m, uint64_t pa, int size, uint64_t val);
void machine_add_mmio(Machine *m, uint64_t base, uint64_t size, void *opaque,
                      int (*rd)(void *, uint64_t, int, uint64_t *),
                      int (*wr)(void *, uint64_t, int, uint64_t));

/* Fast-path loads and stores: RAM pages found in the TLB are accessed
 * directly; everything else goes through the slow path. */
static inline TlbEntry *tlb_slot(TlbEntry *t, uint64_t va) {
  return &t[(va >> 12) & (TLB_SIZE - 1)];
}

/* Entry e maps the page of va and the SIZE bytes at va stay in that page.
 * One test instead of two: the JVM runner (Chicory) makes every Wasm
 * comparison a helper call, and fewer calls keep more inlining budget. */
static inline int tlb_hit(const TlbEntry *e, uint64_t va, int size) {
  uint64_t pn = va >> 12;
  return (((e->tag - 1) ^ pn) | (((va + (uint64_t)size - 1) >> 12) ^ pn)) == 0;
}

/* pc: published to c->pc before the slow path (which may trap). Returns 0
 * after a trap, 1 on success, 2 on success when the access (MMIO) ended the
 * slice. */
#define DEFINE_LOAD(NAME, TYPE, SIZE)                                        \
  static inline int NAME##_pc(Cpu *c, uint64_t va, uint64_t *out, uint64_t pc) { \
    TlbEntry *e = tlb_slot(c->tlb_r[c->priv], va);                           \
    if (LIKELY(tlb_hit(e, va, SIZE))) {                                      \
      TYPE v;                                                                \
      memcpy(&v, (void *)(uintptr_t)(va + e->addend), SIZE);                 \
      *out = (uint64_t)v;                                                    \
      return 1;                                                              \
    }                                                                        \
    c->pc = pc; /* out does not escape: no Wasm shadow-stack slot for it */  \
    if (!mem_load_slow(c, va, SIZE, &c->ld_val)) return 0;                   \
    *out = c->ld_val;                                                        \
    return 1 + c->stop;                                                      \
  }                                                                          \
  static inline int NAME(Cpu *c, uint64_t va, uint64_t *out) {               \
    return NAME##_pc(c, va, out, c->pc);                                     \
  }
DEFINE_LOAD(ld_u8, uint8_t, 1)
DEFINE_LOAD(ld_u16, uint16_t, 2)
DEFINE_LOAD(ld_u32, uint32_t, 4)
DEFINE_LOAD(ld_u64, uint64_t, 8)

#define DEFINE_STORE(NAME, TYPE, SIZE)                                       \
  static inline int NAME##_pc(Cpu *c, uint64_t va, uint64_t val, uint64_t pc) { \
    TlbEntry *e = tlb_slot(c->tlb_w[c->priv], va);                           \
    if (LIKELY(tlb_hit(e, va, SIZE))) {                                      \
      TYPE v = (TYPE)val;                                                    \
      memcpy((void *)(uintptr_t)(va + e->addend), &v, SIZE);                 \
      return 1;                                                              \
    }                                                                        \
    c->pc = pc;                                                              \
    return mem_store_slow(c, va, SIZE, val) ? 1 + c->stop : 0;               \
  }                                                                          \
  static inline int NAME(Cpu *c, uint64_t va, uint64_t val) {                \
    return NAME##_pc(c, va, val, c->pc);                                     \
  }
DEFINE_STORE(st_u8, uint8_t, 1)
DEFINE_STORE(st_u16, uint16_t, 2)
DEFINE_STORE(st_u32, uint32_t, 4)
DEFINE_STORE(st_u64, uint64_t, 8)

/* plic.c */
struct Plic *plic_new(Machine *m, int ndev);
void plic_set_irq(struct Plic *p, int irq, int level);

/* fdt.c; info (may be NULL) becomes /chosen/c2w,info */
size_t fdt_build(Machine *m, uint8_t *out, size_t cap, const char *bootargs,
                 uint64_t initrd_start, uint64_t initrd_end, int n_virtio,
                 const char *isa, const char *info);

/* info.c: the run configuration for the guest's init (see info.c) */
#define INFO_MAX 32768
typedef struct {
  uint64_t unix_time;
  const uint8_t *mac; /* NULL: no network */
  const char *const *env;
  int n_env;
  char *const *entrypoint, *const *args;
  int n_entrypoint, n_args;
  const char *const *mount_tag, *const *mount_path;
  int n_mounts;
} RunInfo;
size_t info_build(char *out, size_t cap, const RunInfo *ri); /* 0: does not fit */

/* host.c: host services (console, clock, sleep) */
uint64_t host_now_ns(void);
void host_console_write(const uint8_t *buf, size_t len); /* buffered */
void host_console_flush(void);
int host_console_read(uint8_t *buf, size_t len); /* -1: nothing now, 0: EOF */
int host_console_readable(void);
void host_wait(uint64_t timeout_ns, int watch_stdin);

/* console (SBI legacy getchar uses a small input queue) */
int console_getchar(Machine *m);

/* virtio.c */
struct VirtioDev;
struct VirtioDev *virtio_console_new(Machine *m, int index, int irq);
struct VirtioDev *virtio_rng_new(Machine *m, int index, int irq);
void virtio_poll(Machine *m);
extern struct VirtioDev *g_virtio_console;

#endif
