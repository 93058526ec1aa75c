/* F and D extensions: not implemented yet; all FP opcodes are illegal and the
 * device tree advertises rv64imac so Linux leaves the FPU off. */
#include "ops.h"

void decode_fp(uint32_t raw, Insn *d) {
  (void)raw;
  d->fn = op_illegal;
}
