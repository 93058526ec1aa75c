#include "test.h"
/* traps, U-mode, CSR privilege, interrupts (software and timer), wfi */
#define SET_TRAP(label) la t0, label; csrw stvec, t0
#define TO_USER(label) la t0, label; csrw sepc, t0; li t0, 0x100; csrc sstatus, t0; sret
TEST_BEGIN
  /* ebreak */
  li gp, 1; SET_TRAP(t1h); ebreak; j fail
  .align 2
t1h: csrr t0, scause; li t1, 3; bne t0, t1, fail
  /* access fault on unmapped physical address */
  /* (OpenSBI does not delegate access faults to S-mode: ours only) */
  SKIP_UNLESS_C2W(t2done)
  li gp, 2; SET_TRAP(t2h); li a0, 0x100000000; ld a1, 0(a0); j fail
  .align 2
t2h: csrr t0, scause; li t1, 5; bne t0, t1, fail
  csrr t0, stval; li t1, 0x100000000; bne t0, t1, fail
t2done:
  /* ecall from U-mode; SPP cleared by the trap from U */
  li gp, 3; SET_TRAP(t3h); TO_USER(u3)
u3: ecall
  j fail
  .align 2
t3h: csrr t0, scause; li t1, 8; bne t0, t1, fail
  csrr t0, sepc; la t1, u3; bne t0, t1, fail
  csrr t0, sstatus; andi t0, t0, 0x100; bnez t0, fail
  /* U-mode reading an S CSR is illegal */
  li gp, 4; SET_TRAP(t4h); TO_USER(u4)
u4: csrr a0, sstatus
  j fail
  .align 2
t4h: csrr t0, scause; li t1, 2; bne t0, t1, fail
  /* U-mode sret is illegal */
  li gp, 5; SET_TRAP(t5h); TO_USER(u5)
u5: sret
  j fail
  .align 2
t5h: csrr t0, scause; li t1, 2; bne t0, t1, fail
  /* U-mode rdcycle with scounteren=0 is illegal */
  li gp, 6; csrw scounteren, zero; SET_TRAP(t6h); TO_USER(u6)
u6: rdcycle a0
  j fail
  .align 2
t6h: csrr t0, scause; li t1, 2; bne t0, t1, fail
  /* FP instructions are illegal while sstatus.FS is Off */
  li gp, 12; li t0, 0x6000; csrc sstatus, t0; SET_TRAP(t12h)
  fadd.d fa0, fa0, fa0
  j fail
  .align 2
t12h: csrr t0, scause; li t1, 2; bne t0, t1, fail
  li gp, 13; li t0, 0x2000; csrs sstatus, t0; SET_TRAP(unexpected_trap)
  fadd.d fa0, fa0, fa0
  csrr t0, sstatus; srli t0, t0, 13; andi t0, t0, 3; li t1, 3; bne t0, t1, fail  /* now Dirty */
  csrr t0, sstatus; bgez t0, fail                                              /* SD set */
  /* sret restores SIE from SPIE and returns to S when SPP=1 */
  li gp, 7; li t0, 0x100; csrs sstatus, t0; li t0, 0x20; csrs sstatus, t0
  la t0, s7; csrw sepc, t0; sret; j fail
s7: csrr t0, sstatus; andi t1, t0, 2; beqz t1, fail
  csrci sstatus, 2
  /* software interrupt: pending but masked until SIE is set */
  li gp, 8; SET_TRAP(t8h); li s1, 0
  li t0, 2; csrs sie, t0; csrs sip, t0
  bnez s1, fail
  csrsi sstatus, 2
  nop
  li t0, 1; bne s1, t0, fail
  j 9f
  .align 2
t8h: csrr t0, scause; li t1, 0x8000000000000001; bne t0, t1, fail
  li t0, 2; csrc sip, t0; li s1, 1; sret
9:
  /* vectored mode: interrupt cause 1 goes to base + 4 */
  li gp, 9; csrci sstatus, 2; la t0, vtab; ori t0, t0, 1; csrw stvec, t0
  li s1, 0; li t0, 2; csrs sip, t0; csrsi sstatus, 2; nop
  li t0, 1; bne s1, t0, fail
  csrci sstatus, 2; li t0, 2; csrc sie, t0
  j 10f
  .align 2
  .option push
  .option norvc
vtab: j fail
  j v1
  j fail
  .option pop
v1: li t0, 2; csrc sip, t0; li s1, 1; sret
10:
  /* timer interrupt through SBI set_timer, waiting in wfi */
  li gp, 10; SET_TRAP(t10h); li s1, 0
  li t0, 0x20; csrs sie, t0
  rdtime a0; addi a0, a0, 1000; li a7, 0x54494D45; li a6, 0; ecall
  /* race-free wait: wfi with SIE off wakes on the pending interrupt, which
     is then taken when SIE is set */
11: csrci sstatus, 2
  bnez s1, 12f
  wfi
  csrsi sstatus, 2
  j 11b
12:
  /* the timer is idle again: STIP is clear */
  csrr t0, sip; andi t0, t0, 0x20; bnez t0, fail
  j pass
  .align 2
t10h: csrr t0, scause; li t1, 0x8000000000000005; bne t0, t1, fail
  li a0, -1; li a7, 0x54494D45; li a6, 0; ecall
  li s1, 1; sret
TEST_END
