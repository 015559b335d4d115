/** Shared parts of the command modules: the command shape and option parsing. */

/** One command: its usage text and its action, returning the exit code. */
export interface Command {
  summary: string;
  usage: string;
  options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

/** Parses an integer option, or returns undefined when absent. */
export function intOption(values: Record<string, unknown>, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const number = Number(value);
  // Validation with a full message happens in the API; this keeps "abc" from becoming NaN silently.
  return Number.isFinite(number) ? number : (value as unknown as number);
}
