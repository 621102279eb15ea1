/**
 * Versions shown by `zccache --version`.
 *
 * @module
 */

/** This product's version (kept equal to `deno.json` `version`; a test checks it). */
export const PRODUCT_VERSION = "0.1.0";

/** The zccache release whose daemon wire this build speaks. */
export const WIRE_RELEASE = "1.12.2";

/** The two-line `--version` text. */
export function versionText(): string {
  return `zccache-ts ${PRODUCT_VERSION}\nwire: zccache ${WIRE_RELEASE}\n`;
}
