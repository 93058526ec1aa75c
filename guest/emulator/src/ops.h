/* Instruction handler declarations (defined in cpu_exec.c and fpu*.c). */
#ifndef C2W_OPS_H
#define C2W_OPS_H
#include "emu.h"
#define D(n) uint64_t op_##n(Cpu *c, const Insn *i, uint64_t pc);
D(lui) D(auipc) D(jal) D(jalr) D(beq) D(bne) D(blt) D(bge) D(bltu) D(bgeu)
D(lb) D(lh) D(lw) D(ld) D(lbu) D(lhu) D(lwu) D(sb) D(sh) D(sw) D(sd)
D(addi) D(slti) D(sltiu) D(xori) D(ori) D(andi) D(slli) D(srli) D(srai)
D(addiw) D(slliw) D(srliw) D(sraiw)
D(add) D(sub) D(sll) D(slt) D(sltu) D(xor) D(srl) D(sra) D(or) D(and)
D(addw) D(subw) D(sllw) D(srlw) D(sraw)
D(mul) D(mulh) D(mulhsu) D(mulhu) D(div) D(divu) D(rem) D(remu)
D(mulw) D(divw) D(divuw) D(remw) D(remuw)
D(block_end) D(nop) D(illegal) D(ebreak) D(ecall) D(fence_i) D(sret) D(wfi) D(sfence_vma) D(csr)
D(lr_w) D(lr_d) D(sc_w) D(sc_d) D(amo_w) D(amo_d)
D(fadd_d) D(fsub_d) D(fmul_d) D(fdiv_d) D(fsqrt_d) D(fadd_s) D(fsub_s) D(fmul_s) D(fdiv_s) D(fsqrt_s)
D(fmadd_d) D(fmsub_d) D(fnmsub_d) D(fnmadd_d) D(fmadd_s) D(fmsub_s) D(fnmsub_s) D(fnmadd_s)
D(flw) D(fld) D(fsw) D(fsd) D(fsgnj_d) D(fsgnj_s) D(fminmax_d) D(fminmax_s) D(fcmp_d) D(fcmp_s)
D(fclass_d) D(fclass_s) D(fmv_x_w) D(fmv_x_d) D(fmv_w_x) D(fmv_d_x) D(fcvt_s_d) D(fcvt_d_s)
D(fcvt_int_d) D(fcvt_int_s) D(fcvt_d_int) D(fcvt_s_int)
#undef D
#endif
