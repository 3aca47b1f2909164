/**
 * How the work of `run(size)` grows with size, measured as this process's CPU time (not wall
 * time: other processes on a loaded machine do not count). Each size is run until at least
 * `minCpuMs` of CPU has been spent and the per-run cost is taken, so fast linear code is
 * measured over many runs. A linear routine gives about large/small; a quadratic one its square.
 *
 * Both sizes are warmed up before any timing (the JIT's tiers and the heap's growth otherwise
 * land on whichever size runs first), and each size's cost is the least of `trials`
 * measurements: noise (a GC pause, a descheduled thread) only ever adds time, so the minimum is
 * the estimate it disturbs least. One noisy measurement once read a linear parser as 24.9x.
 */
export function cpuGrowth(
  run: (size: number) => void,
  small: number,
  large: number,
  minCpuMs = 40,
  trials = 3,
): number {
  const perRun = (size: number): number => {
    const t0 = process.cpuUsage();
    let runs = 0;
    let spent = 0;
    do {
      run(size);
      runs++;
      const d = process.cpuUsage(t0);
      spent = (d.user + d.system) / 1000;
    } while (spent < minCpuMs);
    return spent / runs;
  };
  for (let i = 0; i < 2; i++) {
    run(small);
    run(large);
  }
  const least = (size: number) => Math.min(...Array.from({ length: trials }, () => perRun(size)));
  return least(large) / least(small);
}
