// The console page: polls the console's JSON endpoints every second and renders them.
// Every value from the server is rendered with textContent, never parsed as HTML: order subjects,
// callback answers and platform replies are data, not markup.
"use strict";

const POLL_MS = 1000;
const CHANNELS = {
  ecpay: [[10, "Douyin Pay"], [1, "WeChat"], [2, "Alipay"]],
  trade: [[10, "Douyin Pay"], [1, "WeChat"], [2, "Alipay"], [20, "Diamond"]],
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function call(path, body) {
  const init = body === undefined
    ? {}
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { status: response.status, data };
}

function show(label, answer) {
  const out = document.getElementById("result");
  out.classList.toggle("bad", answer.status >= 400);
  out.classList.remove("muted");
  out.textContent = `${label} → ${answer.status}\n${JSON.stringify(answer.data, null, 2)}`;
}

async function act(label, path, body) {
  const answer = await call(path, body || {});
  show(label, answer);
  await refresh();
  return answer;
}

const time = (t) => (t == null ? "" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19));
const shortTime = (t) => time(t).slice(5);  // MM-DD hh:mm:ss (UTC), for the tables
const DETAIL_SHOWN = 110;  // characters of a call's or a callback's detail in the table; all of it on hover
const money = (fen) => (typeof fen === "number" ? `¥${(fen / 100).toFixed(2)}` : "");

// -- objects --------------------------------------------------------------------------------------

function buyerCell(order) {
  const channel = el("select", { class: "channel", title: "payment channel" });
  for (const [value, name] of CHANNELS[order.protocol] || CHANNELS.ecpay) {
    channel.append(el("option", { value: String(value), text: `${name} (${value})` }));
  }
  const ref = encodeURIComponent(order.ref);
  const pay = el("button", { type: "button", class: "pay", text: "Pay" });
  pay.addEventListener("click", () =>
    act(`pay ${order.ref}`, `/api/orders/${ref}/pay`, { channel: Number(channel.value) }));
  const cancel = el("button", { type: "button", class: "cancel", text: "Cancel" });
  cancel.addEventListener("click", () => act(`cancel ${order.ref}`, `/api/orders/${ref}/cancel`));
  const expire = el("button", { type: "button", class: "expire", text: "Expire", title: "let it expire: move simulated time past its pay window" });
  expire.addEventListener("click", () => act(`expire ${order.ref}`, `/api/orders/${ref}/expire`));
  return el("td", { class: "buyer" }, channel, pay, cancel, expire);
}

function setCells(row, values) {
  values.forEach((value, i) => {
    const cell = row.cells[i];
    if (cell.textContent !== value) cell.textContent = value;
  });
}

// Rows are kept by reference and updated in place, so a chosen channel survives the next poll.
function renderOrders(orders) {
  const body = document.querySelector("#orders tbody");
  const seen = new Set();
  orders.forEach((order, index) => {
    seen.add(order.ref);
    let row = body.querySelector(`tr[data-ref="${CSS.escape(order.ref)}"]`);
    if (!row) {
      row = el("tr", { "data-ref": order.ref });
      for (const name of ["ref", "subject", "protocol", "status", "amount", "refundable", "created"]) {
        row.append(el("td", { class: name }));
      }
      row.append(buyerCell(order));
    }
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    setCells(row, [
      order.ref, order.subject || "", order.protocol, order.status, money(order.total_amount),
      money(order.refundable_amount), shortTime(order.created_at),
    ]);
    row.dataset.status = order.status;
    const open = order.status === "CREATED";
    for (const button of row.querySelectorAll("td.buyer button, td.buyer select")) button.disabled = !open;
  });
  for (const row of [...body.children]) if (!seen.has(row.dataset.ref)) row.remove();
}

function renderSimple(id, rows, amount) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows.map((r) => {
    const row = el("tr", { "data-ref": r.ref, "data-status": r.status || "" });
    for (const [name, value] of [["ref", r.ref], ["order", r.out_order_no || ""],
      ["status", r.status || ""], ["amount", money(r[amount])]]) {
      row.append(el("td", { class: name, text: value }));
    }
    return row;
  }));
}

// -- timeline -------------------------------------------------------------------------------------

function timelineRow(r) {
  const attempted = r.source === "callback" && ["sent", "retried", "duplicated"].includes(r.event);
  const answer = r.http_status == null ? (attempted ? "no answer" : "")
    : `HTTP ${r.http_status}${r.err_no != null ? ` err ${r.err_no}` : ""}`;
  const what = r.source === "call" ? r.type : `${r.type || "notice"} callback ${r.event}`;
  const side = r.source === "call" ? `bundle → ${r.protocol}` : `${r.protocol} → bundle`;
  const attempt = r.attempt ? `#${r.attempt}${r.copy ? ` copy ${r.copy}` : ""}` : "";
  const detail = [r.request ? `sent ${r.request}` : "", r.response ? `answer ${r.response}` : "", r.error || ""]
    .filter(Boolean).join("\n");
  const row = el("tr", { class: `${r.source} ${r.event.replace(/ /g, "-")} ${r.ok === false ? "failed" : ""}` });
  for (const [name, value] of [["time", shortTime(r.sim_time)], ["side", side], ["what", what], ["ref", r.ref || ""],
    ["attempt", attempt], ["answer", answer]]) {
    row.append(el("td", { class: name, text: value }));
  }
  const shown = detail.length > DETAIL_SHOWN ? `${detail.slice(0, DETAIL_SHOWN)}…` : detail;
  row.append(el("td", { class: "detail", text: shown, title: detail }));
  return row;
}

// -- switches -------------------------------------------------------------------------------------

function switchPanel(protocol, s) {
  const box = document.getElementById(`switch-${protocol}`);
  const drops = el("div", { class: "row" }, el("span", { class: "label", text: "drop" }));
  for (const type of s.notice_types) {
    const checked = s.drop === "all" || s.drop.includes(type);
    const box_ = el("input", { type: "checkbox", "data-drop": type });
    box_.checked = checked;
    box_.addEventListener("change", () => {
      const all = [...drops.querySelectorAll("input[data-drop]")].filter((c) => c.checked).map((c) => c.dataset.drop);
      act(`${protocol} drop`, "/api/switches", { protocol, drop: all }).then(loadSwitches);
    });
    drops.append(el("label", { class: "check" }, box_, type));
  }
  const dup = el("input", { type: "number", min: "0", max: "5", value: String(s.duplicates), class: "small" });
  const dupRow = el("div", { class: "row" }, el("span", { class: "label", text: "duplicates" }), dup,
    button("Set", () => act(`${protocol} duplicates`, "/api/switches", { protocol, duplicates: Number(dup.value) })));
  const delayType = select(s.notice_types);
  const delay = el("input", { type: "number", min: "0", value: "0", class: "small", title: "simulated seconds" });
  const delayRow = el("div", { class: "row" }, el("span", { class: "label", text: "delay" }), delayType, delay,
    button("Set", () => act(`${protocol} delay`, "/api/switches",
      { protocol, delays: { [delayType.value]: Number(delay.value) } })));
  const endpoint = select(s.endpoints);
  const qps = el("input", { type: "number", min: "1", placeholder: "none", class: "small", title: "QPS; empty: unlimited" });
  const limitRow = el("div", { class: "row" }, el("span", { class: "label", text: "rate limit" }), endpoint, qps,
    button("Set", () => act(`${protocol} rate limit`, "/api/switches",
      { protocol, rate_limits: { [endpoint.value]: qps.value === "" ? null : Number(qps.value) } })));
  const delays = Object.entries(s.delays).map(([k, v]) => `${k} ${v}s`).join(", ");
  const limits = Object.entries(s.rate_limits).filter(([, v]) => v != null).map(([k, v]) => `${k} ${v}/s`).join(", ");
  const now = el("div", { class: "muted small-text", text: `delays: ${delays} · limits: ${limits || "none"}` });
  box.replaceChildren(el("h3", { text: protocol }), drops, dupRow, delayRow, limitRow, now);
}

function button(text, onClick) {
  const b = el("button", { type: "button", text });
  b.addEventListener("click", () => Promise.resolve(onClick()).then(loadSwitches));
  return b;
}

function select(values) {
  const s = el("select");
  for (const v of values) s.append(el("option", { value: v, text: v }));
  return s;
}

async function loadSwitches() {
  const answer = await call("/api/switches");
  if (answer.status !== 200) return;
  for (const protocol of ["ecpay", "trade"]) switchPanel(protocol, answer.data[protocol]);
}

// -- polling and the create form ------------------------------------------------------------------

async function refresh() {
  try {
    const [objects, timeline] = await Promise.all([call("/api/objects"), call("/api/timeline")]);
    if (objects.status !== 200 || timeline.status !== 200) throw new Error(`HTTP ${objects.status}`);
    document.getElementById("protocol").textContent = objects.data.protocol;
    document.getElementById("clock").textContent = time(objects.data.now);
    renderOrders(objects.data.orders);
    renderSimple("refunds", objects.data.refunds, "refund_amount");
    renderSimple("settlements", objects.data.settlements, "settle_amount");
    document.querySelector("#timeline tbody").replaceChildren(...timeline.data.rows.map(timelineRow));
    document.getElementById("poll").textContent = "live";
  } catch (error) {
    document.getElementById("poll").textContent = `not reachable (${error.message})`;
  }
}

async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}

async function setUpForm() {
  const stack = await call("/api/stack");
  const form = document.getElementById("create");
  if (stack.status === 200) {
    form.elements.extra.value = JSON.stringify(stack.data.order_template, null, 1);
    document.getElementById("api-url").textContent = `API ${stack.data.api_url}`;
  }
  const fresh = () => { form.elements.out_order_no.value = `dev-${Date.now().toString(36)}`; };
  fresh();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let extra = {};
    try {
      extra = form.elements.extra.value.trim() ? JSON.parse(form.elements.extra.value) : {};
    } catch (error) {
      show("create", { status: 400, data: { error: `more fields: ${error.message}` } });
      return;
    }
    const answer = await act("create", "/api/orders", {
      ...extra,
      out_order_no: form.elements.out_order_no.value,
      total_amount: Number(form.elements.total_amount.value),
      subject: form.elements.subject.value,
    });
    if (answer.status < 300) fresh();
  });
  for (const b of document.querySelectorAll("[data-advance]")) {
    b.addEventListener("click", () => act("advance the clock", "/api/clock/advance", { seconds: Number(b.dataset.advance) }));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpForm();
  loadSwitches();
  poll();
});
