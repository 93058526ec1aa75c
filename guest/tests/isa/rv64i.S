#include "test.h"
TEST_BEGIN
  TEST_RR(1, add, 5, 2, 3)
  TEST_RR(2, add, 0, -1, 1)
  TEST_RR(3, sub, -1, 2, 3)
  TEST_RR(4, sll, 0x100, 1, 8)
  TEST_RR(5, sll, 0x8000000000000000, 1, 63)
  TEST_RR(6, sll, 2, 1, 65)
  TEST_RR(7, slt, 1, -5, 3)
  TEST_RR(8, slt, 0, 3, -5)
  TEST_RR(9, sltu, 0, -5, 3)
  TEST_RR(10, sltu, 1, 3, -5)
  TEST_RR(11, xor, 0xff00, 0xf0f0, 0x0ff0)
  TEST_RR(12, srl, 0x7fffffffffffffff, -1, 1)
  TEST_RR(13, sra, -1, -1, 1)
  TEST_RR(14, sra, -2, -8, 2)
  TEST_RR(15, or, 0xfff0, 0xf0f0, 0x0ff0)
  TEST_RR(16, and, 0x00f0, 0xf0f0, 0x0ff0)
  TEST_RR(17, addw, -2147483648, 0x7fffffff, 1)
  TEST_RR(18, subw, 0x7fffffff, -2147483648, 1)
  TEST_RR(19, sllw, -2147483648, 1, 31)
  TEST_RR(20, srlw, 1, 0x80000000, 31)
  TEST_RR(21, sraw, -1, 0x80000000, 31)
  TEST_RR(22, addw, 0, 0xffffffff00000000, 0)
  TEST_RI(30, addi, -2048, 0, -2048)
  TEST_RI(31, slti, 1, -1, 0)
  TEST_RI(32, sltiu, 1, 5, -1)
  TEST_RI(33, xori, -1, 0, -1)
  TEST_RI(34, ori, 0x7ff, 0, 0x7ff)
  TEST_RI(35, andi, 0x0f, 0xff, 0x0f)
  TEST_RI(36, slli, 0x8000000000000000, 1, 63)
  TEST_RI(37, srli, 1, 0x8000000000000000, 63)
  TEST_RI(38, srai, -1, 0x8000000000000000, 63)
  TEST_RI(39, addiw, -2147483648, 0x7fffffff, 1)
  TEST_RI(40, slliw, -2147483648, 1, 31)
  TEST_RI(41, srliw, 0x7fffffff, -1, 1)
  TEST_RI(42, sraiw, -1, 0x80000000, 31)
  /* x0 stays zero */
  li gp, 50; li t0, 5; add x0, t0, t0; bnez x0, fail
  /* lui / auipc */
  li gp, 51; lui t0, 0x80000; li t1, 0xffffffff80000000; bne t0, t1, fail
  li gp, 52
1: auipc t0, 0
  la t1, 1b
  bne t0, t1, fail
  /* jal / jalr link and target */
  li gp, 53
  jal t0, 2f
3: j fail
2: la t1, 3b
  bne t0, t1, fail
  li gp, 54
  la t1, 4f
  jalr t0, 1(t1)   /* bit 0 is cleared */
  j fail
4: la t2, 4b
  bne t1, t2, fail
  /* branches */
  li gp, 55; li t0, -1; li t1, 1
  blt t1, t0, fail
  bge t0, t1, fail
  bltu t0, t1, fail
  bgeu t1, t0, fail
  beq t0, t1, fail
  bne t0, t0, fail
  /* loads and stores, sign/zero extension, misaligned access */
  la s0, data
  li gp, 60; li t0, 0x8182838485868788; sd t0, 0(s0)
  lb t1, 0(s0); li t2, 0xffffffffffffff88; bne t1, t2, fail
  li gp, 61; lbu t1, 0(s0); li t2, 0x88; bne t1, t2, fail
  li gp, 62; lh t1, 0(s0); li t2, 0xffffffffffff8788; bne t1, t2, fail
  li gp, 63; lhu t1, 0(s0); li t2, 0x8788; bne t1, t2, fail
  li gp, 64; lw t1, 4(s0); li t2, 0xffffffff81828384; bne t1, t2, fail
  li gp, 65; lwu t1, 4(s0); li t2, 0x81828384; bne t1, t2, fail
  li gp, 66; ld t1, 0(s0); bne t1, t0, fail
  li gp, 67; ld t1, 1(s0); li t2, 0x0081828384858687; sb zero, 8(s0); ld t1, 1(s0); bne t1, t2, fail
  li gp, 68; li t0, 0x1234; sh t0, 3(s0); lhu t1, 3(s0); bne t0, t1, fail
  li gp, 69; sb t0, 15(s0); lbu t1, 15(s0); li t2, 0x34; bne t1, t2, fail
  li gp, 70; li t0, -1; sw t0, 8(s0); ld t1, 8(s0); li t2, 0x34000000ffffffff; bne t1, t2, fail
  /* fence, fence.i are accepted */
  fence
  fence.i
  /* csrs: time and instret advance */
  li gp, 80
  rdinstret t0; nop; nop; rdinstret t1; ble t1, t0, fail
  li gp, 81; csrw sscratch, t0; csrr t1, sscratch; bne t0, t1, fail
  j pass
TEST_END
  .section .data
  .align 3
data: .space 64
