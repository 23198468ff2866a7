# Sourced by the benchmarks (scripts/bench.sh runs only bench/*.sh, not this).
#
# warm_memory BYTES: fills and drops BYTES of tmpfs; call it, untimed, before every timed run.
# In a VM, writing into memory the guest has not touched lately costs several times more (the
# host backs each page on its first touch: cp + sync of 2 GiB onto tmpfs took 0.4 s to 5.5 s
# in consecutive runs here), and whichever run met such memory was slow. After this, every
# tool starts from memory that was just used, as on bare metal.
warm_memory() {
	warm_f=/dev/shm/exai-bench-warm.$$
	head -c "$1" /dev/zero >"$warm_f" 2>/dev/null || true
	rm -f "$warm_f"
}
