/**
 * Run ids: `YYYYMMDD-HHMMSS-xxxxxx` in UTC with six random hex digits, so ids sort
 * by creation time and two runs started in the same second still differ.
 *
 * @module
 */
import { OptionsError } from "./errors.ts";

const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{6}$/;

/** Creates a new run id for a run created at `date`. */
export function newRunId(date: Date = new Date()): string {
  const iso = date.toISOString(); // 2026-12-04T20:31:13.468Z
  const stamp = iso.slice(0, 10).replaceAll("-", "") + "-" + iso.slice(11, 19).replaceAll(":", "");
  const random = crypto.getRandomValues(new Uint8Array(3));
  return stamp + "-" + Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Returns whether `id` has the form of a trainbook run id. */
export function isRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id);
}

/**
 * Checks a user-chosen run name: it becomes a folder name and a Hub label value,
 * so only letters, digits, `.`, `_` and `-` are allowed, at most 96 characters.
 */
export function validateRunName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/.test(name)) {
    throw new OptionsError("Invalid run name", {
      value: name,
      hint: "Use 1 to 96 letters, digits, '.', '_' or '-', starting with a letter or digit",
    });
  }
  return name;
}
