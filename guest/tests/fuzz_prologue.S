/* Prologue for the robustness test: a trap handler that skips the faulting
 * halfword (or, when the trap came from outside the random area, jumps back
 * into it) and resets satp, then random instruction words follow (appended
 * by fuzz.py, 16 KiB). */
  .section .text.init, "ax"
  .globl _start
_start:
  la t0, handler
  csrw stvec, t0
  li t0, 0x2000          /* FS on: FP instructions execute too */
  csrs sstatus, t0
  j random_code
  .align 2
handler:
  csrw satp, zero
  la t0, handler
  csrw stvec, t0
  csrr t0, sepc
  addi t0, t0, 2
  la t1, random_code
  sub t2, t0, t1
  li t3, 0x4000
  bltu t2, t3, 1f
  li t4, 0x3ffc           /* outside: somewhere inside the random area */
  and t2, t0, t4
  add t0, t1, t2
1: csrw sepc, t0
  li t0, 0x100
  csrs sstatus, t0        /* return to S-mode */
  sret
  .align 4
random_code:
