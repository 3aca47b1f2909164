/**
 * How the work of `run(size)` grows with size, measured as this process's CPU time (not wall
 * time: other processes on a loaded machine do not count). Each size is run until at least
 * `minCpuMs` of CPU has been spent and the per-run cost is taken, so fast linear code is
 * measured over many runs. A linear routine gives about large/small; a quadratic one its square.
 */
export function cpuGrowth(run: (size: number) => void, small: number, large: number, minCpuMs = 40): number {
  const perRun = (size: number): number => {
    run(size); // warm-up: compile the code paths once
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
  return perRun(large) / perRun(small);
}
