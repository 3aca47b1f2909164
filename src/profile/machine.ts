/** The machine a timing ran on: cores, CPU model, memory, node, platform. */
import * as fs from "node:fs";
import * as os from "node:os";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = fs.readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1]!.trim();
  } catch {
    /* not Linux: os.cpus() is good enough */
  }
  return {
    cores: os.availableParallelism(),
    cpuModel,
    memoryGB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}
