#!/usr/bin/env node
// Runs the TypeScript CLI in this same process through tsx's loader, so `bcr` works without a
// build step and a signal sent to `bcr` reaches the CLI itself (no wrapper process in between).
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
