#include "test.h"
TEST_BEGIN
  la s0, data
  li gp, 1; c.li a0, -3; li t6, -3; bne a0, t6, fail
  li gp, 2; c.addi a0, 7; li t6, 4; bne a0, t6, fail
  li gp, 3; c.lui a1, 0xfffe1; li t6, 0xfffffffffffe1000; bne a1, t6, fail
  li gp, 4; li a0, 0x7fffffff; c.addiw a0, 1; li t6, -2147483648; bne a0, t6, fail
  li gp, 5; mv t0, sp; c.addi16sp sp, -64; addi t1, t0, -64; bne sp, t1, fail; c.addi16sp sp, 64
  li gp, 6; c.addi4spn a2, sp, 16; addi t1, sp, 16; bne a2, t1, fail
  li gp, 7; li a0, 0x80; c.srli a0, 3; li t6, 0x10; bne a0, t6, fail
  li gp, 8; li a0, -16; c.srai a0, 2; li t6, -4; bne a0, t6, fail
  li gp, 9; li a0, 0xff; c.andi a0, 0x0c; li t6, 0x0c; bne a0, t6, fail
  li gp, 10; li a0, 1; c.slli a0, 40; li t6, 0x10000000000; bne a0, t6, fail
  li gp, 11; li a0, 9; li a1, 4; c.sub a0, a1; li t6, 5; bne a0, t6, fail
  li gp, 12; li a0, 0xf0; li a1, 0xff; c.xor a0, a1; li t6, 0x0f; bne a0, t6, fail
  li gp, 13; li a0, 0xf0; li a1, 0x0f; c.or a0, a1; li t6, 0xff; bne a0, t6, fail
  li gp, 14; li a0, 0xf0; li a1, 0x3c; c.and a0, a1; li t6, 0x30; bne a0, t6, fail
  li gp, 15; li a0, 0x7fffffff; li a1, 1; c.addw a0, a1; li t6, -2147483648; bne a0, t6, fail
  li gp, 16; li a0, 0; li a1, 1; c.subw a0, a1; li t6, -1; bne a0, t6, fail
  li gp, 17; li a1, 42; c.mv a0, a1; li t6, 42; bne a0, t6, fail
  li gp, 18; li a0, 40; li a1, 2; c.add a0, a1; li t6, 42; bne a0, t6, fail
  /* loads and stores */
  li gp, 20; mv a1, s0; li a0, -5; c.sw a0, 4(a1); c.lw a2, 4(a1); li t6, -5; bne a2, t6, fail
  li gp, 21; li a0, 0x123456789; c.sd a0, 8(a1); c.ld a2, 8(a1); bne a2, a0, fail
  li gp, 22; mv t0, sp; mv sp, s0; li a0, 77; c.swsp a0, 16(sp); c.lwsp a3, 16(sp); li t6, 77; bne a3, t6, fail
  li gp, 23; li a0, 0x1122334455; c.sdsp a0, 24(sp); c.ldsp a3, 24(sp); bne a3, a0, fail; mv sp, t0
  /* control flow */
  li gp, 30; c.j 1f; j fail
1: li gp, 31; li a0, 0; c.beqz a0, 2f; j fail
2: li gp, 32; li a0, 1; c.bnez a0, 3f; j fail
3: li gp, 33; li a0, 1; c.beqz a0, fail; li a0, 0; c.bnez a0, fail
  li gp, 34; la a0, 4f; c.jr a0; j fail
4: li gp, 35; la a0, 5f; c.jalr a0
6: j 7f
5: la t0, 6b; bne ra, t0, fail; ret
7: li gp, 36; c.nop
  /* illegal: all-zero instruction traps with cause 2 */
  li gp, 40; la t0, ill_trap; csrw stvec, t0
  .half 0
  j fail
  .align 2
ill_trap:
  csrr t0, scause; li t1, 2; bne t0, t1, fail
  j pass
TEST_END
  .section .data
  .align 4
data: .space 64
