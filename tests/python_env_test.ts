/** The managed Python environment: clear errors when Python is missing or unusable. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PythonEnvError } from "../lib/errors.ts";
import { ensurePythonEnv } from "../lib/python_env.ts";
import { tempDir } from "./helpers.ts";

Deno.test("ensurePythonEnv() names what to install when python3 is missing", async () => {
  await using temp = await tempDir("pyenv");
  await assert.rejects(
    ensurePythonEnv({ basePython: join(temp.path, "no-such-python3"), root: temp.path }),
    (error: unknown) => {
      assert.ok(error instanceof PythonEnvError);
      assert.match(error.message, /was not found/);
      assert.match(error.message, /apt-get install python3 python3-venv/);
      assert.match(error.message, /TRAINBOOK_PYTHON/);
      return true;
    },
  );
});

Deno.test("ensurePythonEnv() rejects a Python that is too old", async () => {
  await using temp = await tempDir("pyenv");
  const fake = join(temp.path, "python3");
  await Deno.writeTextFile(fake, "#!/bin/sh\necho '3.8.10 x86_64'\n");
  await Deno.chmod(fake, 0o755);
  await assert.rejects(ensurePythonEnv({ basePython: fake, root: temp.path }), /Python 3\.8\.10 is too old/);
  assert.deepEqual(
    [...Deno.readDirSync(temp.path)].map((entry) => entry.name),
    ["python3"],
    "an environment was created",
  );
});

Deno.test("ensurePythonEnv() reports pip's output when the install fails", async () => {
  await using temp = await tempDir("pyenv");
  // A Python whose venv module creates an environment whose pip always fails.
  const fake = join(temp.path, "python3");
  await Deno.writeTextFile(
    fake,
    `#!/bin/sh
if [ "$1" = "-c" ]; then echo '3.11.7 x86_64'; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/sh\\necho "ERROR: No matching distribution found for torch==2.14.1" >&2\\nexit 1\\n' > "$3/bin/python"
  chmod +x "$3/bin/python"
  exit 0
fi
exit 1
`,
  );
  await Deno.chmod(fake, 0o755);
  await assert.rejects(
    ensurePythonEnv({ basePython: fake, root: join(temp.path, "envs") }),
    (error: unknown) => {
      assert.ok(error instanceof PythonEnvError);
      assert.match(error.message, /pip install failed with exit code 1/);
      assert.match(error.message, /No matching distribution found for torch==2\.14\.1/);
      return true;
    },
  );
});

Deno.test("ensurePythonEnv() reuses a ready environment", async () => {
  const first = await ensurePythonEnv();
  const events: string[] = [];
  const second = await ensurePythonEnv({
    root: join(first.dir, ".."),
    onProgress: (event) => events.push(event.phase),
  });
  assert.equal(second.python, first.python);
  assert.deepEqual(events, ["reuse"]);
});
