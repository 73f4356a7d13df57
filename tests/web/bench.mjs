// The WebAssembly half of the Node-vs-native decode comparison (scripts/bench-wasm.sh):
// decodes the pages file written by `decode_bench` with pageflate's wasm build in Node,
// median of 7 passes, and prints both rates and their ratio.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import init, { decodeAll } from "../../web-demo/pkg/pageflate_wasm.js";

const [pagesFile, nativeJson] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
await init({ module_or_path: await readFile(join(here, "..", "..", "web-demo", "pkg", "pageflate_wasm_bg.wasm")) });
const file = await readFile(pagesFile);
const n = file.readUInt32LE(0);
const lengths = new Uint32Array(n);
for (let i = 0; i < n; i++) lengths[i] = file.readUInt32LE(4 + 4 * i);
const data = new Uint8Array(file.buffer, file.byteOffset + 4 + 4 * n);
const rates = [];
for (let pass = 0; pass < 7; pass++) {
  const t = performance.now();
  const bytes = decodeAll(data, lengths);
  rates.push(bytes / ((performance.now() - t) / 1e3) / 1e6);
}
rates.sort((a, b) => a - b);
const native = JSON.parse(nativeJson);
const wasm = rates[3];
console.log(`decode ${n} corpus pages (pageflate fast level, qpl framing): native ${native.native_mb_per_s.toFixed(0)} MB/s, ` +
  `WebAssembly in Node ${process.version} ${wasm.toFixed(0)} MB/s = ${((100 * wasm) / native.native_mb_per_s).toFixed(0)}% of native (goal ≥ 50%)`);
