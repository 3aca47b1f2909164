/**
 * Smoke tests: runs that only show the pipeline works (tiny models, a few steps). Known by name,
 * so stage hashes stay as they are, and marked wherever their numbers are shown.
 */

/** The label every output of a smoke test carries. */
export const SMOKE_BANNER = "SMOKE TEST, NOT A RESULT";

/**
 * A quick config (`bcr reproduce --quick`, configs/reproduce-quick.json, or any config whose name
 * says quick): tiny models, a few RL steps.
 */
export function isSmokeTest(config: { name: string }): boolean {
  return /(^|[-_.])quick($|[-_.])/.test(config.name);
}
