// The memory allocator of the registry's processes: jemalloc, preloaded where the machine has it
// (Debian's and most distributions' libjemalloc2), glibc's malloc otherwise. The local target
// and the benchmark start the server with allocatorEnvironment(); the image sets the same
// variables (registry-server/Dockerfile); a worker inherits them from its primary.
//
// Why (bench/profiles/README.md, 2026-12-07, night): glibc's arenas keep what a burst of large
// transfers freed in no order, and a worker held 117 MiB 30 s after proxy misses (85 at idle);
// with jemalloc it gave most of it back within a couple of seconds (100 MiB), and its event
// loop spent 1.8-2.2 CPU-s per GiB pushed against 2.35-2.4, for 1-3 MiB more at idle.
//
// Import-free: the local target's dynamic provider is serialised with it (components/README.md).

/**
 * jemalloc's settings: a background thread purges, off the requests' path; freed pages go back to
 * the system a second after they were last used (a burst's memory leaves with the burst); two
 * arenas, as a process has one busy thread beside libuv's pool and V8's helpers.
 */
export const SERVER_MALLOC_CONF = "background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";

/** Where distributions put jemalloc's shared library (the image links it at the last). */
export const JEMALLOC_LIBRARIES = [
  "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
  "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
  "/usr/lib64/libjemalloc.so.2",
  "/usr/lib/libjemalloc.so.2",
  "/usr/local/lib/libjemalloc.so.2",
];

/** The variables that make a process run on jemalloc when `exists` finds it; none otherwise. */
export function allocatorEnvironment(exists: (file: string) => boolean): Record<string, string> {
  const library = JEMALLOC_LIBRARIES.find((candidate) => exists(candidate));
  return library === undefined ? {} : { LD_PRELOAD: library, MALLOC_CONF: SERVER_MALLOC_CONF };
}
