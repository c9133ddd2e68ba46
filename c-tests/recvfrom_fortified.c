/* recvfrom_socket.c built as distributions build programs, with -D_FORTIFY_SOURCE=2:
 * its recvfrom(2) becomes glibc's __recvfrom_chk, which a hook of recvfrom never sees. */
#include "recvfrom_socket.c"
