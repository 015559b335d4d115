/**
 * Typed errors. Every error trainbook raises for bad input or a failed step is a
 * {@linkcode TrainbookError}. Its message states what failed, where (file and line),
 * the offending value, and what to do next. Tokens are redacted from every message.
 *
 * @module
 */

/** Location and cause of an error, kept as fields for programs and tests. */
export interface ErrorDetails {
  /** File the problem is in. */
  file?: string;
  /** 1-based line number in `file`. */
  line?: number;
  /** The offending value, as read. */
  value?: unknown;
  /** Fix the user can apply. */
  hint?: string;
  /** The underlying error, when one exists. */
  cause?: unknown;
}

const TOKEN_PATTERN = /hf_[A-Za-z0-9_-]{6,}/g;

/** Replaces anything that looks like a Hugging Face token with `hf_***`. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, "hf_***");
}

function formatValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 120 ? value.slice(0, 117) + "..." : value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Formats `file:line: summary (value ...). hint` as one readable message. */
export function formatErrorMessage(summary: string, details: ErrorDetails): string {
  let location = "";
  if (details.file !== undefined) {
    location = details.line !== undefined ? `${details.file}:${details.line}: ` : `${details.file}: `;
  }
  let message = location + summary;
  if ("value" in details && details.value !== undefined) message += ` (value: ${formatValue(details.value)})`;
  if (details.hint) message += `. ${details.hint}`;
  return redactTokens(message);
}

/** Base class of every error trainbook raises on purpose. */
export class TrainbookError extends Error {
  /** File the problem is in, if any. */
  readonly file?: string;
  /** 1-based line in `file`, if any. */
  readonly line?: number;
  /** The offending value, if any. */
  readonly value?: unknown;
  /** Fix to apply. */
  readonly hint?: string;

  /** Builds the message from `summary` and the details (see {@linkcode formatErrorMessage}). */
  constructor(summary: string, details: ErrorDetails = {}) {
    super(
      formatErrorMessage(summary, details),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = new.target.name;
    this.file = details.file;
    this.line = details.line;
    this.value = details.value;
    this.hint = details.hint;
  }
}

/** A dataset (data.yaml, split folders, label files) is missing or malformed. */
export class DatasetError extends TrainbookError {}

/** An option passed to a trainbook function or command is invalid. */
export class OptionsError extends TrainbookError {}

/** The managed Python environment could not be created or used. */
export class PythonEnvError extends TrainbookError {}

/** A training or evaluation process failed. */
export class TrainingError extends TrainbookError {}

/** A results.csv or args.yaml file could not be read. */
export class ResultsError extends TrainbookError {}

/** The run history database could not be opened, read or written. */
export class HistoryError extends TrainbookError {}

/** A run id, run folder or artifact does not exist. */
export class NotFoundError extends TrainbookError {}

/** A Hugging Face token is missing, malformed or rejected. */
export class AuthError extends TrainbookError {}

/** A Hugging Face Hub or Jobs request failed. */
export class HubError extends TrainbookError {
  /** HTTP status, when the request got a response. */
  readonly status?: number;
  /** Request URL, without query string. */
  readonly url?: string;
  /** Value of the X-Request-Id header, for support requests. */
  readonly requestId?: string;

  /** Builds the message as {@linkcode TrainbookError} does and keeps the HTTP details. */
  constructor(
    summary: string,
    details: ErrorDetails & { status?: number; url?: string; requestId?: string } = {},
  ) {
    super(summary, details);
    this.status = details.status;
    this.url = details.url;
    this.requestId = details.requestId;
  }
}
