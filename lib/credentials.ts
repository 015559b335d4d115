/**
 * Hugging Face access tokens: finding one the way `huggingface_hub` (Python)
 * does, checking and saving it ({@linkcode login}), and asking the Hub whose
 * it is ({@linkcode whoami}, cached because whoami-v2 is strictly rate limited).
 *
 * No function here writes a token to an error message, an event or a cache
 * key. The whoami cache is keyed by a SHA-256 hash of endpoint and token.
 *
 * @module
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { whoAmI } from "@huggingface/hub";
import { AuthError, HubError } from "./errors.ts";
import { hubConfig, type HubOptions, toHubError } from "./hub.ts";
import { cacheDir } from "./paths.ts";

/**
 * Returns `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
 */
export function hfHome(): string {
  const explicit = Deno.env.get("HF_HOME");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "huggingface");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return join(home, ".cache", "huggingface");
}

/** Returns the token file path: `$HF_TOKEN_PATH`, else `<hfHome()>/token`. */
export function tokenPath(): string {
  return Deno.env.get("HF_TOKEN_PATH") || join(hfHome(), "token");
}

/**
 * Finds the access token: `HF_TOKEN`, else the legacy `HUGGING_FACE_HUB_TOKEN`,
 * else the token file ({@linkcode tokenPath}). Values are trimmed; an empty one
 * counts as none. Returns `undefined` when there is no token.
 *
 * @example
 * ```ts
 * import { resolveToken } from "./credentials.ts";
 * const token = resolveToken();
 * console.assert(token === undefined || token.length > 0);
 * ```
 */
export function resolveToken(): string | undefined {
  for (const name of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]) {
    const value = Deno.env.get(name)?.trim();
    if (value) return value;
  }
  try {
    return readFileSync(tokenPath(), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns the given token, else the resolved one, after checking its form.
 * Throws {@linkcode AuthError} saying how to set one when there is none.
 */
export function requireToken(token?: string): string {
  const found = token?.trim() || resolveToken();
  if (!found) {
    throw new AuthError("No Hugging Face access token found", {
      hint:
        "Create a token with write access at https://huggingface.co/settings/tokens, then set the HF_TOKEN " +
        `environment variable, call login(token), or write it to ${tokenPath()}`,
    });
  }
  return checkTokenFormat(found);
}

/**
 * Returns the trimmed token when it has the `hf_...` form, else throws
 * {@linkcode AuthError}. The message never contains the token itself.
 */
export function checkTokenFormat(token: string): string {
  const trimmed = token.trim();
  if (/^hf_[A-Za-z0-9_-]+$/.test(trimmed)) return trimmed;
  throw new AuthError('Malformed Hugging Face access token: it must start with "hf_" and contain no spaces', {
    hint: "Copy the whole token from https://huggingface.co/settings/tokens (it looks like hf_AbC...), " +
      "without quotes, and set HF_TOKEN or call login(token)",
  });
}

/** The account a token belongs to, from whoami-v2. */
export interface WhoamiInfo {
  /** User, organisation or app name: the default namespace for repos and jobs. */
  name: string;
  /** Kind of account. */
  type: "user" | "org" | "app";
  /** Display name, when the Hub sends one. */
  fullname?: string;
  /** Names of the organisations the user belongs to. */
  orgs: string[];
  /** Role of the token: read, write, contributor (fine-grained) or admin. */
  tokenRole?: string;
  /** Name the user gave the token. */
  tokenName?: string;
}

/** Options of {@linkcode whoami}. */
export interface WhoamiOptions extends HubOptions {
  /**
   * Request whoami-v2 even when a cached response exists.
   * @default false
   */
  refresh?: boolean;
  /**
   * Age in seconds after which a cached response is requested again.
   * @default 86_400 (one day)
   */
  maxAgeSeconds?: number;
  /**
   * File that caches responses across processes.
   * @default `<cacheDir()>/whoami.json`
   */
  cacheFile?: string;
}

interface CacheEntry {
  info: WhoamiInfo;
  fetchedAt: number;
}

const memoryCache = new Map<string, CacheEntry>();

/**
 * Returns the account of the token, from the in-memory cache, the cache file,
 * or the Hub's whoami-v2 endpoint (in that order). Throws {@linkcode AuthError}
 * when there is no token or the Hub rejects it.
 */
export async function whoami(options: WhoamiOptions = {}): Promise<WhoamiInfo> {
  const { refresh = false, maxAgeSeconds = 86_400, cacheFile = join(cacheDir(), "whoami.json") } = options;
  const config = hubConfig(options);
  const token = requireToken(config.token);
  const key = cacheKey(config.endpoint, token);
  const fresh = (entry: CacheEntry | undefined) =>
    entry && Date.now() - entry.fetchedAt < maxAgeSeconds * 1000;

  if (!refresh) {
    const inMemory = memoryCache.get(key);
    if (fresh(inMemory)) return inMemory!.info;
    const onDisk = (await readCacheFile(cacheFile))[key];
    if (fresh(onDisk)) {
      memoryCache.set(key, onDisk);
      return onDisk.info;
    }
  }

  const info = await fetchWhoami(config.endpoint, token, config.fetch);
  const entry = { info, fetchedAt: Date.now() };
  memoryCache.set(key, entry);
  await writeCacheEntry(cacheFile, key, entry);
  return info;
}

/** Options of {@linkcode login}. */
export interface LoginOptions extends HubOptions {
  /**
   * Token file to write.
   * @default {@linkcode tokenPath}()
   */
  tokenFile?: string;
}

/**
 * Checks `token` with the Hub (whoami-v2) and saves it to the token file with
 * mode 0600, where `huggingface_hub` and trainbook find it. Returns the account.
 * Nothing is written when the Hub rejects the token.
 */
export async function login(token: string, options: LoginOptions = {}): Promise<WhoamiInfo> {
  const checked = checkTokenFormat(token);
  const config = hubConfig({ ...options, token: checked });
  const info = await fetchWhoami(config.endpoint, checked, config.fetch);

  const file = options.tokenFile ?? tokenPath();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, checked, { mode: 0o600 });
  // writeFile applies the mode only to new files; an existing token file keeps its mode otherwise.
  await chmod(file, 0o600);

  memoryCache.set(cacheKey(config.endpoint, checked), { info, fetchedAt: Date.now() });
  return info;
}

/** Clears the in-memory whoami cache (the cache file stays). */
export function clearWhoamiCache(): void {
  memoryCache.clear();
}

async function fetchWhoami(endpoint: string, token: string, fetchFn: typeof fetch): Promise<WhoamiInfo> {
  let answer: Awaited<ReturnType<typeof whoAmI>>;
  try {
    // Loaded on first use, so importing trainbook stays fast.
    const hub = await import("@huggingface/hub");
    answer = await hub.whoAmI({ hubUrl: endpoint, fetch: fetchFn, accessToken: token });
  } catch (error) {
    const converted = toHubError(error, { action: "check the access token", endpoint });
    if (converted instanceof HubError && converted.status === 401) {
      throw new AuthError(`The Hub at ${endpoint} rejected the access token (401 Unauthorized)`, {
        hint: `The token is invalid, expired or revoked. Create a new one at ${endpoint}/settings/tokens, ` +
          "then set HF_TOKEN or call login(token)",
      });
    }
    throw converted;
  }

  const orgs = "orgs" in answer && Array.isArray(answer.orgs) ? answer.orgs.map((org) => org.name) : [];
  return {
    name: answer.name,
    type: answer.type,
    fullname: "fullname" in answer ? answer.fullname : undefined,
    orgs,
    tokenRole: answer.auth?.accessToken?.role,
    tokenName: answer.auth?.accessToken?.displayName,
  };
}

function cacheKey(endpoint: string, token: string): string {
  return createHash("sha256").update(`${endpoint}\n${token}`).digest("hex");
}

async function readCacheFile(file: string): Promise<Record<string, CacheEntry>> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8"));
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

async function writeCacheEntry(file: string, key: string, entry: CacheEntry): Promise<void> {
  // A cache that cannot be written only costs a later whoami request.
  try {
    const entries = await readCacheFile(file);
    entries[key] = entry;
    await mkdir(dirname(file), { recursive: true });
    const temporary = `${file}.${Deno.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(entries), { mode: 0o600 });
    await rename(temporary, file);
  } catch {
    // NOTE: failures are not reported, so the next call requests whoami-v2 again.
  }
}
