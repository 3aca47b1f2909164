/**
 * A `bcr` command in a child process, its output collected as it comes, to send it a signal at a
 * chosen moment (waitFor) and read how it ended.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface BcrChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit status (null and the signal when killed by one). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startBcr(args: string[]): BcrChild {
  const child = spawn(process.execPath, [path.join(root, "bin/bcr.js"), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "",
    err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Poll `ready` every 20 ms until it holds; throws after `timeoutMs` or when the child exits first. */
export async function waitFor(c: BcrChild, ready: () => boolean, what: string, timeoutMs = 300_000): Promise<void> {
  let gone = false;
  void c.exited.then(() => {
    gone = true;
  });
  const t0 = Date.now();
  while (!ready()) {
    if (gone) throw new Error(`the command exited before ${what}\n${c.stderr()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ${what} after ${timeoutMs} ms\n${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
