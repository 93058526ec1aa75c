/* Test harness for bare-metal S-mode test programs (loaded at 0x80200000,
 * a0 = hart id, a1 = device tree). The same binaries run in our emulator and
 * in qemu-system-riscv64 -M virt with OpenSBI, so only SBI is used:
 *   putchar: legacy SBI 0x01; pass: SRST shutdown reason 0;
 *   fail: prints "FAIL <n>", tries the c2w exit extension (exit code n),
 *   then SRST shutdown with reason "system failure". gp holds the test number. */
.option nopic
#define SBI_SRST 0x53525354
#define SBI_C2W 0x0A000C2A

#define TEST_BEGIN                  \
  .section .text.init, "ax";        \
  .globl _start;                    \
  _start:                           \
  la sp, stack_top;                 \
  la t0, unexpected_trap;           \
  csrw stvec, t0;                   \
  li gp, 0;

/* Loads v1,v2 into a1,a2, runs "op a3,a1,a2", compares a3 with expected. */
#define TEST_RR(n, op, expected, v1, v2) \
  li gp, n; li a1, v1; li a2, v2; op a3, a1, a2; li t6, expected; bne a3, t6, fail;
#define TEST_RI(n, op, expected, v1, imm) \
  li gp, n; li a1, v1; op a3, a1, imm; li t6, expected; bne a3, t6, fail;
#define TEST_EQ(n, reg, expected) \
  li gp, n; li t6, expected; bne reg, t6, fail;

/* Jumps to label unless running on our emulator (SBI implementation id
 * 0xC2A): for checks of behaviour that OpenSBI in M-mode changes. */
#define SKIP_UNLESS_C2W(label) \
  li a7, 0x10; li a6, 1; ecall; li t6, 0xC2A; bne a1, t6, label;

#define PUTS(label) la a0, label; call puts

#define TEST_END                    \
  pass:                             \
  PUTS(msg_pass);                   \
  li a7, SBI_SRST; li a6, 0;        \
  li a0, 0; li a1, 0; ecall;        \
  1: j 1b;                          \
  fail:                             \
  PUTS(msg_fail);                   \
  mv a0, gp; call puthex;           \
  li a0, '\n'; li a7, 1; ecall;     \
  mv a0, gp; li a7, SBI_C2W;        \
  li a6, 0; ecall;                  \
  li a7, SBI_SRST; li a6, 0;        \
  li a0, 0; li a1, 1; ecall;        \
  2: j 2b;                          \
  .align 2;                         \
  unexpected_trap:                  \
  PUTS(msg_trap);                   \
  csrr a0, scause; call puthex;     \
  li a0, ' '; li a7, 1; ecall;      \
  csrr a0, sepc; call puthex;       \
  li a0, ' '; li a7, 1; ecall;      \
  csrr a0, stval; call puthex;      \
  li a0, '\n'; li a7, 1; ecall;     \
  j fail;                           \
  puts:                             \
  mv t0, a0;                        \
  3: lbu a0, 0(t0);                 \
  beqz a0, 4f;                      \
  li a7, 1; ecall;                  \
  addi t0, t0, 1; j 3b;             \
  4: ret;                           \
  puthex:                           \
  mv t0, a0; li t1, 60;             \
  5: srl a0, t0, t1; andi a0, a0, 15; \
  li t2, 10; blt a0, t2, 6f;        \
  addi a0, a0, 'a' - 10 - '0';      \
  6: addi a0, a0, '0';              \
  li a7, 1; ecall;                  \
  addi t1, t1, -4; bgez t1, 5b;     \
  ret;                              \
  .section .rodata;                 \
  msg_pass: .asciz "PASS\n";        \
  msg_fail: .asciz "FAIL ";         \
  msg_trap: .asciz "unexpected trap ";  \
  .section .bss;                    \
  .align 4;                         \
  .space 8192;                      \
  stack_top:;
