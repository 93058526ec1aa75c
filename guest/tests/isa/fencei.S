#include "test.h"
/* Code written by stores runs after fence.i (and after SBI remote fence.i):
 * the emulator keeps decoded code until then. Also: one virtual page
 * remapped (sfence.vma only) to another physical page runs that page's
 * code, and one physical page seen through two virtual pages. */
#define LI_A0(v) (((v) << 20) | (10 << 7) | 0x13) /* addi a0, x0, v */
#define RET 0x00008067                             /* jalr x0, 0(ra) */
#define C_LI_A0(v) (0x4000 | (10 << 7) | ((v) << 2) | 1) /* c.li a0, v (0..31) */
#define C_RET 0x8082                               /* c.jr ra */
#define PTE(reg, label, flags) la reg, label; srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
#define CHECK_A0(v) li t6, v; bne a0, t6, fail
TEST_BEGIN
  /* 1: write code, fence.i, run it */
  li gp, 1; la s0, buf
  li t0, LI_A0(1); sw t0, 0(s0); li t0, RET; sw t0, 4(s0)
  fence.i; jalr s0; CHECK_A0(1)
  /* 2: rewrite the same instruction, fence.i, run it again */
  li gp, 2; li t0, LI_A0(2); sw t0, 0(s0)
  fence.i; jalr s0; CHECK_A0(2)
  /* 3: rewrite, SBI RFENCE remote_fence_i (hart mask 1, base 0) */
  li gp, 3; li t0, LI_A0(3); sw t0, 0(s0)
  li a7, 0x52464E43; li a6, 0; li a0, 1; li a1, 0; ecall; bnez a0, fail
  jalr s0; CHECK_A0(3)
  /* 4: rewrite, legacy SBI remote fence.i (a0 = 0: all harts) */
  li gp, 4; li t0, LI_A0(4); sw t0, 0(s0)
  li a7, 5; li a0, 0; ecall
  jalr s0; CHECK_A0(4)
  /* 5: change an instruction further on in the running straight-line code */
  li gp, 5; la t1, 5f; li t0, LI_A0(5); sw t0, 0(t1)
  fence.i
  .option push
  .option norvc
5: li a0, 0 /* replaced by li a0, 5 before it runs */
  .option pop
  CHECK_A0(5)
  /* 6: compressed instructions written with 16-bit stores */
  li gp, 6; li t0, C_LI_A0(6); sh t0, 0(s0); li t0, C_RET; sh t0, 2(s0)
  fence.i; jalr s0; CHECK_A0(6)
  li gp, 7; li t0, C_LI_A0(7); sh t0, 0(s0)
  fence.i; jalr s0; CHECK_A0(7)
  /* 8: Sv39, virtual page 0x40000000 -> cpage0 (returns 8) */
  li gp, 8
  la s1, cpage0; li t0, LI_A0(8); sw t0, 0(s1); li t0, RET; sw t0, 4(s1)
  la s2, cpage1; li t0, LI_A0(9); sw t0, 0(s2); li t0, RET; sw t0, 4(s2)
  fence.i
  la s4, l2; la s5, l1; la s6, l0
  li t0, (0x80000 << 10) | 0xcf; sd t0, 16(s4)        /* 0x80000000 1G RWX AD */
  PTE(t0, l1, 1); sd t0, 8(s4)                        /* 0x40000000 -> l1 */
  PTE(t0, l0, 1); sd t0, 0(s5)                        /* -> l0 */
  PTE(t0, cpage0, 0x4b); sd t0, 0(s6)                 /* +0x0000 -> cpage0, RX A */
  PTE(t0, cpage0, 0x4b); sd t0, 8(s6)                 /* +0x1000 -> cpage0 too */
  srli t0, s4, 12; li t1, 8 << 60; or t0, t0, t1; csrw satp, t0; sfence.vma
  li s3, 0x40000000; jalr s3; CHECK_A0(8)
  /* 9: remap the virtual page to cpage1 (no fence.i): its code runs */
  li gp, 9; PTE(t0, cpage1, 0x4b); sd t0, 0(s6); sfence.vma
  jalr s3; CHECK_A0(9)
  /* 10: the second virtual page still shows cpage0 */
  li gp, 10; li t0, 0x1000; add t0, t0, s3; jalr t0; CHECK_A0(8)
  /* 11: back to cpage0 */
  li gp, 11; PTE(t0, cpage0, 0x4b); sd t0, 0(s6); sfence.vma
  jalr s3; CHECK_A0(8)
  csrw satp, zero; sfence.vma
  j pass
TEST_END
  .section .bss
  .align 12
buf: .space 4096
cpage0: .space 4096
cpage1: .space 4096
l2: .space 4096
l1: .space 4096
l0: .space 4096
