/* Minimal freestanding sleep SECONDS for boot/network tests. */
typedef long slong;
static slong sys3(slong n, slong a, slong b, slong c) {
  register slong a0 __asm__("a0") = a;
  register slong a1 __asm__("a1") = b;
  register slong a2 __asm__("a2") = c;
  register slong a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}
int cmain(slong *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  slong secs = 0;
  if (argc > 1)
    for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++) secs = secs * 10 + (*p - '0');
  slong ts[2] = {secs, 0};
  sys3(101 /* nanosleep */, (slong)ts, 0, 0);
  sys3(93, 0, 0, 0);
  return 0;
}
__asm__(".globl _start\n_start:\n mv a0, sp\n andi sp, sp, -16\n call cmain\n1: j 1b\n");
