/**
 * Keeps a DuckDB file open for the history lock tests: opens `path`, prints
 * "ready", and closes the file after `milliseconds`.
 * Usage: deno run -A holder.ts <path> <milliseconds>
 */
import { DuckDBInstance } from "@duckdb/node-api";

const [path, milliseconds] = Deno.args;
const instance = await DuckDBInstance.create(path);
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
await new Promise((done) => setTimeout(done, Number(milliseconds)));
instance.closeSync();
