import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * A `bcr` subcommand. Each lives in its own file under src/cli/commands/ and exports
 * `command`; the CLI finds them by listing that folder, so adding a command touches no
 * shared file.
 */
export interface Command {
  /** What the user types after `bcr`. */
  name: string;
  /** One line for `bcr --help`. */
  summary: string;
  /** Full help text for `bcr <name> --help`: usage line, then one line per option. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error the CLI prints as `bcr <cmd>: <message>` (no stack trace) before exiting 2. */
export class UsageError extends Error {}

/**
 * node:util parseArgs with the settings every command uses (strict, no positionals), turning
 * its errors into UsageError so the CLI prints the command's usage.
 */
type FlagOptions = NonNullable<ParseArgsConfig["options"]>;
type FlagValues<O extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>["values"];

export function parseFlags<const O extends FlagOptions>(argv: string[], options: O): FlagValues<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** An optional integer flag (>= min), or a UsageError naming the flag. */
export function intFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}
