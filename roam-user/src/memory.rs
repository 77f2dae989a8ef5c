//! How the agent gives memory back. It allocates most of what it ever will at start (the
//! kernel's BTF read, the eBPF object loaded and its programs relocated) and then mostly
//! waits: memory that glibc's allocator keeps for a reuse that never comes is the larger part
//! of an idle agent's resident set.

/// Hands the free memory of the allocator's arenas back to the system (after start-up).
pub fn release_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
