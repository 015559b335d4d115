/**
 * Terminal rendering of run events: one plain line per epoch with losses, mAP50,
 * elapsed time and ETA, and short lines for status and set-up steps.
 *
 * @module
 */
import type { EpochEvent, TrainEvent } from "./events.ts";
import { formatDuration } from "./run.ts";

/** Formats one epoch as a progress line. */
export function formatEpochLine(event: EpochEvent): string {
  const width = String(event.epochs).length;
  const parts = [`epoch ${String(event.epoch).padStart(width)}/${event.epochs}`];
  const losses = Object.entries(event.metrics)
    .filter(([name]) => name.startsWith("train/") && name.endsWith("loss"))
    .map(([name, value]) => `${name.slice(6, -5).replace(/_$/, "")} ${formatNumber(value)}`);
  if (losses.length > 0) parts.push(`loss ${losses.join(" ")}`);
  for (
    const [label, key] of [["P", "metrics/precision(B)"], ["R", "metrics/recall(B)"], [
      "mAP50",
      "metrics/mAP50(B)",
    ], [
      "mAP50-95",
      "metrics/mAP50-95(B)",
    ]]
  ) {
    if (key in event.metrics) parts.push(`${label} ${formatNumber(event.metrics[key])}`);
  }
  parts.push(`elapsed ${formatDuration(event.elapsedSeconds)}`);
  parts.push(`ETA ${formatDuration(event.etaSeconds)}`);
  return parts.join("  ");
}

/**
 * Formats any event for a terminal; returns undefined for events that are not
 * shown (trainer log lines unless `verbose`).
 */
export function formatEventLine(event: TrainEvent, verbose = false): string | undefined {
  switch (event.type) {
    case "epoch":
      return formatEpochLine(event);
    case "setup":
      return `· ${event.message}`;
    case "status":
      return `· status ${event.status}${event.stage ? ` (${event.stage})` : ""}${
        event.message ? `: ${event.message}` : ""
      }`;
    case "start":
      return `· training ${event.model} for ${event.epochs} epochs on ${event.device} ` +
        `(ultralytics ${event.versions.ultralytics}, torch ${event.versions.torch})`;
    case "push":
      return `· pushed ${event.files.length} files to ${event.repo}${
        event.final ? " (final)" : ` after epoch ${event.epoch}`
      }`;
    case "finish":
      return `· training finished in ${formatDuration(event.elapsedSeconds)}` +
        (event.bestEpoch ? `, best epoch ${event.bestEpoch}` : "");
    case "error":
      return `✗ ${event.message}`;
    case "log":
      return verbose ? `  ${event.line}` : undefined;
  }
}

function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(3);
}
