// deno-lint-ignore-file no-console
/**
 * Output of `deno task logs`: an HF Jobs job's log, read so far or followed until
 * the job ends, and the events that the history recorded for other runs.
 *
 * @module
 */
import { getJob, streamJobLogs } from "@huggingface/hub";
import { jobContext, jobParams, type JobTarget, readRun, TERMINAL_STAGES } from "./_cli_hub_shared.ts";
import { HubError, redactTokens } from "./errors.ts";
import { parseEventLine, TERMINAL_STATUSES } from "./events.ts";
import type { RunDetails } from "./history.ts";
import { toHubError, withHubErrors } from "./hub.ts";
import { formatEventLine } from "./progress.ts";

/** Platform lines in a job's log that are not the job's own output. */
const PLATFORM_LINE = /^===== /;

function pollMs(): number {
  return Number(Deno.env.get("TRAINBOOK_JOBS_POLL_MS") ?? 5000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns a function that prints one log line of a job, formatted, redacted, or as JSON. */
function logLinePrinter(json: boolean): (message: string) => void {
  return (message) => {
    if (PLATFORM_LINE.test(message)) return;
    const event = parseEventLine(message);
    if (json) {
      console.log(JSON.stringify(event ?? { type: "log", line: redactTokens(message) }));
      return;
    }
    const line = event ? formatEventLine(event, true) : redactTokens(message);
    if (line !== undefined) console.log(line);
  };
}

export async function printJobLog(
  target: JobTarget,
  options: { follow: boolean; json: boolean },
): Promise<number> {
  const print = logLinePrinter(options.json);
  if (!options.follow) {
    await readLogSoFar(target, print);
    return 0;
  }

  // The stream replays the log from the start, so a reconnect skips the lines already printed.
  // The loop ends after one full read that began after the job had ended, so no line is lost.
  let printed = 0;
  let stage = "";
  let dropped = 0;
  while (true) {
    const endedBefore = TERMINAL_STAGES.includes(stage);
    const abort = new AbortController();
    const watch = watchStage(target, (next) => (stage = next), abort);
    let index = 0;
    try {
      const streamFetch: typeof fetch = (input, init) =>
        target.config.fetch(input, { ...init, signal: abort.signal });
      for await (const entry of streamJobLogs({ ...jobParams(target), fetch: streamFetch })) {
        if (index++ < printed) continue;
        printed++;
        print(entry.message);
      }
      dropped = 0;
    } catch (error) {
      if (!abort.signal.aborted) {
        const failure = toHubError(error, jobContext(target, "read the job's log"));
        // An HTTP error (401, 404) will not go away by reconnecting; a dropped connection may.
        const httpError = failure instanceof HubError && failure.status !== undefined;
        if (httpError || ++dropped > 5) throw failure;
        console.error(`warning: the log stream dropped (${(failure as Error).message}); reconnecting`);
      }
    } finally {
      clearInterval(watch);
    }
    const job = await withHubErrors(jobContext(target, "inspect the job"), () => getJob(jobParams(target)));
    stage = job.status.stage;
    if (endedBefore && TERMINAL_STAGES.includes(stage)) {
      const message = job.status.message ?? undefined;
      if (options.json) console.log(JSON.stringify({ type: "status", stage, message }));
      else console.log(`· job ${target.jobId} ended: ${stage}${message ? ` (${message})` : ""}`);
      return 0;
    }
    if (!TERMINAL_STAGES.includes(stage)) await sleep(Math.min(pollMs(), 2000));
  }
}

/** Polls the job's stage; once it is terminal, aborts the stream 3 seconds later, because a stream can stay open after the job ends. */
function watchStage(
  target: JobTarget,
  onStage: (stage: string) => void,
  abort: AbortController,
): ReturnType<typeof setInterval> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = setInterval(async () => {
    try {
      const stage = (await getJob(jobParams(target))).status.stage;
      onStage(stage);
      if (timer === undefined && TERMINAL_STAGES.includes(stage)) {
        timer = setTimeout(() => abort.abort(), 3000);
      }
    } catch {
      // The loop's own getJob after the stream reports a lasting failure.
    }
  }, pollMs());
  abort.signal.addEventListener("abort", () => clearTimeout(timer));
  return watch;
}

/**
 * Prints the lines logged before this call. The stream stays open while the job
 * runs, so reading stops at the first line stamped after the call started, or
 * once no line has arrived for 2 seconds.
 */
async function readLogSoFar(target: JobTarget, print: (message: string) => void): Promise<void> {
  // NOTE: the 2-second margin absorbs small clock differences between this machine and the Hub.
  const cutoff = Date.now() + 2000;
  const abort = new AbortController();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const restartIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(), 2000);
  };
  const streamFetch: typeof fetch = async (input, init) => {
    const response = await target.config.fetch(input, { ...init, signal: abort.signal });
    restartIdle();
    return response;
  };
  try {
    for await (const entry of streamJobLogs({ ...jobParams(target), fetch: streamFetch })) {
      if (entry.timestamp.getTime() > cutoff) break;
      restartIdle();
      print(entry.message);
    }
  } catch (error) {
    if (!abort.signal.aborted) throw toHubError(error, jobContext(target, "read the job's log"));
  } finally {
    clearTimeout(idle);
    abort.abort();
  }
}

export async function printRecordedEvents(
  details: RunDetails,
  values: Record<string, unknown>,
  options: { follow: boolean; json: boolean },
): Promise<number> {
  let printed = 0;
  let current = details;
  while (true) {
    for (const event of current.events.slice(printed)) {
      if (options.json) console.log(JSON.stringify(event));
      else console.log(`${event.time ?? ""}  ${event.type}${event.message ? `  ${event.message}` : ""}`);
    }
    printed = current.events.length;
    if (!options.follow || TERMINAL_STATUSES.includes(current.run.status)) break;
    await sleep(pollMs());
    current = await readRun(values, current.run.id);
  }
  if (printed === 0 && !options.json) console.log(`(run ${details.run.id} has no recorded events)`);
  return 0;
}
