// deno-lint-ignore-file no-console
/**
 * Command-line entry point behind the `deno task` commands. Each command prints
 * plain progress lines, accepts `--help`, and exits with 0 on success, 1 when the
 * work failed, and 2 for invalid arguments or input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HubError, TrainbookError, TrainingError } from "./errors.ts";
import type { Command } from "./_cli.ts";

const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: async () => (await import("./cli_train.ts")).demoCommand,
  train: async () => (await import("./cli_train.ts")).trainCommand,
  eval: async () => (await import("./cli_train.ts")).evalCommand,
  validate: async () => (await import("./cli_data.ts")).validateCommand,
  runs: async () => (await import("./cli_history.ts")).runsCommand,
  compare: async () => (await import("./cli_runs.ts")).compareCommand,
  report: async () => (await import("./cli_runs.ts")).reportCommand,
  import: async () => (await import("./cli_runs.ts")).importCommand,
  stage: async () => (await import("./cli_hub.ts")).stageCommand,
  status: async () => (await import("./cli_hub.ts")).statusCommand,
  logs: async () => (await import("./cli_hub.ts")).logsCommand,
  cancel: async () => (await import("./cli_hub.ts")).cancelCommand,
  fetch: async () => (await import("./cli_hub.ts")).fetchCommand,
  hardware: async () => (await import("./cli_hub.ts")).hardwareCommand,
  login: async () => (await import("./cli_hub.ts")).loginCommand,
};

/** Registers another command (used by modules that add commands, such as the Hub ones). */
export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}

function overview(): string {
  return [
    "trainbook: train Ultralytics YOLO detectors locally or on Hugging Face Jobs",
    "",
    "Usage: deno task <command> [options]   (or: deno run -A lib/cli.ts <command> [options])",
    "",
    "Commands:",
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
    "",
    "Run `deno task <command> --help` for a command's options.",
  ].join("\n");
}

/** Runs the command named by `args[0]` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`Unknown command "${name}".\n\n${overview()}`);
    return 2;
  }
  const command = await load();
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\nRun \`deno task ${name} --help\` for the options.`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(parsed.values as Record<string, unknown>, parsed.positionals);
  } catch (error) {
    if (error instanceof TrainbookError) {
      console.error(`error: ${error.message}`);
      // A failed request or process is a failure of the work (1); anything else is bad input (2).
      return error instanceof HubError || error instanceof TrainingError ? 1 : 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
