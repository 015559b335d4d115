import assert from "node:assert/strict";
import { join } from "node:path";
import { MockHub } from "./hub_mock/server.ts";
import {
  checkTokenFormat,
  clearWhoamiCache,
  login,
  requireToken,
  resolveToken,
  tokenPath,
  whoami,
} from "../lib/credentials.ts";
import { AuthError } from "../lib/errors.ts";

const VARIABLES = [
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
  "HF_TOKEN_PATH",
  "HF_HOME",
  "XDG_CACHE_HOME",
  "HOME",
  "TRAINBOOK_HOME",
  "HF_ENDPOINT",
  "TRAINBOOK_HF_ENDPOINT",
];

/** Runs `body` with a clean token environment under a temporary home; restores everything afterwards. */
async function withCleanEnv(body: (home: string) => Promise<void> | void): Promise<void> {
  const saved = new Map(VARIABLES.map((name) => [name, Deno.env.get(name)]));
  const home = await Deno.makeTempDir({ prefix: "trainbook-credentials-" });
  for (const name of VARIABLES) Deno.env.delete(name);
  Deno.env.set("HOME", home);
  Deno.env.set("TRAINBOOK_HOME", join(home, "trainbook"));
  clearWhoamiCache();
  try {
    await body(home);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    clearWhoamiCache();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("resolveToken() prefers HF_TOKEN over the legacy variable and the file", () =>
  withCleanEnv(async (home) => {
    await Deno.mkdir(join(home, ".cache", "huggingface"), { recursive: true });
    await Deno.writeTextFile(join(home, ".cache", "huggingface", "token"), "hf_fromfile\n");
    assert.equal(resolveToken(), "hf_fromfile");
    Deno.env.set("HUGGING_FACE_HUB_TOKEN", " hf_legacy ");
    assert.equal(resolveToken(), "hf_legacy");
    Deno.env.set("HF_TOKEN", "hf_primary");
    assert.equal(resolveToken(), "hf_primary");
  }));

Deno.test("resolveToken() treats an empty HF_TOKEN as none", () =>
  withCleanEnv(() => {
    Deno.env.set("HF_TOKEN", "   ");
    assert.equal(resolveToken(), undefined);
  }));

Deno.test("resolveToken() reads HF_TOKEN_PATH, HF_HOME and XDG_CACHE_HOME", () =>
  withCleanEnv(async (home) => {
    Deno.env.set("XDG_CACHE_HOME", join(home, "xdg"));
    assert.equal(tokenPath(), join(home, "xdg", "huggingface", "token"));
    Deno.env.set("HF_HOME", join(home, "hf"));
    assert.equal(tokenPath(), join(home, "hf", "token"));
    await Deno.mkdir(join(home, "hf"));
    await Deno.writeTextFile(join(home, "hf", "token"), "hf_hfhome");
    assert.equal(resolveToken(), "hf_hfhome");

    Deno.env.set("HF_TOKEN_PATH", join(home, "custom-token"));
    assert.equal(resolveToken(), undefined);
    await Deno.writeTextFile(join(home, "custom-token"), "  \n");
    assert.equal(resolveToken(), undefined);
    await Deno.writeTextFile(join(home, "custom-token"), "hf_custom\n");
    assert.equal(resolveToken(), "hf_custom");
  }));

Deno.test("requireToken() says how to set a token when none exists", () =>
  withCleanEnv(() => {
    assert.throws(() => requireToken(), (error: Error) => {
      assert.ok(error instanceof AuthError);
      assert.match(error.message, /HF_TOKEN/);
      assert.match(error.message, /login\(token\)/);
      return true;
    });
  }));

Deno.test("checkTokenFormat() rejects a malformed token without echoing it", () => {
  const malformed = "MySecretTokenWithoutPrefix12345";
  assert.throws(() => checkTokenFormat(malformed), (error: Error) => {
    assert.ok(error instanceof AuthError);
    assert.match(error.message, /must start with "hf_"/);
    assert.ok(!error.message.includes(malformed));
    assert.ok(!JSON.stringify(error).includes(malformed));
    return true;
  });
  assert.equal(checkTokenFormat(" hf_abc123\n"), "hf_abc123");
});

Deno.test("login() validates the token and writes it with mode 0600", () =>
  withCleanEnv(async (home) => {
    await using hub = await MockHub.start();
    const info = await login(hub.token, { endpoint: hub.url });
    assert.equal(info.name, hub.user);
    assert.equal(info.tokenRole, "write");
    const file = join(home, ".cache", "huggingface", "token");
    assert.equal(await Deno.readTextFile(file), hub.token);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal(resolveToken(), hub.token);
  }));

Deno.test("login() writes nothing when the Hub rejects the token", () =>
  withCleanEnv(async (home) => {
    await using hub = await MockHub.start();
    const rejected = "hf_RejectedTokenValue0000000000";
    const error = await login(rejected, { endpoint: hub.url }).catch((e) => e);
    assert.ok(error instanceof AuthError);
    assert.match(error.message, /rejected the access token/);
    assert.ok(!error.message.includes(rejected));
    await assert.rejects(Deno.stat(join(home, ".cache", "huggingface", "token")));
  }));

Deno.test("whoami() caches the namespace in memory and on disk", () =>
  withCleanEnv(async (home) => {
    await using hub = await MockHub.start({ orgs: ["acme"] });
    Deno.env.set("HF_TOKEN", hub.token);

    const first = await whoami({ endpoint: hub.url });
    assert.equal(first.name, hub.user);
    assert.deepEqual(first.orgs, ["acme"]);
    await whoami({ endpoint: hub.url });
    assert.equal(hub.requestCount("whoami"), 1);

    const cacheFile = join(home, "trainbook", "whoami.json");
    const cached = await Deno.readTextFile(cacheFile);
    assert.ok(!cached.includes(hub.token));
    assert.equal((await Deno.stat(cacheFile)).mode! & 0o777, 0o600);

    clearWhoamiCache();
    assert.equal((await whoami({ endpoint: hub.url })).name, hub.user);
    assert.equal(hub.requestCount("whoami"), 1);

    await whoami({ endpoint: hub.url, refresh: true });
    assert.equal(hub.requestCount("whoami"), 2);
  }));

Deno.test("whoami() retries a 429 and reports it", () =>
  withCleanEnv(async () => {
    await using hub = await MockHub.start();
    hub.failNext("whoami", 1, { status: 429, retryAfterSeconds: 0 });
    const reasons: string[] = [];
    const info = await whoami({
      endpoint: hub.url,
      token: hub.token,
      onRetry: (event) => reasons.push(event.reason),
    });
    assert.equal(info.name, hub.user);
    assert.deepEqual(reasons, ["HTTP 429 (rate limited)"]);
  }));

Deno.test("whoami() raises AuthError without the token on 401", () =>
  withCleanEnv(async () => {
    await using hub = await MockHub.start();
    const token = "hf_ExpiredTokenValue99999999999";
    const error = await whoami({ endpoint: hub.url, token }).catch((e) => e);
    assert.ok(error instanceof AuthError);
    assert.ok(!String(error).includes(token));
    assert.ok(!JSON.stringify(error).includes(token));
  }));
