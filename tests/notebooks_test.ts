/**
 * Executes every notebook in notebooks/ with the real Deno Jupyter kernel and
 * checks its outputs: no cell error, and each cell marked with
 * `metadata.trainbook.expect` shows those mime types. The quickstart's live view
 * must be one display updated in place. One executed notebook is rendered to HTML
 * and screenshotted in headless Chromium when Chromium is installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { executeNotebook } from "../lib/notebooks.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { ensurePythonEnv } from "../lib/python_env.ts";
import { tempDir } from "./helpers.ts";
import { processJobRunner } from "./hub_mock/runner.ts";
import { MockHub } from "./hub_mock/server.ts";

interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata: { trainbook?: { expect?: string[] } };
  outputs?: NotebookOutput[];
}

/** Folder where tests keep artifacts for people to look at (screenshots). */
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");

/** Small settings so the notebooks' training cells take seconds. */
const QUICK_ENV = {
  TRAINBOOK_NOTEBOOK_EPOCHS: "2",
  TRAINBOOK_NOTEBOOK_IMGSZ: "64",
};

function text(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}

/** Checks every cell of an executed notebook; returns its cells. */
async function checkExecuted(path: string): Promise<NotebookCell[]> {
  const notebook = JSON.parse(await Deno.readTextFile(path)) as { cells: NotebookCell[] };
  for (const [index, cell] of notebook.cells.entries()) {
    if (cell.cell_type !== "code") continue;
    const outputs = cell.outputs ?? [];
    const errors = outputs.filter((output) => output.output_type === "error");
    assert.equal(errors.length, 0, `cell ${index} raised ${errors[0]?.ename}: ${errors[0]?.evalue}`);
    for (const mime of cell.metadata.trainbook?.expect ?? []) {
      const shown = outputs.some((output) => output.data && mime in output.data);
      assert.ok(shown, `cell ${index} (${text(cell.source).split("\n")[0]}) displayed no ${mime}`);
    }
    for (const output of outputs) {
      if (output.data && Object.keys(output.data).length > 0) {
        assert.ok("text/plain" in output.data, `cell ${index} has a display without a text/plain fallback`);
      }
    }
  }
  return notebook.cells;
}

Deno.test("01-quickstart notebook runs top to bottom with live updates", async () => {
  await using temp = await tempDir("notebook");
  const output = join(temp.path, "01-quickstart.executed.ipynb");
  const run = await executeNotebook(join(REPO_ROOT, "notebooks", "01-quickstart.ipynb"), output, {
    env: { ...QUICK_ENV, TRAINBOOK_RUNS_DIR: join(temp.path, "runs") },
  });
  assert.ok(run.ok, `the notebook failed:\n${run.stderr.slice(-3000)}`);
  const cells = await checkExecuted(output);

  // The live view is one display whose final content shows the finished run: it
  // started as "queued", so that state can only come from in-place updates.
  const watchCell = cells.find((cell) => text(cell.source).includes("tb.watch(run)"));
  assert.ok(watchCell, "no cell calls watch()");
  const live = (watchCell.outputs ?? []).filter((output) =>
    output.output_type === "display_data" &&
    text(output.data?.["text/html"] as string).includes("trainbook-live")
  );
  assert.equal(live.length, 1, `the live view was shown ${live.length} times instead of updated in place`);
  const finalText = text(live[0].data?.["text/plain"] as string);
  assert.match(finalText, /completed/);
  assert.match(finalText, /epoch 2\/2/);
  assert.match(text(live[0].data?.["text/html"] as string), /<svg/);

  await screenshot(output, "01-quickstart");
});

Deno.test("02-hf-jobs notebook trains on the mock Hub with live updates", async () => {
  const env = await ensurePythonEnv();
  await using mock = await MockHub.start({
    jobRunner: processJobRunner({ python: env.python, extraEnv: env.env }),
  });
  await using temp = await tempDir("notebook");
  const output = join(temp.path, "02-hf-jobs.executed.ipynb");
  const run = await executeNotebook(join(REPO_ROOT, "notebooks", "02-hf-jobs.ipynb"), output, {
    env: {
      ...QUICK_ENV,
      TRAINBOOK_RUNS_DIR: join(temp.path, "runs"),
      TRAINBOOK_HF_ENDPOINT: mock.url,
      HF_TOKEN: mock.token,
      TRAINBOOK_NOTEBOOK_FLAVOR: "cpu-basic",
      TRAINBOOK_JOBS_POLL_MS: "300",
    },
  });
  assert.ok(run.ok, `the notebook failed:\n${run.stderr.slice(-3000)}`);
  const cells = await checkExecuted(output);
  const watchCell = cells.find((cell) => text(cell.source).includes("tb.watch(run)"));
  const live = (watchCell?.outputs ?? []).filter((output) => output.output_type === "display_data");
  assert.equal(live.length, 1, "the live view was not one display updated in place");
  const finalText = text(live[0].data?.["text/plain"] as string);
  assert.match(finalText, /completed/);
  assert.match(finalText, /epoch 2\/2/);
  assert.match(finalText, new RegExp(`dashboard ${mock.url}/jobs/`));
  const notebookText = await Deno.readTextFile(output);
  assert.ok(!notebookText.includes(mock.token), "the token appears in the notebook outputs");
  assert.equal(mock.jobs().length, 1);
});

Deno.test("03-compare-runs notebook runs top to bottom", async () => {
  await using temp = await tempDir("notebook");
  const output = join(temp.path, "03-compare-runs.executed.ipynb");
  const run = await executeNotebook(join(REPO_ROOT, "notebooks", "03-compare-runs.ipynb"), output, {
    env: { TRAINBOOK_RUNS_DIR: join(temp.path, "runs") },
  });
  assert.ok(run.ok, `the notebook failed:\n${run.stderr.slice(-3000)}`);
  await checkExecuted(output);
  const exports = [...Deno.readDirSync(join(temp.path, "runs", "export"))].map((entry) => entry.name);
  assert.ok(exports.some((name) => name.endsWith(".parquet")), "no Parquet file was exported");
});

Deno.test("committed notebooks carry no outputs", async () => {
  for (const entry of Deno.readDirSync(join(REPO_ROOT, "notebooks"))) {
    if (!entry.name.endsWith(".ipynb")) continue;
    const notebook = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "notebooks", entry.name)));
    for (const cell of notebook.cells as NotebookCell[]) {
      assert.deepEqual(cell.outputs ?? [], [], `${entry.name} has committed outputs`);
    }
  }
});

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** Renders an executed notebook to HTML, checks the charts are in it, and screenshots it. */
async function screenshot(executed: string, name: string): Promise<void> {
  const env = await ensurePythonEnv();
  const html = executed.replace(/\.ipynb$/, ".html");
  const convert = await new Deno.Command(env.python, {
    args: ["-m", "nbconvert", "--to", "html", "--output", html, executed],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(convert.success, new TextDecoder().decode(convert.stderr));
  const page = await Deno.readTextFile(html);
  assert.ok((page.match(/<svg/g) ?? []).length >= 3, "the rendered notebook holds fewer than 3 charts");
  if (!CHROMIUM) {
    // NOTE: .ci/run installs Debian's chromium; without it only the HTML is checked.
    return;
  }
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const png = join(ARTIFACTS, `${name}.png`);
  const profile = await Deno.makeTempDir({ prefix: "trainbook-chromium-" });
  try {
    const shot = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--hide-scrollbars",
        "--window-size=1280,6000",
        `--screenshot=${png}`,
        `file://${html}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(shot.success, `chromium failed: ${new TextDecoder().decode(shot.stderr).slice(-1000)}`);
    const size = (await Deno.stat(png)).size;
    assert.ok(size > 50_000, `the screenshot is only ${size} bytes; the page is probably blank`);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
