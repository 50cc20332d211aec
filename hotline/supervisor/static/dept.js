// 12333 department page: the matters handed over to this department and the reply form.
// Plain JS, no libraries. Every value from the server goes into the page as text, never HTML.
"use strict";

const T = {
  zh: {
    title: "12333 部门转办答复", logout: "退出", handed: "转来的工单", waiting_only: "仅待答复",
    refresh: "刷新", number: "编号", status: "状态", business: "业务", summary: "摘要", due: "办理时限",
    reply_label: "答复内容（承办人将据此告知市民）", send: "提交答复", question: "转办事项",
    reply: "答复", none: "暂无转来的工单", sent: "已提交答复，承办人将回复市民", caller: "来电",
    st_open: "待办", st_in_progress: "办理中", st_handed_over: "待答复", st_answered: "已答复",
    st_closed: "已办结", st_reopened: "重新办理", overdue: "超期",
  },
  en: {
    title: "12333 · department replies", logout: "Log out", handed: "Matters handed over to us",
    waiting_only: "Waiting for our reply only", refresh: "Refresh", number: "Number", status: "Status",
    business: "Business", summary: "Summary", due: "Due", reply_label: "Reply (the owner tells the citizen)",
    send: "Send reply", question: "Question", reply: "Reply", none: "No matters handed over",
    sent: "Reply sent; the owner will tell the citizen", caller: "Caller",
    st_open: "Open", st_in_progress: "In progress", st_handed_over: "Waiting for reply", st_answered: "Answered",
    st_closed: "Closed", st_reopened: "Reopened", overdue: "overdue",
  },
};
let lang = localStorage.getItem("hl-lang") || "zh";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (sel) => document.querySelector(sel);
const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : key);
let rows = [], shown = null, me = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k === "class") node.className = v;
    else node[k] = v;
  }
  for (const c of children) node.append(c === null || c === undefined ? "" : c);
  return node;
}
const localTime = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) : "-");

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  };
  const r = await fetch(path, { credentials: "same-origin", ...opts });
  if (r.status === 401) { location.href = "/login"; throw new Error("log in"); }
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  document.title = t("title");
  if (me) {
    const d = me.department;
    $("#who").textContent = `${me.username} · ${lang === "zh" ? d.name : d.name_en || d.name}`;
  }
  render();
  if (shown) renderDetail();
}

async function load() {
  rows = (await api(`/api/dept/matters${$("#waiting").checked ? "?waiting=1" : ""}`)).rows;
  render();
}
function render() {
  const body = $("#matters tbody");
  body.replaceChildren(...(rows.length ? rows.map((m) => {
    const open = el("button", { type: "button", class: "link" }, m.number);
    open.onclick = () => openMatter(m.number);
    return el("tr", { "data-number": m.number, class: m.overdue ? "overdue" : "" },
      el("td", {}, open), el("td", { "data-status": m.status }, t("st_" + m.status)),
      el("td", {}, m.business || "-"), el("td", {}, m.summary || "-"),
      el("td", {}, localTime(m.due_at) + (m.overdue ? ` · ${t("overdue")}` : "")));
  }) : [el("tr", {}, el("td", { colSpan: 5 }, t("none")))]));
}
async function openMatter(number) {
  shown = await api(`/api/dept/matters/${encodeURIComponent(number)}`);
  $("#message").textContent = "";
  renderDetail();
  $("#detail").focus();
}
function renderDetail() {
  const m = shown;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `${m.number} · ${t("st_" + m.status)}`;
  $("#detail-info").textContent = `${t("caller")}: ${m.caller} · ${t("business")}: ${m.business || "-"} · ` +
    `${t("summary")}: ${m.summary || "-"}`;
  $("#detail-handovers").replaceChildren(...m.handovers.map((h) => el("li", {},
    `${t("question")}: ${h.question} · ${t("due")}: ${localTime(h.due_at)} · ${t("reply")}: ${h.reply || "-"}`)));
  $("#reply-form").hidden = m.status !== "handed_over";
}
async function sendReply(e) {
  e.preventDefault();
  const msg = $("#message");
  try {
    await api("/api/dept/reply", { number: shown.number, text: $("#reply-text").value });
    msg.className = ""; msg.textContent = t("sent");
    $("#reply-text").value = "";
    await openMatter(shown.number);
    msg.textContent = t("sent");
    await load();
  } catch (err) {
    msg.className = "error"; msg.textContent = err.message;
  }
}

async function start() {
  me = await api("/api/dept/me");
  $("#lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("hl-lang", lang); translate(); };
  $("#refresh").onclick = load;
  $("#waiting").onchange = load;
  $("#reply-form").onsubmit = sendReply;
  translate();
  await load();
}
start();
