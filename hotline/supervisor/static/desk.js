"use strict";
// The agent's desk: the caller pops when the agent's leg is answered (server-sent events from
// /api/desk/events), the agent's own state, the wrap-up code, actions on matters (the caller's,
// or the agent's own without a call) and the standard answers' search. Text is set with textContent
// only: nothing from the server is parsed as HTML.

const T = {
  zh: {
    title: "12333 坐席工作台", signout: "退出登录", mystate: "我的状态", available: "就绪",
    reason: "暂停原因", pause: "暂停", agentlogout: "签出", wrapup: "话后小结",
    required: "（必填：填写后才会接到下一通电话）", code: "小结代码", note: "备注", save: "提交小结",
    caller: "来电", recent: "近期来电", when: "时间", outcome: "结果", answeredby: "接听坐席",
    path: "IVR路径", matters: "未办结工单", number: "编号", category: "类别", status: "状态",
    created: "创建", owner: "责任人", due: "办结时限", summary: "摘要", ticket: "留言单",
    totell: "待告知市民（部门已答复）", remind: "部门已答复工单 {n}，请回电告知市民", "alert:overdue": "工单 {n} 已超过办结时限，请尽快办理", "alert:handover": "工单 {n} 的部门答复已逾期，请跟进", matteractions: "工单操作", action: "操作", matter: "工单", department: "部门", at: "回拨时间",
    notice: "告知", text: "内容", submit: "提交", done: "已提交",
    "a:create": "新建工单", "a:note": "添加备注", "a:handover": "转办部门", "a:callback": "预约回拨",
    "a:notice": "发送一次性告知", "a:take": "接手工单", "a:summary": "更新摘要",
    "a:close": "办结工单（已告知市民）",
    "h:create": "内容：工单摘要", "h:note": "内容：备注", "h:take": "内容：接手他人工单时必填原因",
    "h:summary": "内容：新的摘要", "h:close": "内容：必填，如何告知市民（或无需告知的原因）",
    "h:handover": "内容：请部门答复的问题", "h:callback": "选择回拨时间（工作时间内）",
    "h:notice": "选择告知内容，以短信发送给市民",
    answers: "统一答复口径", keywords: "关键词", business: "业务", search: "查找", all: "全部",
    "k:answer": "答复口径", "k:notice": "一次性告知", found: "条结果",
    "b:pension": "养老保险", "b:employment": "就业", "b:labour": "劳动关系", "b:personnel": "人事人才",
    "b:medical": "医疗保险", "b:other": "综合",
    "m:consultation": "咨询", "m:message": "留言", "m:complaint": "投诉", "m:report": "举报",
    "m:petition": "信访", "s:open": "待办", "s:in_progress": "办理中", "s:handed_over": "已转办",
    "s:answered": "已答复", "s:closed": "已办结", "s:reopened": "重新办理", overdue: "已超时",
    rating: "最近满意度", callbacks: "待回拨", idle: "等待来电…", none: "无",
    connecting: "连接中…", live: "已连接", lost: "连接断开，重连中…", saved: "小结已提交",
    "st:available": "就绪", "st:ringing": "振铃", "st:talking": "通话中", "st:wrap-up": "话后处理",
    "st:paused": "暂停", "st:unreachable": "话机不可达", "st:logged-out": "已签出",
    "r:lunch": "用餐", "r:training": "培训", "r:meeting": "会议", "r:other": "其他",
    "r:no-answer": "未接听自动暂停",
    "o:answered": "已接听", "o:abandoned": "放弃", "o:self_service": "自助办结",
    "o:ivr_abandoned": "IVR中挂机", "o:callback_booked": "已约回拨", "o:overflow": "溢出",
    "o:fallback": "兜底队列", "o:live": "进行中",
    "v:very_satisfied": "非常满意", "v:satisfied": "满意", "v:dissatisfied": "不满意",
    "c:answered": "已解答", "c:matter": "转工单", "c:transferred": "已转接", "c:callback": "需回拨",
    "c:wrong-number": "打错电话", "c:nuisance": "骚扰电话",
  },
  en: {
    title: "12333 agent desk", signout: "Sign out", mystate: "My state", available: "Available",
    reason: "Pause reason", pause: "Pause", agentlogout: "Log out", wrapup: "Wrap-up",
    required: "(required: no next call until it is entered)", code: "Wrap-up code", note: "Note",
    save: "Save wrap-up", caller: "Caller", recent: "Recent calls", when: "When", outcome: "Outcome",
    answeredby: "Answered by", path: "IVR path", matters: "Open matters", number: "Number",
    category: "Category", status: "Status", created: "Created", rating: "Last rating",
    owner: "Owner", due: "Due", summary: "Summary", ticket: "Message ticket",
    totell: "To tell the citizen (a department answered)", remind: "A department answered matter {n}: call the citizen back", "alert:overdue": "Matter {n} is past its due time: settle it now", "alert:handover": "Matter {n}: the department's reply is late: follow it up", matteractions: "Matter actions", action: "Action", matter: "Matter", department: "Department",
    at: "Callback at", notice: "Notice", text: "Text", submit: "Submit", done: "Done",
    "a:create": "New matter", "a:note": "Add a note", "a:handover": "Hand over",
    "a:callback": "Book a callback", "a:notice": "Send a one-time notice",
    "a:take": "Take over", "a:summary": "Update the summary", "a:close": "Close (citizen told)",
    "h:create": "Text: the matter's summary", "h:note": "Text: the note",
    "h:take": "Text: the reason, when it is another agent's matter",
    "h:summary": "Text: the new summary",
    "h:close": "Text (required): how the citizen was told, or why they need not be",
    "h:handover": "Text: the question for the department",
    "h:callback": "Pick the callback time (inside office hours)",
    "h:notice": "Pick the notice, sent to the citizen by SMS",
    answers: "Standard answers", keywords: "Keywords", business: "Business", search: "Search",
    all: "All", "k:answer": "standard answer", "k:notice": "one-time notice", found: "found",
    "b:pension": "pension", "b:employment": "employment", "b:labour": "labour relations",
    "b:personnel": "personnel", "b:medical": "medical insurance", "b:other": "general",
    "s:in_progress": "in progress", "s:handed_over": "handed over", overdue: "overdue",
    callbacks: "Callbacks due", idle: "Waiting for a call…", none: "none",
    connecting: "Connecting…", live: "Live", lost: "Connection lost, retrying…", saved: "Wrap-up saved",
    "st:available": "available", "st:ringing": "ringing", "st:talking": "talking",
    "st:wrap-up": "wrap-up", "st:paused": "paused", "st:unreachable": "phone unreachable",
    "st:logged-out": "logged out", "r:no-answer": "no answer (auto pause)",
    "o:self_service": "self-service", "o:ivr_abandoned": "hung up in IVR",
    "o:callback_booked": "callback booked", "v:very_satisfied": "very satisfied",
    "v:dissatisfied": "dissatisfied", "c:wrong-number": "wrong number",
  },
};
let lang = localStorage.getItem("hl-lang") || "zh";
const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : key.includes(":") ? key.split(":").slice(1).join(":") : key);
const $ = (sel) => document.querySelector(sel);
const csrf = () => $('meta[name="csrf-token"]').content;
let me = null, state = null, card = null, wrapFor = null, wrapCodes = [], tellRows = [], found = null;  // found: the last search's answers (null: none yet)
let ownerAlert = null;  // the last alert the matters' clock raised for this agent as owner
let reminded = null;  // the matter a department just answered (the live reminder), or null

function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  if (me) { fillReasons(); fillChoices(); }
  drawState();
  drawCard();
  fillCodes();
  hint();
  drawAnswers();
  drawReminder();
  drawOwnerAlert();
}

function drawOwnerAlert() {
  const p = $("#owner-alert");
  p.hidden = ownerAlert === null;
  p.dataset.number = ownerAlert ? ownerAlert.number : "";
  p.textContent = ownerAlert ? t("alert:" + ownerAlert.kind).replace("{n}", ownerAlert.number) : "";
}

// a department replied to one of the agent's matters: said at once, in the agent's language
function drawReminder() {
  const p = $("#tell-reminder");
  p.hidden = reminded === null;
  p.dataset.number = reminded ? reminded.number : "";
  p.textContent = reminded ? t("remind").replace("{n}", reminded.number) : "";
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
  return tr;
}

function when(iso) { return iso ? iso.replace("T", " ").slice(0, 16) : ""; }

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  return [r.ok, data];
}

function fillReasons() {
  const sel = $("#pause-reason"), was = sel.value;
  sel.replaceChildren(...me.pause_reasons.map((r) => { const o = document.createElement("option"); o.value = r; o.textContent = t("r:" + r); return o; }));
  if (was) sel.value = was;
}

function drawState() {
  if (!state) return;
  const s = $("#state");
  s.dataset.state = state.state;
  s.textContent = t("st:" + state.state);
  $("#state-reason").textContent = state.reason ? "(" + t("r:" + state.reason) + ")" : "";
  const pending = state.pending;
  $("#wrap-up").hidden = !pending;
  $("#wrap-required").hidden = !(me && me.wrap_up_required);
  $("#wrap-up").dataset.owes = state.owes_wrap_up ? "yes" : "no";
  if (pending && pending !== wrapFor) loadWrap(pending);
}

async function loadWrap(linkedid) {
  wrapFor = linkedid;
  $("#wrap-call").textContent = "";
  $("#wrap-up").dataset.linkedid = linkedid;
  const r = await fetch("/api/desk/call/" + encodeURIComponent(linkedid));
  if (!r.ok) return;
  const c = await r.json();
  $("#wrap-call").textContent = c.caller;
  wrapCodes = c.codes;
  fillCodes();
}

function fillCodes() {
  const sel = $("#wrap-code"), was = sel.value;
  sel.replaceChildren(...wrapCodes.map((code) => { const o = document.createElement("option"); o.value = code; o.textContent = t("c:" + code); return o; }));
  if (was) sel.value = was;
}

function drawCard() {
  if (!card) return;
  $("#idle").hidden = true;
  const pop = $("#pop");
  pop.hidden = false;
  pop.dataset.linkedid = card.linkedid;
  $("#pop-caller").textContent = card.caller;
  $("#pop-district").textContent = card.district;
  $("#pop-business").textContent = card.business;
  $("#recent tbody").replaceChildren(...card.recent.map((c) => {
    const tr = row([when(c.started_at), t("o:" + c.outcome), c.answered_by.join(", "), c.ivr_path.join(" › "), c.wrap_up ? t("c:" + c.wrap_up) : ""]);
    tr.dataset.linkedid = c.linkedid;
    tr.dataset.outcome = c.outcome;
    return tr;
  }));
  $("#matters tbody").replaceChildren(...(card.matters || []).map((m) => {
    const tr = row([m.number, t("m:" + m.category), t("s:" + m.status) + (m.overdue ? " · " + t("overdue") : ""), m.owner_name, when(m.due_at), m.summary]);
    tr.dataset.number = m.number;
    tr.dataset.status = m.status;
    return tr;
  }));
  fillNumbers();
  $("#tickets tbody").replaceChildren(...card.tickets.map((m) => {
    const tr = row([m.number, m.category, m.status, when(m.created_at)]);
    tr.dataset.number = m.number;
    return tr;
  }));
  $("#rating").textContent = card.rating ? t("v:" + card.rating.rating) + " (" + when(card.rating.at) + ")" : t("none");
  $("#callbacks").textContent = card.callbacks.length ? card.callbacks.map((c) => when(c.due_at)).join(", ") : t("none");
}

const opts = (sel, items) => { const was = sel.value; sel.replaceChildren(...items.map(([v, text]) => { const o = document.createElement("option"); o.value = v; o.textContent = text; return o; })); if (was) sel.value = was; };

// the matters an action may name: the caller's on the pop, and the agent's own to tell
function fillNumbers() {
  const seen = new Set(), items = [];
  for (const m of [...((card && card.matters) || []), ...tellRows]) {
    if (!seen.has(m.number)) { seen.add(m.number); items.push([m.number, m.number + " " + (m.summary || "").slice(0, 20)]); }
  }
  opts($("#matter-number"), items);
}

function hint() { $("#matter-hint").textContent = t("h:" + $("#matter-action").value); }

function fillChoices() {
  const m = me.matters;
  $("#matter-actions").hidden = !m;
  $("#answers").hidden = !m;
  if (!m) return;
  opts($("#answers-business"), [["", t("all")], ...m.businesses.map((b) => [b, t("b:" + b)])]);
  opts($("#matter-category"), m.categories.map((c) => [c, t("m:" + c)]));
  opts($("#matter-department"), m.departments.map((d) => [d.id, lang === "zh" ? d.name : d.name_en || d.name]));
  opts($("#matter-notice"), m.notices.map((n) => [n.id, (lang === "zh" ? n.title["zh-CN"] : n.title.en) || n.id]));
}

async function matterAction(e) {
  e.preventDefault();
  const at = $("#matter-at").value;
  const body = {
    action: $("#matter-action").value, linkedid: card ? card.linkedid : "", number: $("#matter-number").value,
    category: $("#matter-category").value, department: $("#matter-department").value,
    notice: $("#matter-notice").value, language: lang === "zh" ? "zh-CN" : "en",
    text: $("#matter-text").value, at: at ? new Date(at).toISOString() : "",
  };
  const [ok, data] = await post("/api/desk/matter", body);
  $("#matter-message").textContent = ok ? t("done") + " " + (data.number || "") : data.error || "";
  if (!ok) return;
  $("#matter-text").value = "";
  if (card) {
    const r = await fetch("/api/desk/call/" + encodeURIComponent(card.linkedid));
    if (r.ok) { const fresh = await r.json(); fresh.sent_at = card.sent_at; card = fresh; drawCard(); }
  }
  loadTell();
}

async function searchAnswers(e) {
  e.preventDefault();
  const q = new URLSearchParams({ q: $("#answers-q").value, business: $("#answers-business").value });
  const r = await fetch("/api/desk/answers?" + q);
  found = r.ok ? await r.json() : [];
  drawAnswers();
}

// each answer: its title and kind, then its text in the desk's language and in the other one
function drawAnswers() {
  const mine = lang === "zh" ? "zh-CN" : "en", other = lang === "zh" ? "en" : "zh-CN";
  $("#answers-list").replaceChildren(...(found || []).map((a) => {
    const li = document.createElement("li");
    li.dataset.id = a.id;
    li.dataset.kind = a.kind;
    li.tabIndex = 0;
    const head = document.createElement("strong");
    head.textContent = (a.title[mine] || a.title[other] || a.id) + " · " + t("k:" + a.kind) + " · " + t("b:" + a.business);
    li.append(head);
    for (const l of [mine, other]) {
      if (!a.text[l]) continue;
      const p = document.createElement("p");
      p.lang = l;
      p.textContent = a.text[l];
      li.append(p);
    }
    return li;
  }));
  $("#answers-count").textContent = found ? found.length + " " + t("found") : "";
}

// keyboard: arrows walk the answers from the search box, Escape goes back to it
function answerKeys(e) {
  const items = [...document.querySelectorAll("#answers-list li")];
  const at = items.indexOf(document.activeElement);
  if (e.key === "ArrowDown" && (e.target.id === "answers-q" || at >= 0)) {
    const next = items[Math.min(at + 1, items.length - 1)];
    if (next) { e.preventDefault(); next.focus(); }
  } else if (e.key === "ArrowUp" && at >= 0) {
    e.preventDefault();
    (at === 0 ? $("#answers-q") : items[at - 1]).focus();
  } else if (e.key === "Escape" && at >= 0) {
    $("#answers-q").focus();
  }
}

async function loadTell() {
  const r = await fetch("/api/desk/tell");
  if (!r.ok) return;
  const rows = await r.json();
  tellRows = rows;
  fillNumbers();
  $("#tell").hidden = rows.length === 0;
  $("#tell-list tbody").replaceChildren(...rows.map((m) => {
    const tr = row([m.number, m.caller, m.summary, when(m.due_at)]);
    tr.dataset.number = m.number;
    // a row picks its matter for the actions (click, or Enter on the focused row)
    tr.tabIndex = 0;
    const pick = () => { $("#matter-number").value = m.number; $("#matter-action").focus(); };
    tr.onclick = pick;
    tr.onkeydown = (e) => { if (e.key === "Enter") pick(); };
    return tr;
  }));
}

function connect() {
  const conn = $("#conn");
  conn.textContent = t("connecting");
  const es = new EventSource("/api/desk/events");
  es.onopen = () => { conn.className = "conn ok"; conn.textContent = t("live"); };
  es.onerror = () => { conn.className = "conn lost"; conn.textContent = t("lost"); };
  es.addEventListener("state", (e) => { state = JSON.parse(e.data); drawState(); });
  es.addEventListener("pop", (e) => {
    card = JSON.parse(e.data);
    drawCard();
    if (window.__deskDrawn) window.__deskDrawn(card);  // the benchmark's hook
    loadTell();
  });
  es.addEventListener("ended", () => { $("#pop").dataset.ended = "yes"; });
  es.addEventListener("alert", (e) => { ownerAlert = JSON.parse(e.data); drawOwnerAlert(); });
  es.addEventListener("tell", (e) => { reminded = JSON.parse(e.data); drawReminder(); loadTell(); });
}

async function changeState(change) {
  const [ok, data] = await post("/api/desk/state", { change, reason: $("#pause-reason").value });
  $("#state-message").textContent = ok ? "" : data.error || "";
}

async function main() {
  me = await (await fetch("/api/desk/me")).json();
  $("#who").textContent = me.name + " (" + me.agent_id + ")";
  state = me.state;
  $("#lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("hl-lang", lang); translate(); };
  $("#go-available").onclick = () => changeState("available");
  $("#go-pause").onclick = () => changeState("pause");
  $("#go-logout").onclick = () => changeState("logout");
  $("#matter-form").onsubmit = matterAction;
  $("#matter-action").onchange = hint;
  $("#answers-form").onsubmit = searchAnswers;
  $("#answers").addEventListener("keydown", answerKeys);
  $("#wrap-form").onsubmit = async (e) => {
    e.preventDefault();
    const linkedid = $("#wrap-up").dataset.linkedid;
    const [ok, data] = await post("/api/desk/wrapup", { linkedid, code: $("#wrap-code").value, note: $("#wrap-note").value });
    $("#wrap-message").textContent = ok ? t("saved") : data.error || "";
    if (ok) { $("#wrap-note").value = ""; $("#wrap-up").hidden = true; }
  };
  translate();
  connect();
  loadTell();
}

main();
