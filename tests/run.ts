// deno-lint-ignore-file no-console
/**
 * Test runner behind `deno task test`: runs `deno test` on the tests folder (or
 * the paths given), streams its output, and ends with the plain summary line
 * `N passed, M failed` that CI reads.
 */
const paths = Deno.args.length > 0 ? Deno.args : ["tests/"];
const deno = Deno.execPath();
const child = new Deno.Command(deno, {
  args: ["test", "-A", "--no-check", ...paths],
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

let passed = 0;
let failed = 0;
let summarySeen = false;
const decoder = new TextDecoder();
let pending = "";
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  pending += decoder.decode(chunk, { stream: true });
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    // deno test ends with "ok | 12 passed (3 steps) | 0 failed (2s)" or "FAILED | 10 passed | 2 failed".
    const match = /^(ok|FAILED) \| (\d+) passed.*\| (\d+) failed/.exec(line.trim());
    if (match) {
      passed = Number(match[2]);
      failed = Number(match[3]);
      summarySeen = true;
    }
  }
}
const status = await child.status;
if (!summarySeen && !status.success) failed = Math.max(failed, 1);
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(status.success && failed === 0 ? 0 : 1);
