// The inspector page in real headless Chromium: it loads the wasm build, decodes the bundled
// real qpl pages, and every digest it shows equals the guest RAM digest in the manifest.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { serve } from "./serve.mjs";
import { launch } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "web-demo");
const artifacts = join(here, "..", "..", "artifacts");
let server, browser;

before(async () => {
  await readFile(join(root, "pkg", "pageflate_wasm_bg.wasm")).catch(() => {
    throw new Error("web-demo/pkg missing: run scripts/build-web.sh first");
  });
  server = await serve(root);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("bundled sample decodes in the browser and matches the guest RAM", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('#status[data-state="ok"], #status[data-state="error"]', { timeout: 30000 });
  const state = await page.getAttribute("#status", "data-state");
  assert.equal(state, "ok", await page.textContent("#status"));
  assert.deepEqual(errors, []);

  const manifest = JSON.parse(await readFile(join(root, "sample", "qpl-pages.json"), "utf8"));
  const shown = await page.$$eval("#pages tbody tr", (rows) => rows.map((r) => r.cells[4].textContent));
  assert.equal(shown.length, manifest.pages.length);
  assert.deepEqual(shown, manifest.pages.map((p) => p.sha256));

  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "web-demo-overview.png"), fullPage: false });
  await page.close();
});

test("a corrupted page is reported as an error, not silently decoded", async () => {
  const page = await browser.newPage();
  // Serve a sample whose first page is cut short.
  await page.route("**/sample/qpl-pages.bin", async (route) => {
    const body = await readFile(join(root, "sample", "qpl-pages.bin"));
    const view = new DataView(body.buffer, body.byteOffset);
    const len = view.getUint32(8);
    const data = Buffer.from(body);
    data.writeUInt32BE(len, 8);
    data.fill(0xff, 12 + 4, 12 + 40); // garbage inside the first page's deflate stream
    await route.fulfill({ body: data, contentType: "application/octet-stream" });
  });
  await page.goto(server.url);
  await page.waitForSelector('#status[data-state="error"], #status[data-state="ok"]', { timeout: 30000 });
  assert.equal(await page.getAttribute("#status", "data-state"), "error");
  assert.match(await page.textContent("#status"), /Error: .*(bit|byte) \d+/);
  await page.close();
});
