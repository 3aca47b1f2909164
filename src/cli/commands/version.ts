import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";

export const command: Command = {
  name: "version",
  summary: "print the toolkit's version",
  usage: "usage: bcr version",
  async run() {
    const pkgFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { version: string };
    console.log(pkg.version);
    return 0;
  },
};
