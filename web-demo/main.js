// pageflate inspector (skeleton): decode the bundled real qpl pages with the wasm build and
// check each against the guest RAM digest from the capture's snapshot.
import init, { decodePage, pageSize } from "./pkg/pageflate_wasm.js";

const $ = (id) => document.getElementById(id);
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Split the sample's records: be64 offset, be32 length, bytes. */
function parseRecords(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pages = [];
  for (let at = 0; at < bytes.length;) {
    if (at + 12 > bytes.length) throw new Error(`sample record truncated at byte ${at}`);
    const offset = view.getBigUint64(at);
    const length = view.getUint32(at + 8);
    if (at + 12 + length > bytes.length) throw new Error(`sample record truncated at byte ${at}`);
    pages.push({ offset, data: bytes.subarray(at + 12, at + 12 + length) });
    at += 12 + length;
  }
  return pages;
}

async function main() {
  await init();
  const [bin, manifest] = await Promise.all([
    fetch("sample/qpl-pages.bin").then((r) => r.arrayBuffer()),
    fetch("sample/qpl-pages.json").then((r) => r.json()),
  ]);
  const pages = parseRecords(new Uint8Array(bin));
  const rows = [];
  let verified = 0;
  let wire = 0;
  const started = performance.now();
  for (const [i, page] of pages.entries()) {
    const decoded = decodePage(page.data);
    const digest = hex(await crypto.subtle.digest("SHA-256", decoded));
    const ok = digest === manifest.pages[i].sha256;
    verified += ok ? 1 : 0;
    wire += page.data.length;
    rows.push({ i, page, digest, ok });
  }
  const ms = performance.now() - started;
  const body = $("pages").tBodies[0];
  for (const { i, page, digest, ok } of rows) {
    const tr = body.insertRow();
    tr.dataset.page = String(i);
    const kind = page.data.length === pageSize() ? "raw" : "deflate";
    for (const [text, cls] of [[i], ["0x" + page.offset.toString(16), "mono"], [page.data.length],
      [kind], [digest, "mono"], [ok ? "yes" : "NO", ok ? "" : "bad"]]) {
      const td = tr.insertCell();
      td.textContent = String(text);
      if (cls) td.className = cls;
    }
  }
  const summary = {
    "source": manifest.source,
    "pages": pages.length,
    "bytes on the wire": wire,
    "ratio": (wire / (pages.length * pageSize())).toFixed(3),
    "verified against RAM": `${verified} of ${pages.length}`,
    "decode + hash time": `${ms.toFixed(1)} ms`,
  };
  for (const [k, v] of Object.entries(summary)) {
    $("summary").insertAdjacentHTML("beforeend", "<dt></dt><dd></dd>");
    $("summary").lastElementChild.previousElementSibling.textContent = k;
    $("summary").lastElementChild.textContent = String(v);
  }
  const status = $("status");
  status.dataset.state = verified === pages.length ? "ok" : "error";
  status.dataset.verified = String(verified);
  status.textContent = verified === pages.length
    ? `All ${pages.length} pages decoded and match the guest's RAM.`
    : `${pages.length - verified} of ${pages.length} pages do not match.`;
}

main().catch((e) => {
  const status = $("status");
  status.dataset.state = "error";
  status.textContent = `Error: ${e.message}`;
});
