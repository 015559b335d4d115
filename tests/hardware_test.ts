import assert from "node:assert/strict";
import { MockHub } from "./hub_mock/server.ts";
import { HardwareList, listHardware, validateFlavor } from "../lib/hardware.ts";
import { HubError, OptionsError } from "../lib/errors.ts";

Deno.test("listHardware() returns flavors with hourly prices", async () => {
  await using hub = await MockHub.start();
  const hardware = await listHardware({ endpoint: hub.url, token: hub.token });
  assert.equal(hardware.flavors[0].name, "cpu-basic");
  assert.equal(hardware.get("cpu-basic")?.pricePerHour, 0.01);
  assert.equal(hardware.get("t4-small")?.pricePerHour, 0.4);
  assert.equal(hardware.get("a100-large")?.pricePerHour, 2.5);
  assert.equal(hardware.get("h200x8")?.pricePerHour, 40);
  assert.equal(hardware.get("a10g-small")?.accelerator?.quantity, 1);
  assert.equal(hardware.get("l4x4")?.accelerator?.quantity, 4);
  assert.equal(hardware.get("cpu-upgrade")?.accelerator, null);
});

Deno.test("listHardware() works without a token", async () => {
  await using hub = await MockHub.start();
  const saved = Deno.env.get("HF_TOKEN");
  Deno.env.set("HF_TOKEN", "");
  try {
    const hardware = await listHardware({ endpoint: hub.url, token: "" });
    assert.ok(hardware.names().length > 10);
  } finally {
    if (saved === undefined) Deno.env.delete("HF_TOKEN");
    else Deno.env.set("HF_TOKEN", saved);
  }
});

Deno.test("listHardware() retries a 500 and maps a final failure", async () => {
  await using hub = await MockHub.start();
  hub.failNext("hardware", 1, { status: 500 });
  const hardware = await listHardware({ endpoint: hub.url, token: hub.token, retryBaseDelayMs: 1 });
  assert.ok(hardware.get("cpu-basic"));

  hub.failNext("hardware", 3, { status: 502 });
  const error = await listHardware({
    endpoint: hub.url,
    token: hub.token,
    retryBaseDelayMs: 1,
    maxRetries: 2,
  })
    .catch((e) => e);
  assert.ok(error instanceof HubError);
  assert.equal(error.status, 502);
});

Deno.test("HardwareList displays as text and HTML tables", async () => {
  await using hub = await MockHub.start();
  const hardware = await listHardware({ endpoint: hub.url, token: hub.token });
  const text = hardware.toString();
  assert.match(text.split("\n")[0], /^flavor\s+name\s+CPU\s+RAM\s+accelerator\s+USD\/hour$/);
  assert.match(text, /a10g-small\s+Nvidia A10G - small\s+4 vCPU\s+15 GB\s+1x A10G \(24 GB\)\s+1\.00/);

  const displayable = hardware as unknown as Record<symbol, () => Record<string, string>>;
  const output = displayable[Symbol.for("Jupyter.display")]();
  assert.equal(output["text/plain"], text);
  assert.match(output["text/html"], /^<table>/);
  assert.match(output["text/html"], /<td style="text-align:left">h200x8<\/td>/);
  assert.match(output["text/html"], /<td style="text-align:right">40\.00<\/td>/);
});

const LIST = new HardwareList([
  {
    name: "cpu-basic",
    prettyName: "CPU basic",
    cpu: "2 vCPU",
    ram: "16 GB",
    accelerator: null,
    pricePerHour: 0.01,
  },
  {
    name: "a10g-small",
    prettyName: "Nvidia A10G - small",
    cpu: "4 vCPU",
    ram: "15 GB",
    accelerator: { type: "gpu", model: "A10G", quantity: 1, vram: "24 GB", manufacturer: "Nvidia" },
    pricePerHour: 1,
  },
  {
    name: "t4-small",
    prettyName: "Nvidia T4 - small",
    cpu: "4 vCPU",
    ram: "15 GB",
    accelerator: { type: "gpu", model: "T4", quantity: 1, vram: "16 GB", manufacturer: "Nvidia" },
    pricePerHour: 0.4,
  },
]);

Deno.test("validateFlavor() returns a known flavor", () => {
  assert.equal(validateFlavor("t4-small", LIST).pricePerHour, 0.4);
});

Deno.test("validateFlavor() suggests the closest name", () => {
  assert.throws(() => validateFlavor("a10g-smal", LIST), (error: Error) => {
    assert.ok(error instanceof OptionsError);
    assert.match(error.message, /Unknown Jobs hardware flavor/);
    assert.match(error.message, /Did you mean "a10g-small"\?/);
    assert.match(error.message, /Valid flavors: cpu-basic, t4-small, a10g-small/);
    return true;
  });
});

Deno.test("validateFlavor() says Jobs has no TPU", () => {
  assert.throws(() => validateFlavor("tpu-v5e", LIST), (error: Error) => {
    assert.match(error.message, /offers no TPU flavor/);
    assert.match(error.message, /Valid flavors/);
    return true;
  });
});

Deno.test("validateFlavor() makes no wild guess", () => {
  assert.throws(() => validateFlavor("quantum-computer-xxl", LIST), (error: Error) => {
    assert.doesNotMatch(error.message, /Did you mean/);
    return true;
  });
});
