/**
 * Connection settings for the Hugging Face Hub and a `fetch` wrapper for every
 * `@huggingface/hub` call: it retries rate-limited (429) and failed (5xx)
 * requests with bounded back-off, and {@linkcode toHubError} turns the final
 * failure into a {@linkcode HubError} that states what to do.
 *
 * `@huggingface/hub` ignores `HF_ENDPOINT`, so every call must pass
 * `hubUrl: config.endpoint` and `fetch: config.fetch`.
 *
 * @module
 */
import { AuthError, HubError, OptionsError, redactTokens, TrainbookError } from "./errors.ts";
import { resolveToken } from "./credentials.ts";

/** Hub URL used when neither an option nor an environment variable sets one. */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** One retry the fetch wrapper is about to make, passed to `onRetry`. */
export interface RetryEvent {
  /** 1-based number of the retry about to be made. */
  attempt: number;
  /** Maximum number of retries for this request. */
  maxRetries: number;
  /** Milliseconds the wrapper waits before the retry. */
  delayMs: number;
  /** HTTP status of the failed attempt; absent after a network error. */
  status?: number;
  /** HTTP method of the request. */
  method: string;
  /** Request URL without its query string. */
  url: string;
  /** Failure reason in words, such as `HTTP 429 (rate limited)`. */
  reason: string;
}

/** Options shared by every function that talks to the Hub. */
export interface HubOptions {
  /**
   * Hub URL.
   * @default `$TRAINBOOK_HF_ENDPOINT`, else `$HF_ENDPOINT`, else `https://huggingface.co`
   */
  endpoint?: string;
  /**
   * Access token (`hf_...`).
   * @default the token {@linkcode resolveToken} finds (HF_TOKEN or the token file)
   */
  token?: string;
  /**
   * Maximum number of retries of one request after a 429, 5xx or network error.
   * @default 5
   */
  maxRetries?: number;
  /**
   * Back-off before the first retry, in milliseconds; it doubles on each retry.
   * @default 500
   */
  retryBaseDelayMs?: number;
  /**
   * Maximum single wait, in milliseconds. A 429 whose Retry-After asks for a
   * longer wait is not retried, so the caller sees the failure at once.
   * @default 60_000
   */
  maxRetryDelayMs?: number;
  /** Called before each retry, so a user can see why a call is slow. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * The `fetch` that sends the requests.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

/** Resolved connection settings: pass `endpoint` as `hubUrl`, `fetch` and `token` to `@huggingface/hub`. */
export interface HubConfig {
  /** Hub URL without a trailing slash. */
  endpoint: string;
  /** Access token, when one is configured. */
  token?: string;
  /** Retrying fetch to pass to every `@huggingface/hub` call. */
  fetch: typeof fetch;
}

/**
 * Returns the Hub URL: the `endpoint` argument, else `$TRAINBOOK_HF_ENDPOINT`,
 * else `$HF_ENDPOINT`, else {@linkcode DEFAULT_HUB_ENDPOINT}, without a trailing slash.
 *
 * @example
 * ```ts
 * import { resolveEndpoint } from "./hub.ts";
 * console.assert(resolveEndpoint("http://127.0.0.1:8080/") === "http://127.0.0.1:8080");
 * ```
 */
export function resolveEndpoint(endpoint?: string): string {
  const raw = endpoint ?? Deno.env.get("TRAINBOOK_HF_ENDPOINT") ?? Deno.env.get("HF_ENDPOINT") ??
    DEFAULT_HUB_ENDPOINT;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new OptionsError("Invalid Hub endpoint", {
      value: raw,
      hint:
        "Pass a URL such as https://huggingface.co as `endpoint`, or fix TRAINBOOK_HF_ENDPOINT / HF_ENDPOINT",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new OptionsError("Hub endpoint must use http or https", { value: raw });
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Resolves the endpoint and token and builds the retrying `fetch`.
 *
 * @example
 * ```ts
 * import { hubConfig } from "./hub.ts";
 * const config = hubConfig({ endpoint: "http://127.0.0.1:9", token: "hf_exampleexample" });
 * console.assert(config.endpoint === "http://127.0.0.1:9");
 * ```
 */
export function hubConfig(options: HubOptions = {}): HubConfig {
  const endpoint = resolveEndpoint(options.endpoint);
  const token = options.token?.trim() || resolveToken();
  return { endpoint, token, fetch: createHubFetch(options) };
}

/**
 * Builds the `@huggingface/hub` call options for `config`: `hubUrl`, `fetch`
 * and, when a token is configured, `accessToken`.
 */
export function hubParams(config: HubConfig): { hubUrl: string; fetch: typeof fetch; accessToken: string } {
  // @huggingface/hub types `accessToken` as required; an empty string makes it send no token.
  return { hubUrl: config.endpoint, fetch: config.fetch, accessToken: config.token ?? "" };
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

// POST routes whose repetition does no harm: the server either did nothing or
// returns the same response again. Creating a job is not among them, because a job
// created by a request that then failed with 502 would run twice.
const REPEATABLE_POST = [
  /\/preupload\//,
  /\.git\/info\/lfs\/objects\/batch$/,
  /\/paths-info\//,
  /\/api\/repos\/create$/,
];

/**
 * Wraps `fetch` so that 429, 408 and 5xx responses and network errors are retried
 * with exponential back-off (honouring Retry-After and RateLimit headers). The
 * last response is returned as is, so the caller's own error handling applies.
 * Requests whose body is a stream are sent once, because a stream cannot be re-read.
 */
export function createHubFetch(options: HubOptions = {}): typeof fetch {
  const {
    maxRetries = 5,
    retryBaseDelayMs = 500,
    maxRetryDelayMs = 60_000,
    onRetry,
    fetch: baseFetch = globalThis.fetch,
  } = options;

  return async function hubFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const url = input instanceof Request ? input.url : String(input);
    const canRepeat = !(init?.body instanceof ReadableStream) && !(input instanceof Request && input.body);
    const canRepeatAfterServerError = canRepeat &&
      (method !== "POST" || REPEATABLE_POST.some((re) => re.test(new URL(url).pathname)));

    for (let attempt = 1;; attempt++) {
      let response: Response | undefined;
      let networkError: unknown;
      try {
        response = await baseFetch(input, init);
      } catch (error) {
        if (isAbort(error)) throw error;
        networkError = error;
      }

      const status = response?.status;
      const retryable = status === undefined
        ? canRepeatAfterServerError
        : status === 429
        ? canRepeat
        : RETRYABLE_STATUS.has(status) && canRepeatAfterServerError;
      if (!retryable || attempt > maxRetries) {
        if (response) return response;
        throw networkError;
      }

      const delayMs = response
        ? retryDelayMs(response, attempt, retryBaseDelayMs)
        : backoffMs(attempt, retryBaseDelayMs);
      if (delayMs > maxRetryDelayMs) {
        if (response) return response;
        throw networkError;
      }
      await response?.body?.cancel();
      onRetry?.({
        attempt,
        maxRetries,
        delayMs,
        status,
        method,
        url: stripQuery(url),
        reason: status === undefined ? `network error: ${errorText(networkError)}` : describeStatus(status),
      });
      await sleep(delayMs, init?.signal ?? undefined);
    }
  };
}

function describeStatus(status: number): string {
  if (status === 429) return "HTTP 429 (rate limited)";
  if (status === 408) return "HTTP 408 (request timeout)";
  return `HTTP ${status} (server error)`;
}

/** Delay before retry `attempt`: Retry-After or RateLimit reset when sent, else exponential back-off. */
function retryDelayMs(response: Response, attempt: number, baseMs: number): number {
  const retryAfter = response.headers.get("Retry-After");
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }

  // IETF RateLimit headers: `RateLimit: "api";r=0;t=42` (draft 8) or `RateLimit-Reset: 42`.
  const rateLimit = response.headers.get("RateLimit");
  const reset = rateLimit
    ? /(?:^|[;,\s])(?:t|reset)=(\d+)/.exec(rateLimit)?.[1]
    : response.headers.get("RateLimit-Reset");
  if (reset) return Number(reset) * 1000;

  return backoffMs(attempt, baseMs);
}

function backoffMs(attempt: number, baseMs: number): number {
  const ceiling = Math.min(baseMs * 2 ** (attempt - 1), 30_000);
  // Equal jitter: at least half the ceiling, so waits still grow.
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError");
}

function stripQuery(url: string): string {
  const index = url.search(/[?#]/);
  return index < 0 ? url : url.slice(0, index);
}

function errorText(error: unknown): string {
  return redactTokens(error instanceof Error ? error.message : String(error));
}

/** Context of a failed Hub call, for the error message. */
export interface HubErrorContext {
  /** The action, such as `create dataset repo` or `inspect job`. */
  action: string;
  /** Hub URL the call went to. */
  endpoint?: string;
  /** Repository id (`namespace/name`) the call was about. */
  repo?: string;
  /** Job id the call was about. */
  jobId?: string;
  /** Namespace (user or organisation) the call used. */
  namespace?: string;
}

/**
 * Converts an error thrown by an `@huggingface/hub` call into a
 * {@linkcode HubError} (or {@linkcode AuthError} for a malformed token) whose
 * message states what failed and what to do. Trainbook errors and aborts pass through.
 */
export function toHubError(error: unknown, context: HubErrorContext): unknown {
  if (error instanceof TrainbookError || isAbort(error)) return error;
  const endpoint = context.endpoint ?? DEFAULT_HUB_ENDPOINT;

  if (error instanceof TypeError && /must start with 'hf_'/.test(error.message)) {
    return new AuthError(`Cannot ${context.action}: the access token is malformed`, {
      hint:
        `Hugging Face tokens start with "hf_". Create one at ${endpoint}/settings/tokens and set HF_TOKEN`,
    });
  }

  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status !== "number") {
    return new HubError(`Cannot ${context.action}: could not reach ${endpoint}`, {
      cause: error,
      value: errorText(error),
      hint: "Check the network connection, and the endpoint option or TRAINBOOK_HF_ENDPOINT / HF_ENDPOINT",
    });
  }

  const apiError = error as { statusCode: number; url?: string; requestId?: string; message?: string };
  const serverMessage = serverText(apiError.message ?? "");
  const { summary, hint } = describeFailure(status, context, endpoint);
  return new HubError(
    `Cannot ${context.action}: ${summary}${serverMessage ? ` (server: ${serverMessage})` : ""}`,
    {
      status,
      url: apiError.url ? redactTokens(stripQuery(apiError.url)) : undefined,
      requestId: apiError.requestId,
      hint,
      // No `cause`: the library's error repeats the URL and server text unredacted, and every part is in the fields.
    },
  );
}

/** Runs `call` and converts what it throws with {@linkcode toHubError}. */
export async function withHubErrors<T>(context: HubErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toHubError(error, context);
  }
}

// @huggingface/hub appends ". URL: ... Request ID: ..." to the server message; both are fields already.
function serverText(message: string): string {
  return redactTokens(message.replace(/\.? URL: .*$/s, "").replace(/^Api error with status \d+$/, "").trim());
}

function describeFailure(
  status: number,
  context: HubErrorContext,
  endpoint: string,
): { summary: string; hint: string } {
  const target = context.jobId
    ? `job ${context.jobId}`
    : context.repo
    ? `repository ${context.repo}`
    : "the resource";
  switch (true) {
    case status === 401:
      return {
        summary: "the Hub rejected the access token (401 Unauthorized)",
        hint:
          `The token is invalid, expired or revoked. Create a token with write access at ${endpoint}/settings/tokens, ` +
          "then set HF_TOKEN or call login(token)",
      };
    case status === 402:
      return {
        summary: "the account has no credits for this (402 Payment Required)",
        hint:
          `Jobs are billed per minute. Add credits or a payment method at ${endpoint}/settings/billing, or choose cpu-basic`,
      };
    case status === 403:
      return {
        summary: `access to ${target} is forbidden (403)`,
        hint:
          "Use a token with write access to this namespace (fine-grained tokens need the permission for the organisation)",
      };
    case status === 404 && context.jobId !== undefined:
      return {
        summary: `${target} was not found in namespace ${context.namespace ?? "(unknown)"} (404)`,
        hint:
          "A job started in an organisation namespace belongs to the organisation: use the job's owner.name " +
          "as namespace, and check the job id",
      };
    case status === 404:
      return {
        summary: `${target} was not found (404)`,
        hint:
          "Check the name and namespace, and that the token's account can see the repository (private repositories need access)",
      };
    case status === 409:
      return {
        summary: `${target} already exists or changed meanwhile (409 Conflict)`,
        hint: "Retry, or pick another name",
      };
    case status === 429:
      return {
        summary: "the Hub is still rate limiting requests after the retries (429 Too Many Requests)",
        hint: "Wait a few minutes before trying again, and avoid calling whoami in a loop",
      };
    case status >= 500:
      return {
        summary: `the Hub failed with HTTP ${status} after the retries`,
        hint: "The service may be degraded: retry later and check https://status.huggingface.co",
      };
    default:
      return { summary: `the Hub answered HTTP ${status}`, hint: "Check the request's options" };
  }
}
