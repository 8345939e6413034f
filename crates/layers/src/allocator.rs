//! Keeping large freed blocks in the process for reuse (glibc's `malloc`).

/// Tunes the C allocator for training: on Linux with glibc, every block comes from the heap
/// instead of a fresh memory map of its own, and up to 1 GiB of freed memory stays in the
/// process instead of going back to the operating system after every step. Returns whether it
/// applied (`false` elsewhere: other allocators keep their own policies).
///
/// Training allocates and frees the same large buffers at every step (activations, gradients,
/// the fused kernels' tapes). With glibc's defaults many of them are mapped fresh each time,
/// and every page then costs a fault and a zeroing by the kernel: measured at 20–35% of a
/// training step of a 128- or 512-unit layer (`cargo xtask bench scale`). Blocks above 32 MiB
/// (an LSTM(512) tape over 64 × 50 steps is 46 MB) can only come from the heap with maps turned
/// off altogether: glibc refuses a higher map threshold; it still maps where the heap cannot
/// grow. LSTM 64 × 50 × 512 × 512: about 5% per step on top of a 32 MiB threshold. The price
/// is memory: the process keeps its peak heap for reuse. rnnlab's binaries (`rnnlab`, the experiments and
/// the benchmarks) call this at start; a program of your own decides for itself. Numbers do not
/// change, only where memory comes from.
///
/// ```
/// let applied = rnnlab_layers::tune_allocator_for_training();
/// assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
/// ```
pub fn tune_allocator_for_training() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // No block gets a map of its own (glibc caps the map threshold at 32 MiB, so turning
        // maps off is the only way to reuse larger blocks); glibc still maps where a heap
        // cannot grow (a thread's arena past its 64 MiB, brk refused).
        const MAX_MAPPED_BLOCKS: libc::c_int = 0;
        const TRIM_THRESHOLD: libc::c_int = 1 << 30;
        // SAFETY: mallopt only changes allocator parameters; glibc makes it thread-safe.
        let (mmap, trim) = unsafe {
            (
                libc::mallopt(libc::M_MMAP_MAX, MAX_MAPPED_BLOCKS),
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            )
        };
        mmap == 1 && trim == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
