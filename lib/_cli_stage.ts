// deno-lint-ignore-file no-console
/**
 * Command `stage`: uploads a dataset to a Hub dataset repository for HF Jobs runs.
 *
 * @module
 */
import type { Command } from "./_cli.ts";
import { exitOnHubFailure, formatBytes, HUB_OPTION_HELP, TOKEN_NOTE } from "./_cli_hub_shared.ts";
import { stageDatasetIter, type StageEvent } from "./stage.ts";

/** `deno task stage PATH`: uploads a dataset to a Hub dataset repository. */
export const stageCommand: Command = {
  summary: "upload a dataset to a Hub dataset repository for HF Jobs runs",
  usage: `Usage: deno task stage PATH [options]

Validates the dataset at PATH (a folder containing data.yaml, or the YAML file), then
uploads what changed to a Hub dataset repository in commits of at most 100 files,
printing one line per commit with its files and bytes. An unchanged dataset
uploads nothing. Ctrl-C stops the staging between steps.
${TOKEN_NOTE}

Options:
  --repo NS/NAME     dataset repository  [the folder's name, in the token owner's namespace]
  --public           create the repository as public  [private]
  --rehash           hash every file again, even when size and mtime are unchanged
${HUB_OPTION_HELP}
  --json             print events and the result as JSON lines`,
  options: {
    repo: { type: "string" },
    public: { type: "boolean" },
    rehash: { type: "boolean" },
    endpoint: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass the dataset folder or its data.yaml");
      return 2;
    }
    const abort = new AbortController();
    const onSignal = () => abort.abort(new Error("staging cancelled with Ctrl-C"));
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      return await exitOnHubFailure(async () => {
        const steps = stageDatasetIter(positionals[0], {
          repo: values.repo as string | undefined,
          private: !values.public,
          rehash: Boolean(values.rehash),
          endpoint: values.endpoint as string | undefined,
          signal: abort.signal,
        });
        const printer = stagePrinter(Boolean(values.json));
        let step = await steps.next();
        while (!step.done) {
          printer(step.value);
          step = await steps.next();
        }
        const result = step.value;
        if (values.json) {
          console.log(JSON.stringify({ type: "result", ...result }));
          return 0;
        }
        console.log(`\nStaged ${result.repo}: ${result.url}`);
        console.log(
          `Uploaded ${result.filesUploaded} files (${formatBytes(result.bytesUploaded)}) ` +
            `in ${result.commits} commits`,
        );
        return 0;
      });
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
    }
  },
};

/** Returns a function that prints one staging event; upload progress updates one line in place on a terminal. */
function stagePrinter(json: boolean): (event: StageEvent) => void {
  const terminal = Deno.stdout.isTerminal();
  let inPlace = false;
  const line = (text: string) => {
    if (inPlace) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[K"));
    inPlace = false;
    console.log(text);
  };
  return (event) => {
    if (json) return console.log(JSON.stringify(event));
    switch (event.type) {
      case "scan":
        return line(`· scanned ${event.files} files (${formatBytes(event.bytes)})`);
      case "warning":
        return line(`! ${event.message} (${event.count}×, such as ${event.examples.slice(0, 2).join(", ")})`);
      case "validated":
        return line(
          event.reused
            ? "· unchanged since the last staging, so validation was skipped"
            : `· dataset valid (${event.warnings} warnings)`,
        );
      case "repo":
        return line(`· ${event.created ? "created" : "using"} ${event.url}`);
      case "plan":
        return line(
          `· ${event.upload} files to upload (${formatBytes(event.uploadBytes)}), ` +
            `${event.unchanged} unchanged, ${event.delete} to delete`,
        );
      case "commit":
        return line(
          `· commit ${event.index}/${event.total}: ${event.files} files, ${formatBytes(event.bytes)} ` +
            `(${event.oid.slice(0, 8)})`,
        );
      case "progress":
        // Plain output (a pipe or a file) gets the commit lines only.
        if (!terminal) return;
        Deno.stdout.writeSync(new TextEncoder().encode(
          `\r\x1b[K  uploaded ${event.filesUploaded}/${event.filesTotal} files, ` +
            `${formatBytes(event.bytesUploaded)} of ${formatBytes(event.bytesTotal)}`,
        ));
        inPlace = true;
    }
  };
}
