/** Shared test helpers: the bundled dataset and temporary folders removed on dispose. */
import { join } from "node:path";
import { REPO_ROOT } from "../lib/paths.ts";

/** The bundled real dataset (never modified by tests). */
export const DATASET: string = join(REPO_ROOT, "datasets", "thermal-dogs-and-people");

/** Creates a temporary folder that `await using` removes at the end of the scope. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: `trainbook-${prefix}-` });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
