#include "test.h"
/* Sv39: gigapage identity map for the test image, 4K pages at 0x40000000 */
#define PTE(reg, label, flags) la reg, label; srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
#define SET_TRAP(label) la a5, label; csrw stvec, a5
TEST_BEGIN
  la s0, l2; la s1, l1; la s2, l0
  li t0, (0x80000 << 10) | 0xcf; sd t0, 16(s0)        /* 0x80000000 1G RWX AD */
  PTE(t0, l1, 1); sd t0, 8(s0)                        /* 0x40000000 -> l1 */
  PTE(t0, l0, 1); sd t0, 0(s1)                        /* -> l0 */
  PTE(t0, page0, 0xc7); sd t0, 0(s2)                  /* +0x0000 RW AD */
  PTE(t0, page1, 0x43); sd t0, 16(s2)                 /* +0x2000 R A */
  PTE(t0, page2, 0x07); sd t0, 24(s2)                 /* +0x3000 RW, no A/D */
  PTE(t0, page3, 0xd7); sd t0, 32(s2)                 /* +0x4000 RW U AD */
  PTE(t0, ucode, 0x5b); sd t0, 40(s2)                 /* +0x5000 RX U A */
  la t0, page0; li t1, 0x1111; sd t1, 0(t0)
  la t0, page1; li t1, 0x2222; sd t1, 0(t0)
  srli t0, s0, 12; li t1, 8 << 60; or t0, t0, t1; csrw satp, t0; sfence.vma
  li gp, 1; li s3, 0x40000000; ld t0, 0(s3); li t1, 0x1111; bne t0, t1, fail
  li gp, 2; li t1, 0x3333; sd t1, 8(s3); la t0, page0; ld t2, 8(t0); bne t1, t2, fail
  li gp, 3; SET_TRAP(t3h); li t0, 0x1000; add t0, t0, s3; ld t0, 0(t0); j fail
  .align 2
t3h: csrr t0, scause; li t1, 13; bne t0, t1, fail
  csrr t0, stval; li t1, 0x40001000; bne t0, t1, fail
  li gp, 4; li t0, 0x2000; add t0, t0, s3; ld t1, 0(t0); li t2, 0x2222; bne t1, t2, fail
  SET_TRAP(t4h); sd t1, 0(t0); j fail
  .align 2
t4h: csrr t0, scause; li t1, 15; bne t0, t1, fail
  /* hardware A/D update */
  li gp, 5; li t0, 0x3000; add t0, t0, s3; li t1, 5; sd t1, 0(t0)
  ld t1, 24(s2); andi t1, t1, 0xc0; li t2, 0xc0; bne t1, t2, fail
  /* SUM: S access to a U page */
  li gp, 6; SET_TRAP(t6h); li t0, 0x4000; add s4, s3, t0; ld t1, 0(s4); j fail
  .align 2
t6h: csrr t0, scause; li t1, 13; bne t0, t1, fail
  li gp, 7; SET_TRAP(unexpected_trap); li t0, 1 << 18; csrs sstatus, t0; ld t1, 0(s4); csrc sstatus, t0
  /* non-canonical address */
  li gp, 8; SET_TRAP(t8h); li t0, 0x0000004000000000; ld t1, 0(t0); j fail
  .align 2
t8h: csrr t0, scause; li t1, 13; bne t0, t1, fail
  /* remap + sfence.vma */
  li gp, 9; PTE(t0, page1, 0xc7); sd t0, 0(s2); sfence.vma; ld t1, 0(s3); li t2, 0x2222; bne t1, t2, fail
  /* U-mode: run code on a U page; it stores to the U data page and ecalls */
  li gp, 10; SET_TRAP(t10h); li t0, 0x5000; add t0, t0, s3; csrw sepc, t0
  li t0, 0x100; csrc sstatus, t0; sret
  .align 2
t10h: csrr t0, scause; li t1, 8; bne t0, t1, fail
  la t0, page3; ld t1, 0(t0); li t2, 0x5555; bne t1, t2, fail
  /* U-mode fetch from a supervisor page: instruction page fault */
  li gp, 11; SET_TRAP(t11h); la t0, pass; csrw sepc, t0; li t0, 0x100; csrc sstatus, t0; sret
  .align 2
t11h: csrr t0, scause; li t1, 12; bne t0, t1, fail
  /* U-mode load from a supervisor page: load page fault */
  li gp, 12; csrw satp, zero; sfence.vma
  j pass
TEST_END
  .section .text
  .align 12
ucode:
  li t1, 0x5555
  sd t1, 0(s4)
  ecall
  .align 12
  .section .bss
  .align 12
l2: .space 4096
l1: .space 4096
l0: .space 4096
page0: .space 4096
page1: .space 4096
page2: .space 4096
page3: .space 4096
