/**
 * Hardware flavors of Hugging Face Jobs: the list with hourly prices (shown as
 * a table in Jupyter) and a check of a flavor name that suggests the closest
 * valid one.
 *
 * @module
 */
import { OptionsError } from "./errors.ts";
import { hubConfig, type HubOptions, hubParams, withHubErrors } from "./hub.ts";
import { htmlTable, JUPYTER_DISPLAY, plainTable, type TableColumn } from "./_table.ts";

/** GPU or accelerator of a flavor. */
export interface Accelerator {
  /** Kind, such as `gpu`. */
  type: string;
  /** Model, such as `A10G`. */
  model: string;
  /** Number of devices. */
  quantity: number;
  /** Memory of all devices together, as the Hub writes it (such as `24 GB`). */
  vram: string;
  /** Maker, such as `Nvidia`. */
  manufacturer: string;
}

/** One hardware flavor of Hugging Face Jobs. */
export interface HardwareFlavor {
  /** Name to pass as `flavor`, such as `a10g-small`. */
  name: string;
  /** Display name, such as `Nvidia A10G - small`. */
  prettyName: string;
  /** CPU share, as the Hub writes it (such as `4 vCPU`). */
  cpu: string;
  /** Memory, as the Hub writes it (such as `15 GB`). */
  ram: string;
  /** GPU, or null for CPU-only flavors. */
  accelerator: Accelerator | null;
  /** Price in US dollars per hour, from the Hub's per-minute price. */
  pricePerHour: number;
}

const COLUMNS: TableColumn[] = [
  { key: "name", label: "flavor" },
  { key: "prettyName", label: "name" },
  { key: "cpu", label: "CPU" },
  { key: "ram", label: "RAM" },
  { key: "gpu", label: "accelerator" },
  { key: "price", label: "USD/hour", right: true },
];

/** The hardware flavors of Jobs, cheapest first; displays as a table in Jupyter. */
export class HardwareList {
  /** Flavors, cheapest first. */
  readonly flavors: readonly HardwareFlavor[];

  /** Wraps `flavors`, sorting them by price and then by name. */
  constructor(flavors: readonly HardwareFlavor[]) {
    this.flavors = [...flavors].sort((a, b) =>
      a.pricePerHour - b.pricePerHour || a.name.localeCompare(b.name)
    );
  }

  /** Returns the flavor called `name`, or undefined. */
  get(name: string): HardwareFlavor | undefined {
    return this.flavors.find((flavor) => flavor.name === name);
  }

  /** Returns the flavor names, cheapest first. */
  names(): string[] {
    return this.flavors.map((flavor) => flavor.name);
  }

  /** Renders the list as an aligned plain-text table. */
  toString(): string {
    return plainTable(COLUMNS, this.#rows());
  }

  /** Returns the Jupyter display bundle: an HTML table with a plain-text fallback. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return {
      "text/plain": this.toString(),
      "text/html": htmlTable(COLUMNS, this.#rows(), "Hugging Face Jobs hardware (billed per minute)"),
    };
  }

  #rows(): Record<string, unknown>[] {
    return this.flavors.map((flavor) => ({
      name: flavor.name,
      prettyName: flavor.prettyName,
      cpu: flavor.cpu,
      ram: flavor.ram,
      gpu: flavor.accelerator
        ? `${flavor.accelerator.quantity}x ${flavor.accelerator.model} (${flavor.accelerator.vram})`
        : "",
      price: flavor.pricePerHour.toFixed(2),
    }));
  }
}

/**
 * Fetches the hardware flavors from the Jobs hardware endpoint (public, so no
 * token is needed).
 *
 * @throws {HubError} when the request fails after retries.
 */
export async function listHardware(options: HubOptions = {}): Promise<HardwareList> {
  const config = hubConfig(options);
  const items = await withHubErrors(
    { action: "list the Jobs hardware", endpoint: config.endpoint },
    async () => (await import("@huggingface/hub")).listJobHardware(hubParams(config)),
  );
  return new HardwareList(items.map((item) => ({
    name: item.name,
    prettyName: item.prettyName,
    cpu: item.cpu,
    ram: item.ram,
    accelerator: item.accelerator
      ? { ...item.accelerator, quantity: Number(item.accelerator.quantity) }
      : null,
    pricePerHour: hourlyPrice(item.unitCostUSD, item.unitCostMicroUSD, item.unitLabel),
  })));
}

const UNITS_PER_HOUR: Record<string, number> = { second: 3600, minute: 60, hour: 1 };

function hourlyPrice(unitCostUSD: number, unitCostMicroUSD: number, unitLabel: string): number {
  const perUnit = Number.isFinite(unitCostUSD) ? unitCostUSD : unitCostMicroUSD / 1e6;
  const unitsPerHour = UNITS_PER_HOUR[unitLabel] ?? 60;
  // Round to a tenth of a cent: the per-minute price is itself rounded.
  return Math.round(perUnit * unitsPerHour * 1000) / 1000;
}

/**
 * Returns the flavor called `name`, or throws {@linkcode OptionsError} listing
 * the valid flavors and suggesting the closest name. Names that mention TPU get
 * a note that Jobs offers no TPU flavor.
 *
 * @example
 * ```ts
 * import { HardwareList, validateFlavor } from "./hardware.ts";
 * const hardware = new HardwareList([
 *   { name: "t4-small", prettyName: "Nvidia T4 - small", cpu: "4 vCPU", ram: "15 GB", accelerator: null, pricePerHour: 0.4 },
 * ]);
 * console.assert(validateFlavor("t4-small", hardware).pricePerHour === 0.4);
 * ```
 */
export function validateFlavor(name: string, hardware: HardwareList): HardwareFlavor {
  const found = hardware.get(name);
  if (found) return found;

  const names = hardware.names();
  const closest = closestName(name.trim().toLowerCase(), names);
  const notes: string[] = [];
  if (/tpu/i.test(name)) {
    notes.push("Hugging Face Jobs offers no TPU flavor; use a GPU flavor such as a10g-small or l4x1");
  }
  if (closest) notes.push(`Did you mean "${closest}"?`);
  notes.push(`Valid flavors: ${names.join(", ")}`);
  throw new OptionsError("Unknown Jobs hardware flavor", { value: name, hint: notes.join(". ") });
}

function closestName(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A suggestion that needs more edits than half the name is a guess, not a typo fix.
  return best !== undefined && bestDistance <= Math.max(2, Math.ceil(name.length / 2)) ? best : undefined;
}

/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
