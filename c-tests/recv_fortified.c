/* recv_socket.c built as distributions build programs, with -D_FORTIFY_SOURCE=2:
 * its recv(2) becomes glibc's __recv_chk, which a hook of recv never sees. */
#include "recv_socket.c"
