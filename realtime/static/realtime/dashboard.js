"use strict";
// Plain JavaScript, no build step. Everything from the server is put on the page with
// textContent, never innerHTML: headlines and questions are third-party text.
const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

function cell(row, name, text) { row.querySelector("." + name).textContent = text; }

// "3 s ago": elements with data-at (an ISO time) are rewritten every second.
function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (!isFinite(seconds)) return "–";
  if (seconds < 90) return seconds + " s ago";
  if (seconds < 90 * 60) return Math.round(seconds / 60) + " min ago";
  if (seconds < 36 * 3600) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}
function showAgo(el, iso) { el.dataset.at = iso || ""; el.textContent = iso ? ago(iso) : "–"; }
setInterval(() => {
  for (const el of document.querySelectorAll("[data-at]")) if (el.dataset.at) el.textContent = ago(el.dataset.at);
}, 1000);

// --- charts: the last hour of 1-minute candles per symbol, from /api/prices/<symbol>/candles/,
// then kept up to date from /ws/prices/ (the current minute's candle grows, a new one starts).
const MINUTE = 60000, WINDOW = 60;
const candles = {};  // symbol -> [{t, open, high, low, close, lastAt}], oldest first
const SVG = "http://www.w3.org/2000/svg";

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  return el;
}

function drawChart(symbol) {
  const figure = document.querySelector(`figure.chart[data-symbol="${CSS.escape(symbol)}"]`);
  if (!figure) return;
  const svg = figure.querySelector("svg");
  const first = Math.floor(Date.now() / MINUTE) * MINUTE - (WINDOW - 1) * MINUTE;
  const shown = (candles[symbol] || []).filter((c) => c.t >= first);
  candles[symbol] = shown;
  const children = [];
  if (!shown.length) {
    children.push(Object.assign(svgEl("text", {x: 180, y: 64, "text-anchor": "middle", class: "label"}),
                                {textContent: "no prices in the last hour"}));
  } else {
    const high = Math.max(...shown.map((c) => c.high)), low = Math.min(...shown.map((c) => c.low));
    const span = high - low || Math.abs(high) * 0.0001 || 1;
    const y = (v) => 6 + (high - v) / span * 108;
    const slot = 300 / WINDOW;
    for (const c of shown) {
      const x = ((c.t - first) / MINUTE) * slot + slot / 2;
      const cls = c.close >= c.open ? "up" : "down";
      children.push(svgEl("line", {x1: x, x2: x, y1: y(c.high), y2: y(c.low), class: "wick " + cls}));
      const top = y(Math.max(c.open, c.close)), bottom = y(Math.min(c.open, c.close));
      children.push(svgEl("rect", {x: x - slot * 0.35, width: slot * 0.7, y: top, height: Math.max(bottom - top, 1),
                                   class: "body " + cls}));
    }
    children.push(Object.assign(svgEl("text", {x: 358, y: 12, "text-anchor": "end", class: "label"}),
                                {textContent: fmt(high)}));
    children.push(Object.assign(svgEl("text", {x: 358, y: 116, "text-anchor": "end", class: "label"}),
                                {textContent: fmt(low)}));
  }
  svg.replaceChildren(...children);
  svg.dataset.candles = shown.length;
  svg.dataset.close = shown.length ? shown[shown.length - 1].close : "";
}

function addToChart(p) {
  const at = Date.parse(p.timestamp);
  if (!isFinite(at) || typeof p.price !== "number") return;
  const list = candles[p.symbol] || (candles[p.symbol] = []);
  const t = Math.floor(at / MINUTE) * MINUTE;
  const last = list[list.length - 1];
  if (last && last.t === t) {
    if (at <= last.lastAt) return;  // the same tick again (a snapshot after the candles were read)
    Object.assign(last, {high: Math.max(last.high, p.price), low: Math.min(last.low, p.price), close: p.price,
                         lastAt: at});
  } else if (!last || t > last.t) {
    list.push({t, open: p.price, high: p.price, low: p.price, close: p.price, lastAt: at});
  } else {
    return;  // older than what the chart holds
  }
  drawChart(p.symbol);
}

async function loadCandles(symbol) {
  try {
    const data = await getJSON(`/api/prices/${encodeURIComponent(symbol)}/candles/?interval=1m`);
    const live = candles[symbol] || [];
    const read = data.candles.map((c) => ({t: Date.parse(c.start), open: c.open, high: c.high, low: c.low,
                                           close: c.close, lastAt: Date.parse(c.last_tick_at)}));
    // Prices that arrived on the socket while the candles were being read are kept.
    const lastRead = read.length ? read[read.length - 1].lastAt : -Infinity;
    candles[symbol] = read;
    for (const c of live) if (c.lastAt > lastRead) addToChart({symbol, price: c.close, timestamp: new Date(c.lastAt).toISOString()});
  } catch (error) { console.warn(error); }
  drawChart(symbol);
}
// A price's source as the API names it: a provider, or "median(bitstamp,coinbase,kraken)" for a
// price made from several. Shown as "median of bitstamp, coinbase, kraken": a list that wraps
// inside its cell, however many sources; the API's own string stays in the cell's title.
function sourceText(source) {
  const median = /^median\((.*)\)$/.exec(source || "");
  return median ? "median of " + median[1].split(",").join(", ") : (source || "–");
}
function fmt(n) { return typeof n === "number" ? n.toLocaleString("en-US", {maximumFractionDigits: 5}) : "–"; }

function showPrices(prices) {
  for (const p of prices) {
    const row = document.querySelector(`#prices tr[data-symbol="${CSS.escape(p.symbol)}"]`);
    if (!row) continue;
    const before = parseFloat(row.dataset.price);
    row.dataset.price = p.price;
    const td = row.querySelector(".price");
    td.className = "num price" + (before < p.price ? " up" : before > p.price ? " down" : "");
    cell(row, "price", fmt(p.price)); cell(row, "bid", fmt(p.bid)); cell(row, "ask", fmt(p.ask));
    cell(row, "source", sourceText(p.source));
    row.querySelector(".source").title = p.source || "";
    showAgo(row.querySelector(".age"), p.timestamp);
    row.classList.toggle("stale", !!p.stale);
    const figure = document.querySelector(`figure.chart[data-symbol="${CSS.escape(p.symbol)}"]`);
    if (figure) {
      const last = figure.querySelector(".last");
      last.textContent = fmt(p.price);
      last.className = "last num" + (before < p.price ? " up" : before > p.price ? " down" : "");
      showAgo(figure.querySelector(".ago"), p.timestamp);
    }
    addToChart(p);
  }
}

function addVerification(prediction) {
  const list = document.getElementById("verifications");
  if (list.dataset.filled !== "yes") { list.replaceChildren(); list.dataset.filled = "yes"; }
  const li = document.createElement("li");
  const result = prediction.correct_option ? "answer " + prediction.correct_option : (prediction.status || "");
  li.textContent = `#${prediction.id} ${prediction.symbol || ""} ${prediction.question || ""} → ${result}`;
  list.prepend(li);
  while (list.children.length > 10) list.lastChild.remove();
}

// One socket with reconnection: a fresh snapshot arrives on every reconnect.
function follow(path, onMessage, onOpen) {
  let delay = 1000;
  const open = () => {
    const ws = new WebSocket(wsBase + path);
    ws.onopen = () => { delay = 1000; if (onOpen) onOpen(); };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    ws.onclose = () => { setTimeout(open, delay); delay = Math.min(delay * 2, 30000); onMessage({type: "closed"}); };
  };
  open();
}

follow("/ws/prices/", (msg) => {
  if (msg.type === "price.snapshot" || msg.type === "price.update") {
    showPrices(msg.prices);
    document.body.dataset.prices = "live";
    document.getElementById("status").textContent = "live · updated " + new Date().toLocaleTimeString();
  } else if (msg.type === "closed") {
    document.body.dataset.prices = "reconnecting";
    document.getElementById("status").textContent = "reconnecting…";
  }
});
follow("/ws/predictions/", (msg) => { if (msg.type === "prediction.verified") addVerification(msg.prediction); });

async function getJSON(url) {
  const response = await fetch(url, {headers: {Accept: "application/json"}});
  if (!response.ok) throw new Error(url + ": HTTP " + response.status);
  return response.json();
}
const items = (data) => Array.isArray(data) ? data : (data.results || []);

function errorDetails(text) {
  // Long errors (tracebacks) folded: the first line shows, the rest on a click.
  const details = document.createElement("details"); details.className = "error";
  const summary = document.createElement("summary");
  const firstLine = text.split("\n")[0];
  summary.textContent = firstLine.length > 80 ? firstLine.slice(0, 80) + "…" : firstLine;
  const pre = document.createElement("pre"); pre.textContent = text;
  details.append(summary, pre);
  return details;
}

function runStrip(runs) {
  const strip = document.createElement("div"); strip.className = "strip";
  strip.dataset.runs = runs.length;
  for (const run of runs) {
    const span = document.createElement("span"); span.className = run.outcome;
    span.title = `${run.outcome} · ${new Date(run.started_at).toLocaleString()}` +
      (run.duration_ms != null ? ` · ${run.duration_ms} ms` : "");
    strip.append(span);
  }
  return strip;
}

async function refreshJobs() {
  try {
    const data = await getJSON("/jobs/status");
    const body = document.querySelector("#jobs tbody");
    // An open error stays open across refreshes.
    const open = new Set([...body.querySelectorAll("tr[data-key] details[open]")].map((d) => d.closest("tr").dataset.key));
    body.replaceChildren(...data.jobs.map((job) => {
      const tr = document.createElement("tr"); tr.dataset.key = job.key;
      const name = document.createElement("td"); name.textContent = job.name;
      if (job.last_error) {
        const details = errorDetails(job.last_error); details.open = open.has(job.key); name.append(details);
      }
      const health = document.createElement("td");
      health.textContent = job.healthy ? "healthy" : (job.enabled ? "unhealthy" : "disabled");
      health.className = job.healthy ? "ok" : "bad";
      const last = document.createElement("td"); showAgo(last, job.last_run_at);
      if (!job.last_run_at) last.textContent = "never";
      const runs = document.createElement("td"); runs.append(runStrip(job.recent_runs || []));
      tr.append(name, health, last, runs);
      return tr;
    }));
    if (!data.jobs.length) body.replaceChildren(message("tr", "no jobs registered"));
  } catch (error) {
    document.querySelector("#jobs tbody").replaceChildren(message("tr", "job status unavailable"));
  }
}

function message(tag, text) {
  const el = document.createElement(tag);
  const small = document.createElement("small"); small.textContent = text;
  if (tag === "tr") { const td = document.createElement("td"); td.colSpan = 4; td.append(small); el.append(td); }
  else el.append(small);
  return el;
}

async function loadVerifications() {
  try {
    const data = await getJSON("/api/predictions/?status=verified");
    for (const prediction of items(data).slice(0, 10).reverse()) addVerification(prediction);
  } catch (error) { console.warn(error); }
}

function headline(item) {
  const li = document.createElement("li");
  const a = document.createElement("a"); a.href = item.url; a.textContent = item.title; a.rel = "noopener";
  const small = document.createElement("small"); small.textContent = ` ${item.source || ""} · `;
  const when = document.createElement("small"); showAgo(when, item.published_at);
  li.append(a, small, when); return li;
}

async function refreshHeadlines() {
  try {
    const data = await getJSON("/api/news/");
    const list = document.getElementById("headlines");
    list.replaceChildren(...items(data).slice(0, 10).map(headline));
    if (!list.children.length) list.replaceChildren(message("li", "no headlines yet"));
  } catch (error) {
    document.getElementById("headlines").replaceChildren(message("li", "headlines unavailable"));
  }
}

follow("/ws/news/", (msg) => {
  if (msg.type !== "news.published") return;
  const list = document.getElementById("headlines");
  if (!list.querySelector("a")) list.replaceChildren();
  list.prepend(...msg.articles.slice(0, 10).map(headline));
  while (list.children.length > 10) list.lastChild.remove();
});

for (const figure of document.querySelectorAll("figure.chart")) loadCandles(figure.dataset.symbol);
setInterval(() => { for (const symbol of Object.keys(candles)) drawChart(symbol); }, MINUTE / 4);
refreshJobs(); setInterval(refreshJobs, 5000);
loadVerifications();
refreshHeadlines(); setInterval(refreshHeadlines, 60000);
