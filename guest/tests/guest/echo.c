/* Minimal freestanding echo for boot tests (until busybox runs). */
typedef long slong;
static slong sys3(slong n, slong a, slong b, slong c) {
  register slong a0 __asm__("a0") = a;
  register slong a1 __asm__("a1") = b;
  register slong a2 __asm__("a2") = c;
  register slong a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}
static void put(const char *s, slong n) { sys3(64, 1, (slong)s, n); }
int cmain(slong *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  for (int k = 1; k < argc; k++) {
    slong n = 0;
    while (argv[k][n]) n++;
    if (k > 1) put(" ", 1);
    put(argv[k], n);
  }
  put("\n", 1);
  sys3(93, 0, 0, 0);
  return 0;
}
__asm__(".globl _start\n_start:\n mv a0, sp\n andi sp, sp, -16\n call cmain\n1: j 1b\n");
