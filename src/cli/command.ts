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
