"use strict";
// Plain JavaScript, no build step. Everything from the server is put on the page with
// textContent, never innerHTML: headlines and questions are third-party text.
const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

function cell(row, name, text) { row.querySelector("." + name).textContent = text; }
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
    cell(row, "source", p.source || "–");
    cell(row, "age", p.age_seconds != null ? p.age_seconds.toFixed(1) + " s" : "–");
    row.classList.toggle("stale", !!p.stale);
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

async function refreshJobs() {
  try {
    const data = await getJSON("/jobs/status");
    const body = document.querySelector("#jobs tbody");
    body.replaceChildren(...data.jobs.map((job) => {
      const tr = document.createElement("tr");
      for (const [text, cls] of [[job.name, ""], [job.healthy ? "healthy" : (job.enabled ? "unhealthy" : "disabled"),
                                 job.healthy ? "ok" : "bad"], [job.last_run_at || "never", ""], [job.last_error || "", ""]]) {
        const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.append(td);
      }
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

async function refreshHeadlines() {
  try {
    const data = await getJSON("/api/news/");
    const list = document.getElementById("headlines");
    list.replaceChildren(...items(data).slice(0, 10).map((item) => {
      const li = document.createElement("li");
      const a = document.createElement("a"); a.href = item.url; a.textContent = item.title; a.rel = "noopener";
      const small = document.createElement("small"); small.textContent = ` ${item.source || ""}`;
      li.append(a, small); return li;
    }));
    if (!list.children.length) list.replaceChildren(message("li", "no headlines yet"));
  } catch (error) {
    document.getElementById("headlines").replaceChildren(message("li", "headlines unavailable"));
  }
}

refreshJobs(); setInterval(refreshJobs, 5000);
loadVerifications();
refreshHeadlines(); setInterval(refreshHeadlines, 60000);
