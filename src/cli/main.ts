#!/usr/bin/env node
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UsageError, type Command } from "./command.js";

const here = path.dirname(fileURLToPath(import.meta.url));

async function loadCommands(): Promise<Map<string, Command>> {
  const dir = path.join(here, "commands");
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .sort();
  const commands = new Map<string, Command>();
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { command?: Command };
    if (mod.command) commands.set(mod.command.name, mod.command);
  }
  return commands;
}

function help(commands: Map<string, Command>): string {
  const width = Math.max(...[...commands.keys()].map((k) => k.length), 4);
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "bcr: Batched Contextual Reinforcement toolkit",
    "",
    "usage: bcr <command> [options]     (bcr <command> --help for a command's options)",
    "",
    "commands:",
    ...lines,
    "",
    "environment: BCR_BACKEND=auto|tensorflow|wasm|cpu picks the compute backend (default auto).",
  ].join("\n");
}

async function main(): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help(commands));
    return name ? 0 : 2;
  }
  const cmd = commands.get(name);
  if (!cmd) {
    console.error(`bcr: unknown command '${name}'\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bcr ${name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    console.error(`bcr ${name}: ${(e as Error).message}`);
    if (process.env.BCR_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
