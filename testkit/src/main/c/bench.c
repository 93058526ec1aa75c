/*
 * CPU-bound benchmark shaped like an emulator's inner loop: a tiny register machine with switch
 * dispatch over a program of 16 opcodes, run for N steps. Prints a checksum (same everywhere) and the
 * time spent in the loop, measured by the guest with the monotonic clock (startup excluded).
 *   bench [STEPS]   (default 100000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const uint8_t prog[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                               3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 15};

int main(int argc, char **argv) {
    uint64_t steps = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ULL;
    uint32_t r[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t mem[256] = {0};
    uint32_t pc = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < steps; i++) {
        uint8_t op = prog[pc & 31];
        uint32_t a = r[op & 7], b = r[(op >> 1) & 7];
        switch (op) {
        case 0: r[0] = a + b; break;
        case 1: r[1] = a - b; break;
        case 2: r[2] = a ^ (b << 3); break;
        case 3: r[3] = a * 2654435761u; break;
        case 4: mem[a & 255] = b; break;
        case 5: r[5] = mem[b & 255] + 1; break;
        case 6: r[6] = (a >> 5) | (a << 27); break;
        case 7: if (a & 1) pc += 3; break;
        case 8: r[0] = a / (b | 1); break;
        case 9: r[1] = a % (b | 7); break;
        case 10: r[2] = ~a; break;
        case 11: r[3] = a & b; break;
        case 12: r[4] = a | b; break;
        case 13: r[7] = a + 0x9e3779b9u; break;
        case 14: if (b & 2) pc += 5; break;
        case 15: r[(a >> 3) & 7] ^= b; break;
        }
        pc++;
    }
    uint64_t t1 = now_ns();
    uint32_t sum = 0;
    for (int i = 0; i < 8; i++) sum = sum * 31 + r[i];
    for (int i = 0; i < 256; i++) sum = sum * 31 + mem[i];
    printf("checksum %08x\n", sum);
    printf("steps %llu ns %llu ns_per_step %.3f\n", (unsigned long long)steps, (unsigned long long)(t1 - t0),
           (double)(t1 - t0) / (double)steps);
    return 0;
}
