// pageflate inspector: opens a captured QEMU migration (the bundled one, or files the user
// picks or drops) with pageflate's WebAssembly build and shows it view by view. Every
// answer comes from the wasm CaptureView; this file only lays it out. Nothing is uploaded.
import init, { CaptureView } from "./pkg/pageflate_wasm.js";

const $ = (sel) => document.querySelector(sel);
const PAGE_ROWS = 200;
const PACKET_ROWS = 100;
const BUNDLED = ["conn-0.bin.zst", "conn-1.bin.zst", "conn-2.bin.zst"].map((f) => `sample/qpl-2ch/${f}`);

const state = { view: null, summary: null, page: 0, pageListStart: 0, packetStart: 0, trace: null, wire: null, decoded: null };

const hex2 = (b) => b.toString(16).padStart(2, "0");
const hexOf = (buf) => [...new Uint8Array(buf)].map(hex2).join("");
const fmt = (n) => (n ?? 0).toLocaleString("en-US");
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function setStatus(text, st) {
  const s = $("#status");
  s.textContent = text;
  s.dataset.state = st;
}

function rows(tbody, html) {
  $(tbody).innerHTML = html.join("");
}

/** Open a capture from [{name, data}] and render every view. */
function openCapture(files, label) {
  const started = performance.now();
  state.view?.free();
  state.view = null;
  try {
    state.view = new CaptureView(files);
  } catch (e) {
    setStatus(`Cannot open ${label}: ${e.message ?? e}`, "error");
    return;
  }
  state.summary = JSON.parse(state.view.summary());
  state.page = 0;
  state.pageListStart = 0;
  state.packetStart = 0;
  renderOverview();
  renderPacketChannels();
  renderPackets();
  renderPageList();
  showPage(0);
  renderSections();
  const anomalies = renderAnomalies();
  const ms = Math.round(performance.now() - started);
  const damaged = state.summary.damaged ? " — DAMAGED, see Anomalies" : "";
  setStatus(`${label}: ${state.summary.method ?? state.summary.kind} capture, ${fmt(state.view.pageCount())} pages, ${anomalies} anomalies, opened in ${ms} ms${damaged}`, state.summary.damaged ? "damaged" : "ok");
}

function renderOverview() {
  const s = state.summary;
  const pages = s.normal_pages + s.zero_pages + s.main_pages;
  const cards = [
    ["method", s.method ?? "(none)"], ["kind", s.kind], ["machine", s.machine ?? "?"],
    ["channels", s.channels.length], ["pages", fmt(pages)], ["zero pages", fmt(s.zero_pages)],
    ["raw pages", fmt(s.raw_pages)], ["deflate pages", fmt(s.deflate_pages)],
    ["payload / data pages", s.ratio ? s.ratio.toFixed(3) : "–"], ["device sections", s.device_sections],
  ];
  $("#overview-cards").innerHTML = cards.map(([k, v]) => `<div class="card" data-key="${esc(k)}"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join("");
  rows("#channels tbody", s.channels.map((c) => {
    const ratio = c.normal_pages ? (c.payload_bytes / (c.normal_pages * s.page_size)).toFixed(3) : "–";
    return `<tr><td>${c.id}</td><td class="num">${fmt(c.bytes)}</td><td class="num">${fmt(c.packets)}</td><td class="num">${fmt(c.sync_packets)}</td><td class="num">${fmt(c.normal_pages + c.zero_pages)}</td><td class="num">${fmt(c.zero_pages)}</td><td class="num">${fmt(c.raw_pages)}</td><td class="num">${fmt(c.deflate_pages)}</td><td class="num">${fmt(c.payload_bytes)}</td><td class="num">${ratio}</td></tr>`;
  }));
  renderTimeline();
  renderHistogram();
  rows("#blocks tbody", s.blocks.map((b) => `<tr><td>${esc(b.name)}</td><td class="num">${fmt(b.bytes)}</td><td><button data-export-block="${esc(b.name)}">Export</button></td></tr>`));
}

function renderTimeline() {
  const s = state.summary;
  const width = 900, lane = 22;
  const parts = [];
  s.channels.forEach((c, i) => {
    const packets = JSON.parse(state.view.packets(i, 0, 1e9));
    const y = 4 + i * lane;
    parts.push(`<text x="0" y="${y + 13}">ch ${c.id}</text>`);
    for (const p of packets) {
      const x = 40 + (p.at / Math.max(1, c.bytes)) * (width - 50);
      const w = Math.max(0.6, (p.wire_bytes / Math.max(1, c.bytes)) * (width - 50));
      const color = p.kind === "sync" ? "#d1495b" : p.kind === "device-state" ? "#8f5bd6" : p.zero_pages === 128 ? "#bfc7d1" : "#1d5fbf";
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="16" fill="${color}"><title>packet ${p.index} (#${p.packet_num ?? ""}) ${p.kind} at byte ${p.at}</title></rect>`);
    }
  });
  const h = 8 + s.channels.length * lane;
  $("#timeline").innerHTML = s.channels.length
    ? `<svg width="${width}" height="${h}" role="img" aria-label="channel timeline">${parts.join("")}</svg><div><small>blue: RAM packet · grey: zero pages only · red: SYNC · purple: device state</small></div>`
    : "<small>No multifd channels.</small>";
}

function renderHistogram() {
  const sizes = state.view.wireSizes();
  if (!sizes.length) {
    $("#histogram").innerHTML = "<small>No page carries bytes of its own (zero pages or a stream method).</small>";
    return;
  }
  const bins = new Array(33).fill(0);
  for (const n of sizes) bins[Math.min(32, Math.floor(n / 128))]++;
  const max = Math.max(...bins);
  const bw = 24, h = 120;
  const bars = bins.map((c, i) => {
    const bh = max ? (c / max) * h : 0;
    const label = i === 32 ? "4096 (raw)" : `${i * 128}–${i * 128 + 127}`;
    return `<rect x="${i * bw + 30}" y="${h - bh + 5}" width="${bw - 3}" height="${bh}" fill="${i === 32 ? "#d1495b" : "#1d5fbf"}"><title>${label} bytes: ${c} pages</title></rect>`;
  });
  const ticks = [0, 8, 16, 24, 32].map((i) => `<text x="${i * bw + 30}" y="${h + 18}">${i * 128}</text>`);
  $("#histogram").innerHTML = `<svg width="${33 * bw + 60}" height="${h + 24}" role="img" aria-label="histogram of compressed page sizes">${bars.join("")}${ticks.join("")}<text x="0" y="12">${max}</text></svg><div><small>${fmt(sizes.length)} pages; red = sent raw (did not compress below 4095 bytes)</small></div>`;
}

function renderPacketChannels() {
  $("#packet-channel").innerHTML = state.summary.channels.map((c, i) => `<option value="${i}">channel ${c.id}</option>`).join("");
}

function renderPackets() {
  const ch = Number($("#packet-channel").value || 0);
  const c = state.summary.channels[ch];
  if (!c) {
    rows("#packets tbody", ["<tr><td colspan=10>No multifd channels in this capture.</td></tr>"]);
    return;
  }
  const list = JSON.parse(state.view.packets(ch, state.packetStart, PACKET_ROWS));
  $("#packets-range").textContent = `${state.packetStart}–${state.packetStart + list.length - 1} of ${c.packets}`;
  rows("#packets tbody", list.map((p) => `<tr><td class="num">${p.index}</td><td class="num">${fmt(p.at)}</td><td>${p.kind}</td><td class="num">${p.packet_num ?? ""}</td><td>${esc(p.block ?? p.idstr ?? "")}</td><td>${p.method ?? ""}</td><td class="num">${p.normal_pages ?? ""}</td><td class="num">${p.zero_pages ?? ""}</td><td class="num">${fmt(p.payload_bytes)}</td><td class="num">${fmt(p.wire_bytes)}</td></tr>`));
}

function renderPageList() {
  const total = state.view.pageCount();
  $("#page-total").textContent = `of ${fmt(total)} (0–${total - 1})`;
  const list = JSON.parse(state.view.pages(state.pageListStart, PAGE_ROWS));
  rows("#page-list tbody", list.map((p) => `<tr data-page="${p.index}" class="${p.index === state.page ? "selected" : ""}"><td class="num">${p.index}</td><td>${esc(p.block)}</td><td class="num">0x${p.offset.toString(16)}</td><td>${p.source}${p.channel !== null ? ` ch${p.channel}/p${p.packet}` : ""}</td><td class="num">${p.wire_bytes ?? "–"}</td></tr>`));
}

/** Hex dump with one span per byte (data-i = byte index) so selections can be linked. */
function hexDump(bytes) {
  const out = [];
  for (let row = 0; row < bytes.length; row += 16) {
    out.push(`<span class="addr">${row.toString(16).padStart(4, "0")}</span> `);
    for (let i = row; i < Math.min(row + 16, bytes.length); i++) out.push(`<span class="b" data-i="${i}">${hex2(bytes[i])}</span> `);
    out.push("\n");
  }
  return out.join("");
}

async function showPage(index) {
  const total = state.view.pageCount();
  if (!total) return;
  index = Math.max(0, Math.min(total - 1, index));
  state.page = index;
  delete document.body.dataset.shownPage;
  if (index < state.pageListStart || index >= state.pageListStart + PAGE_ROWS) {
    state.pageListStart = Math.floor(index / PAGE_ROWS) * PAGE_ROWS;
  }
  renderPageList();
  $(`#page-list tr[data-page="${index}"]`)?.scrollIntoView({ block: "nearest" });
  $("#goto").value = index;
  const info = JSON.parse(state.view.pages(index, 1))[0];
  $("#page-title").textContent = `Page ${index}: ${info.block} at 0x${info.offset.toString(16)} (${info.source}${info.channel !== null ? `, channel ${info.channel}, packet ${info.packet}` : ""})`;
  let decoded;
  try {
    decoded = state.view.decodePage(index);
  } catch (e) {
    $("#page-digest").textContent = `error: ${e.message ?? e}`;
    $("#hex-page").textContent = "";
    return;
  }
  state.decoded = decoded;
  $("#page-digest").textContent = hexOf(await crypto.subtle.digest("SHA-256", decoded));
  state.wire = state.view.pageWire(index);
  $("#wire-note").textContent = state.wire.length
    ? `${state.wire.length} bytes at byte ${fmt(info.wire_at)} of its file${info.deflate ? ", raw deflate" : ", sent as is"}`
    : info.source === "zero" ? "(a zero page: only its offset travels)" : "(its packet's pages share one compressed stream)";
  $("#hex-wire").innerHTML = hexDump(state.wire);
  $("#hex-page").innerHTML = hexDump(decoded);
  state.trace = info.deflate ? JSON.parse(state.view.pageTrace(index)) : null;
  renderTrace();
  document.body.dataset.shownPage = String(index); // every pane now shows this page
}

function renderTrace() {
  const t = state.trace;
  if (!t) {
    $("#blocks-view").innerHTML = "<small>Not a deflate page.</small>";
    rows("#tokens tbody", []);
    return;
  }
  if (t.error) {
    $("#blocks-view").innerHTML = `<span class="sev-error">${esc(t.error)}</span>`;
    rows("#tokens tbody", []);
    return;
  }
  $("#blocks-view").innerHTML = t.blocks.map((b, i) => {
    const used = b.litlen_lengths.filter((l) => l).length;
    const lens = b.type === "dynamic" ? `<div class="lengths">lit/len lengths: ${b.litlen_lengths.join(" ")}<br>dist lengths: ${b.dist_lengths.join(" ")}</div>` : "";
    return `<div class="block-card">block ${i}: <b>${b.type}</b>${b.final ? " (final)" : ""}, header bits ${b.header_bits[0]}–${b.header_bits[1]}, ${b.token_count} tokens${b.type !== "stored" ? `, ${used} lit/len codes` : ""}${lens}</div>`;
  }).join("") + `<div><small>${t.bits_used} bits = ${Math.ceil(t.bits_used / 8)} bytes used</small></div>`;
  const MAX = 3000;
  rows("#tokens tbody", t.tokens.slice(0, MAX).map(([kind, a, b, bs, be, os, oe], i) => {
    const value = kind === "lit" ? `0x${hex2(a)}${a >= 32 && a < 127 ? ` '${esc(String.fromCharCode(a))}'` : ""}` : kind === "match" ? `len ${a}, dist ${b}` : kind === "stored" ? `${a} bytes` : "";
    return `<tr data-token="${i}"><td class="num">${i}</td><td>${kind}</td><td>${value}</td><td class="num">${bs}–${be}</td><td class="num">${os}–${oe}</td></tr>`;
  }).concat(t.tokens.length > MAX ? [`<tr><td colspan=5>… ${t.tokens.length - MAX} more</td></tr>`] : []));
}

/** Highlight token `i`: its output bytes in the decoded dump and its bytes on the wire. */
function selectToken(i) {
  const tok = state.trace?.tokens?.[i];
  document.querySelectorAll(".hex span.on, .hex span.sel, #tokens tr.selected").forEach((e) => e.classList.remove("on", "sel", "selected"));
  if (!tok) return;
  const [, , , bs, be, os, oe] = tok;
  $(`#tokens tr[data-token="${i}"]`)?.classList.add("selected");
  for (let k = os; k < oe; k++) $(`#hex-page span[data-i="${k}"]`)?.classList.add("sel");
  for (let k = Math.floor(bs / 8); k < Math.ceil(be / 8); k++) $(`#hex-wire span[data-i="${k}"]`)?.classList.add("on");
  $(`#hex-page span[data-i="${os}"]`)?.scrollIntoView({ block: "nearest" });
}

/** The token that produced decoded byte `k`, or covers wire byte `k`. */
function tokenAt(k, onWire) {
  const toks = state.trace?.tokens ?? [];
  return toks.findIndex(([, , , bs, be, os, oe]) => (onWire ? Math.floor(bs / 8) <= k && k < Math.ceil(be / 8) : os <= k && k < oe));
}

function renderSections() {
  state.sections = JSON.parse(state.view.sections());
  rows("#section-list tbody", state.sections.map((s, i) => `<tr data-section="${i}"><td>${s.kind}</td><td class="num">${s.id}</td><td>${esc(s.idstr)}</td><td class="num">${s.instance}</td><td class="num">${s.version}</td><td class="num">${fmt(s.at)}</td><td class="num">${fmt(s.bytes)}</td></tr>`));
  rows("#fields tbody", []);
}

function showSection(i) {
  const s = state.sections[i];
  document.querySelectorAll("#section-list tr.selected").forEach((e) => e.classList.remove("selected"));
  $(`#section-list tr[data-section="${i}"]`)?.classList.add("selected");
  $("#section-title").textContent = `${s.idstr} (instance ${s.instance}, version ${s.version}), ${fmt(s.bytes)} bytes at ${fmt(s.at)}`;
  rows("#fields tbody", (s.fields ?? [{ path: "(no VM description for this section)", type: "", hex: "" }]).map((f) => `<tr><td>${esc(f.path)}</td><td>${esc(f.type)}</td><td><code>${esc(f.hex.length > 96 ? f.hex.slice(0, 96) + "…" : f.hex)}</code></td></tr>`));
}

function renderAnomalies() {
  const list = JSON.parse(state.view.anomalies());
  $("#anomaly-count").textContent = list.length ? String(list.length) : "";
  rows("#anomalies tbody", list.length ? list.map((a) => `<tr><td class="sev-${a.severity}">${a.severity}</td><td>${a.channel ?? "main"}</td><td class="num">${fmt(a.offset)}</td><td>${esc(a.message)}</td></tr>`) : ["<tr><td colspan=4>None: every record parsed.</td></tr>"]);
  return list.length;
}

function showView(name) {
  document.querySelectorAll("nav [role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === name)));
  document.querySelectorAll(".view").forEach((v) => (v.hidden = v.id !== `view-${name}`));
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes]));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function readFiles(fileList) {
  return Promise.all([...fileList].map(async (f) => ({ name: f.webkitRelativePath || f.name, data: new Uint8Array(await f.arrayBuffer()) })));
}

/** Files and directories dropped on the page (directories read recursively). */
async function droppedFiles(items) {
  const out = [];
  const walk = (entry) => new Promise((resolve) => {
    if (entry.isFile) entry.file((f) => { out.push(f); resolve(); }, resolve);
    else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const next = () => reader.readEntries(async (batch) => {
        if (!batch.length) { await Promise.all(all.map(walk)); resolve(); } else { all.push(...batch); next(); }
      }, resolve);
      next();
    } else resolve();
  });
  await Promise.all([...items].map((it) => it.webkitGetAsEntry?.()).filter(Boolean).map(walk));
  return out;
}

function wire() {
  document.querySelectorAll("nav [role=tab]").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  for (const id of ["#files", "#dir"]) {
    $(id).addEventListener("change", async (e) => {
      const files = await readFiles(e.target.files);
      openCapture(files, files.length === 1 ? files[0].name : `${files.length} files`);
    });
  }
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", async (e) => {
    e.preventDefault();
    const files = await readFiles(await droppedFiles(e.dataTransfer.items));
    openCapture(files, `${files.length} dropped files`);
  });
  $("#packet-channel").addEventListener("change", () => { state.packetStart = 0; renderPackets(); });
  $("#packets-prev").addEventListener("click", () => { state.packetStart = Math.max(0, state.packetStart - PACKET_ROWS); renderPackets(); });
  $("#packets-next").addEventListener("click", () => {
    const c = state.summary.channels[Number($("#packet-channel").value || 0)];
    if (c && state.packetStart + PACKET_ROWS < c.packets) state.packetStart += PACKET_ROWS;
    renderPackets();
  });
  $("#page-list").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-page]"); if (tr) showPage(Number(tr.dataset.page)); });
  // Enter or leaving the field; a page already shown is not drawn again (that would drop
  // the token selection the user just made).
  $("#goto").addEventListener("change", () => {
    const n = Number($("#goto").value);
    if (n !== state.page || document.body.dataset.shownPage === undefined) showPage(n);
  });
  $("#tokens").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-token]"); if (tr) selectToken(Number(tr.dataset.token)); });
  $("#hex-page").addEventListener("click", (e) => { const s = e.target.closest("span.b"); if (s) selectToken(tokenAt(Number(s.dataset.i), false)); });
  $("#hex-wire").addEventListener("click", (e) => { const s = e.target.closest("span.b"); if (s) selectToken(tokenAt(Number(s.dataset.i), true)); });
  $("#section-list").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-section]"); if (tr) showSection(Number(tr.dataset.section)); });
  $("#blocks").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-export-block]");
    if (!b) return;
    try {
      download(state.view.ramBlock(b.dataset.exportBlock), `${b.dataset.exportBlock.replace(/[^A-Za-z0-9._@-]/g, "_")}.bin`);
    } catch (err) {
      setStatus(`Export failed: ${err.message ?? err}`, "error");
    }
  });
  $("#export-page").addEventListener("click", () => state.decoded && download(state.decoded, `page-${state.page}.bin`));
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea")) return;
    const views = ["overview", "packets", "pages", "sections", "anomalies"];
    if (e.key >= "1" && e.key <= "5") showView(views[Number(e.key) - 1]);
    else if (e.key === "j" || e.key === "ArrowDown") { showView("pages"); showPage(state.page + 1); e.preventDefault(); }
    else if (e.key === "k" || e.key === "ArrowUp") { showView("pages"); showPage(state.page - 1); e.preventDefault(); }
    else if (e.key === "g") { showView("pages"); $("#goto").focus(); $("#goto").select(); e.preventDefault(); }
  });
}

async function main() {
  wire();
  try {
    await init();
    const files = await Promise.all(BUNDLED.map(async (url) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return { name: url.split("/").pop(), data: new Uint8Array(await r.arrayBuffer()) };
    }));
    openCapture(files, "bundled capture qpl-2ch (real QEMU 10.0.2, qpl, 2 channels)");
  } catch (e) {
    setStatus(`Error: ${e.message ?? e}`, "error");
  }
}

main();
