// deno-lint-ignore-file no-console
/**
 * Command `login`: checks a Hugging Face access token with the Hub and saves it.
 *
 * @module
 */
import type { Command } from "./_cli.ts";
import { exitOnHubFailure, HUB_OPTION_HELP } from "./_cli_hub_shared.ts";
import { login, tokenPath } from "./credentials.ts";
import { resolveEndpoint } from "./hub.ts";

/** `deno task login`: checks a token with the Hub and saves it. */
export const loginCommand: Command = {
  summary: "check a Hugging Face access token and save it to the token file",
  usage: `Usage: deno task login [options]

Reads an access token, checks it with the Hub (whoami), and saves it with mode 0600
to the token file that trainbook and huggingface_hub read
($HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token).
The token is never taken from an argument, because arguments are visible in ps,
and it is never printed. Without --token-stdin the token comes from HF_TOKEN.
Nothing is saved when the Hub rejects the token.

  printf '%s' "$MY_TOKEN" | deno task login --token-stdin

Options:
  --token-stdin      read the token from standard input (hidden prompt on a terminal)
${HUB_OPTION_HELP}
  --json             print the account as JSON`,
  options: { "token-stdin": { type: "boolean" }, endpoint: { type: "string" }, json: { type: "boolean" } },
  async run(values) {
    const token = values["token-stdin"] ? await readTokenFromStdin() : Deno.env.get("HF_TOKEN")?.trim();
    if (!token) {
      console.error(
        "error: no token given. Pipe it in with --token-stdin " +
          `(printf '%s' "$MY_TOKEN" | deno task login --token-stdin), or set HF_TOKEN`,
      );
      return 2;
    }
    return await exitOnHubFailure(async () => {
      const endpoint = resolveEndpoint(values.endpoint as string | undefined);
      const info = await login(token, { endpoint });
      const file = tokenPath();
      if (values.json) {
        console.log(JSON.stringify({ ...info, endpoint, tokenFile: file }, null, 2));
      } else {
        const role = info.tokenRole ? `, token role ${info.tokenRole}` : "";
        console.log(`Logged in to ${endpoint} as ${info.name} (${info.type}${role}).`);
        console.log(`Token saved to ${file}`);
      }
      return 0;
    });
  },
};

/** Reads the token from standard input: the first non-empty line, or typed without echo on a terminal. */
async function readTokenFromStdin(): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) {
    const text = await new Response(Deno.stdin.readable).text();
    return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== "");
  }
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode("Hugging Face access token (input hidden): "));
  Deno.stdin.setRaw(true);
  let token = "";
  try {
    const buffer = new Uint8Array(256);
    reading: while (true) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) break;
      for (const byte of buffer.subarray(0, count)) {
        if (byte === 0x0d || byte === 0x0a) break reading;
        if (byte === 0x03) return undefined; // Ctrl-C
        if (byte === 0x7f || byte === 0x08) token = token.slice(0, -1);
        else if (byte >= 0x20) token += String.fromCharCode(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return token.trim() || undefined;
}
