// The inspector in real headless Chromium (Debian's /usr/bin/chromium via playwright-core):
// it opens the bundled real capture with the numbers the native build computed; a capture
// from ../shared/captures opened through the file picker shows, for a given page, the same
// SHA-256 as the native CLI; a corrupted capture lists its anomaly with channel and byte.
// Screenshots of the main views go to artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, mkdir, readdir, rm } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { serve } from "./serve.mjs";
import { launch } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const root = join(repo, "web-demo");
const artifacts = join(repo, "artifacts");
const shared = process.env.PAGEFLATE_SHARED ?? join(repo, "..", "shared");
let server, browser;

/** Run the native CLI (built by cargo if needed). */
function pageflate(...args) {
  return execFileSync("cargo", ["run", "-q", "-p", "pageflate", "--", ...args], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('#status:not([data-state="loading"])', { timeout: 60000 });
  return { page, errors };
}

async function shot(page, name) {
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `inspector-${name}.png`) });
}

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

test("the bundled capture opens with the native build's numbers; every view renders", async () => {
  const { page, errors } = await openPage();
  assert.equal(await page.getAttribute("#status", "data-state"), "ok", await page.textContent("#status"));
  const expected = JSON.parse(await readFile(join(root, "sample", "qpl-2ch.expected.json"), "utf8"));
  const card = (key) => page.textContent(`.card[data-key="${key}"] b`);
  assert.equal(await card("method"), "qpl");
  assert.equal(await card("raw pages"), expected.summary.raw_pages.toLocaleString("en-US"));
  assert.equal(await card("deflate pages"), expected.summary.deflate_pages.toLocaleString("en-US"));
  assert.match(await page.textContent("#status"), new RegExp(`${expected.pages.toLocaleString("en-US")} pages`));
  assert.equal(await page.locator("#timeline rect").count() > 100, true);
  assert.equal(await page.locator("#histogram rect").count(), 33);
  await shot(page, "overview");

  // Pages: keyboard to the view, the first page's digest equals the native fingerprint.
  await page.keyboard.press("3");
  await page.waitForFunction(() => document.body.dataset.shownPage === "0");
  assert.equal(await page.textContent("#page-digest"), expected.first_page_digests[0]);
  // Next page with "j"; then pick a deflate page and link a match token to its bytes.
  await page.keyboard.press("j");
  await page.waitForFunction(() => document.body.dataset.shownPage === "1");
  assert.equal(await page.textContent("#page-digest"), expected.first_page_digests[1]);
  const deflatePage = await page.evaluate(() => {
    const rows = [...document.querySelectorAll("#page-list tbody tr")];
    const r = rows.find((tr) => Number(tr.cells[4].textContent) > 0 && Number(tr.cells[4].textContent) < 4096);
    return Number(r.dataset.page);
  });
  await page.fill("#goto", String(deflatePage));
  await page.dispatchEvent("#goto", "change");
  await page.waitForFunction((n) => document.body.dataset.shownPage === String(n), deflatePage);
  const match = page.locator("#tokens tbody tr", { hasText: "match" }).first();
  await match.click();
  assert.ok(await page.locator("#hex-page span.sel").count() >= 3, "a match highlights ≥ 3 decoded bytes");
  assert.ok(await page.locator("#hex-wire span.on").count() >= 1, "and its bytes on the wire");
  await shot(page, "page-and-tokens");

  await page.keyboard.press("4");
  await page.locator("#section-list tbody tr", { hasText: "FULL" }).or(page.locator("#section-list tbody tr", { hasText: "Full" })).first().click();
  assert.ok(await page.locator("#fields tbody tr").count() > 0);
  await shot(page, "sections");
  await page.keyboard.press("2");
  assert.ok(await page.locator("#packets tbody tr").count() > 10);
  await shot(page, "packets");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a shared capture opened through the file picker shows the native page digest", async () => {
  const { page, errors } = await openPage();
  const dir = join(shared, "captures", "zlib-2ch");
  const files = (await readdir(dir)).filter((f) => f.startsWith("conn-")).map((f) => join(dir, f));
  await page.setInputFiles("#files", files);
  await page.waitForFunction(() => /zlib capture/.test(document.querySelector("#status").textContent), null, { timeout: 60000 });
  const n = 5000;
  const native = JSON.parse(pageflate("inspect", dir, "--page", String(n)));
  await page.keyboard.press("3");
  await page.fill("#goto", String(n));
  await page.dispatchEvent("#goto", "change");
  await page.waitForFunction((k) => document.body.dataset.shownPage === String(k), n);
  assert.equal(await page.textContent("#page-digest"), native.sha256);
  assert.match(await page.textContent("#page-title"), new RegExp(`0x${native.offset.toString(16)}`));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a corrupted capture shows its anomaly with the channel and byte", async () => {
  const dir = join(tmpdir(), `pageflate-corrupt-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  pageflate("demo", "--json", "--record", dir);
  const file = join(dir, "conn-1.bin");
  const bytes = await readFile(file);
  // Break the magic of the channel's second packet.
  const first = 64;
  const second = first + 1344 + bytes.readUInt32BE(first + 20);
  bytes.writeUInt32BE(0xdeadbeef, second);
  await writeFile(file, bytes);
  const { page } = await openPage();
  const files = (await readdir(dir)).map((f) => join(dir, f));
  await page.setInputFiles("#files", files);
  await page.waitForFunction(() => /DAMAGED/.test(document.querySelector("#status").textContent), null, { timeout: 60000 });
  await page.keyboard.press("5");
  const rows = await page.$$eval("#anomalies tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const hit = rows.find((r) => r[0] === "error" && r[2] === second.toLocaleString("en-US"));
  assert.ok(hit, `no error anomaly at byte ${second}: ${JSON.stringify(rows)}`);
  assert.match(hit[3], /magic/i);
  assert.equal(await page.textContent("#anomaly-count"), String(rows.length));
  await shot(page, "anomalies");
  await page.close();
  await rm(dir, { recursive: true, force: true });
});
