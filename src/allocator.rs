//! The process's memory allocator: mimalloc, and the one option it needs.
//!
//! glibc's allocator spent a quarter of the order path's CPU merging its
//! free lists whenever a buffer grew past a kilobyte (BENCHMARKS.md §17).
//! mimalloc's default, committing whole arenas up front, would have kept
//! about 12 KiB more per idle WebSocket session resident; with
//! `arena_eager_commit` off, memory per session is what it was.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc.h: the crate names no constant
/// for it. Read from the v2 and v3 headers of libmimalloc-sys 0.1.49; check
/// it again when that crate is upgraded (`laicai bench sessions` shows the
/// difference: 15 KiB per session with the option set, 27 without).
#[cfg(target_os = "linux")]
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before `main`, and before the first allocation: mimalloc makes its
/// first arena then, and `main` is too late to change how. The environment
/// (`MIMALLOC_ARENA_EAGER_COMMIT`) still overrides it.
#[allow(
    unsafe_code,
    reason = "an option set before the first allocation needs an ELF initialiser and mimalloc's C function"
)]
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CONFIGURE: extern "C" fn() = {
    extern "C" fn configure() {
        // SAFETY: `mi_option_set_default` only stores an integer option;
        // it allocates nothing and may be called at any time.
        unsafe { libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0) }
    }
    configure
};
