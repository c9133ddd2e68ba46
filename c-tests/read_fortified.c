/* read_pipe.c built as distributions build programs, with -D_FORTIFY_SOURCE=2:
 * its read(2) becomes glibc's __read_chk, which a hook of read never sees. */
#include "read_pipe.c"
