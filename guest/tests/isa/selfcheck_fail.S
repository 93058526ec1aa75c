#include "test.h"
/* Must FAIL with test number 7: proves the harness sees failures. */
TEST_BEGIN
  TEST_RR(7, add, 4, 2, 3)
  j pass
TEST_END
