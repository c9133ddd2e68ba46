/* empty_preload.c: a preloaded library with nothing in it: the floor of
 * what any LD_PRELOAD library costs a process at start-up. */
int eintrfix_bench_empty;
