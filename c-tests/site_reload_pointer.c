/* site_reload.c reading errno through a pointer the program keeps in a
 * global, as dash does (`dash_errno`): the loop's check is
 * `*errno_at != EINTR`. Only the running process shows that the global
 * holds errno's address: the per-site rule finds the check there. */
static int *errno_at;
#define RELOAD_ERRNO (*errno_at)
#define RELOAD_SETUP() (errno_at = &errno)
#include "site_reload.c"
