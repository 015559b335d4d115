/**
 * Hardware flavors the mock's `GET /api/jobs/hardware` returns, with the
 * hourly prices Hugging Face Jobs listed in August 2026. Jobs offers no TPU
 * and no H100 flavor.
 *
 * NOTE: names and prices are the listed ones; the CPU, RAM and VRAM figures are
 * plausible values for the display tests, not copied from the Hub.
 *
 * @module
 */

/** One item of `GET /api/jobs/hardware`, in the Hub's shape. */
export interface MockHardware {
  name: string;
  prettyName: string;
  cpu: string;
  ram: string;
  accelerator: { type: "gpu"; model: string; quantity: string; vram: string; manufacturer: "Nvidia" } | null;
  unitCostMicroUSD: number;
  unitCostUSD: number;
  unitLabel: "minute";
}

type Row = [
  name: string,
  prettyName: string,
  cpu: string,
  ram: string,
  gpu: [model: string, count: number, vramGb: number] | null,
  usdPerHour: number,
];

const ROWS: Row[] = [
  ["cpu-basic", "CPU basic", "2 vCPU", "16 GB", null, 0.01],
  ["cpu-upgrade", "CPU upgrade", "8 vCPU", "32 GB", null, 0.03],
  ["cpu-xl", "CPU XL", "16 vCPU", "124 GB", null, 1.0],
  ["cpu-performance", "CPU performance", "32 vCPU", "256 GB", null, 1.9],
  ["t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", ["T4", 1, 16], 0.4],
  ["t4-medium", "Nvidia T4 - medium", "8 vCPU", "30 GB", ["T4", 1, 16], 0.6],
  ["l4x1", "1x Nvidia L4", "8 vCPU", "30 GB", ["L4", 1, 24], 0.8],
  ["l4x4", "4x Nvidia L4", "48 vCPU", "186 GB", ["L4", 4, 96], 3.8],
  ["l40sx1", "1x Nvidia L40S", "8 vCPU", "62 GB", ["L40S", 1, 48], 1.8],
  ["l40sx4", "4x Nvidia L40S", "48 vCPU", "382 GB", ["L40S", 4, 192], 8.3],
  ["l40sx8", "8x Nvidia L40S", "192 vCPU", "1534 GB", ["L40S", 8, 384], 23.5],
  ["a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", ["A10G", 1, 24], 1.0],
  ["a10g-large", "Nvidia A10G - large", "12 vCPU", "46 GB", ["A10G", 1, 24], 1.5],
  ["a10g-largex2", "2x Nvidia A10G - large", "24 vCPU", "92 GB", ["A10G", 2, 48], 3.0],
  ["a10g-largex4", "4x Nvidia A10G - large", "48 vCPU", "184 GB", ["A10G", 4, 96], 5.0],
  ["a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", ["A100", 1, 80], 2.5],
  ["a100x4", "4x Nvidia A100", "48 vCPU", "568 GB", ["A100", 4, 320], 10.0],
  ["a100x8", "8x Nvidia A100", "96 vCPU", "1136 GB", ["A100", 8, 640], 20.0],
  ["h200", "1x Nvidia H200", "23 vCPU", "256 GB", ["H200", 1, 141], 5.0],
  ["h200x2", "2x Nvidia H200", "46 vCPU", "512 GB", ["H200", 2, 282], 10.0],
  ["h200x4", "4x Nvidia H200", "92 vCPU", "1024 GB", ["H200", 4, 564], 20.0],
  ["h200x8", "8x Nvidia H200", "184 vCPU", "2048 GB", ["H200", 8, 1128], 40.0],
  ["rtx-pro-6000", "1x Nvidia RTX PRO 6000", "12 vCPU", "96 GB", ["RTX PRO 6000", 1, 96], 2.75],
  ["rtx-pro-6000x2", "2x Nvidia RTX PRO 6000", "24 vCPU", "192 GB", ["RTX PRO 6000", 2, 192], 5.5],
  ["rtx-pro-6000x4", "4x Nvidia RTX PRO 6000", "48 vCPU", "384 GB", ["RTX PRO 6000", 4, 384], 11.0],
  ["rtx-pro-6000x8", "8x Nvidia RTX PRO 6000", "96 vCPU", "768 GB", ["RTX PRO 6000", 8, 768], 22.0],
];

/** Every flavor the mock offers, in the Hub's JSON shape. */
export const MOCK_HARDWARE: readonly MockHardware[] = ROWS.map((
  [name, prettyName, cpu, ram, gpu, usdPerHour],
) => ({
  name,
  prettyName,
  cpu,
  ram,
  accelerator: gpu
    ? { type: "gpu", model: gpu[0], quantity: String(gpu[1]), vram: `${gpu[2]} GB`, manufacturer: "Nvidia" }
    : null,
  unitCostMicroUSD: Math.round(usdPerHour * 1e6 / 60),
  unitCostUSD: usdPerHour / 60,
  unitLabel: "minute",
}));
