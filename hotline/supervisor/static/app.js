// 12333 supervisors' dashboard: live board over SSE, listen / whisper / barge, scoring, KPIs.
// Plain JS, no libraries. Every value from the server goes into the page as text, never HTML.
"use strict";

const T = {
  zh: {
    title: "12333 热线班长席", connecting: "连接中…", live: "实时", offline: "已断开，重连中…",
    district: "区域", all: "全市（全部）", logout: "退出", calls: "实时通话", caller: "来电",
    districtcol: "区域", state: "状态", where: "IVR节点 / 坐席", abstep: "AB岗", wait: "等待",
    talk: "通话", actions: "操作", agents: "坐席状态", agent: "坐席", since: "持续", queue: "排队",
    longest: "最长等待", districts: "各区概况", available: "空闲", away: "离席", kpi: "考核指标",
    h24: "近24小时", d7: "近7天", d30: "近30天", today: "今天", week: "本周", month: "本月",
    refresh: "刷新", csv: "导出CSV",
    chart_conn: "各区接通率 (%)", chart_agents: "坐席接听量", scoring: "质检评分",
    recent: "最近通话", history: "坐席评分记录", total: "得分", veto: "一票否决", scorer: "评分人",
    when: "时间", amends: "修正", listen: "监听", whisper: "耳语", barge: "强插", score: "评分",
    end: "结束", save: "保存评分", comment: "备注", none: "无", amend: "修正此评分",
    ivr: "IVR", queued: "排队中", ringing: "振铃", talking: "通话中",
    "logged-out": "未登录", unreachable: "不可达", paused: "小休", "wrap-up": "话后处理",
    "long-wait": "等待超时", "long-call": "通话过长", "district-away": "区域坐席全部离席", "no-answer-pause": "坐席未接听已自动小休",
    "abandon-spike": "放弃率突增", city: "市中心",
    k_calls: "呼入总量", k_asked: "转人工量", k_answered: "人工接通量", k_rate15: "15秒接通率",
    k_conn: "接通率", k_aband: "放弃率", k_wait: "平均等待(秒)", k_talk: "平均通话(秒)",
    k_ab: "AB岗补位率", k_sat: "满意率", k_resp: "评价参与率", k_self: "自助服务率",
    alarm: "接通率低于目标", monitoring: "监听会话", ringing_phone: "正在呼叫您的话机…",
    active: "进行中", switch_to: "切换为", saved: "已保存，得分", vetoed: "（一票否决）",
    scope: "范围", id: "编号", call: "通话", q_len: "录音时长", q_caller: "来电方讲话",
    q_agent: "坐席讲话", q_ratio: "讲话比", q_overlap: "抢话", q_silences: "长静默(>30秒)", q_muted: "保密静音",
    purpose: "调听用途（必填，将记入审计）", open_rec: "调取录音", monthly: "月度评分汇总",
    m_calls: "评分通话", m_scores: "评分次数", m_avg: "平均分", m_vetoes: "一票否决",
    m_lowest: "最弱项", no_scores: "本月无评分",
    matters: "工单", m_status: "状态", m_any: "全部", m_overdue_only: "仅超期", m_department: "转办部门",
    m_number: "编号", m_business: "业务", m_owner: "承办人", m_due: "办理时限", m_overdue: "超期",
    m_pool: "待分配", m_history: "办理记录", m_handovers: "转办", m_question: "转办事项", m_reply: "部门答复",
    m_summary: "摘要", m_channel: "来源", m_created: "登记时间", m_close: "办结", m_none: "暂无工单",
    c_status: "在办（按状态）", c_district: "在办（按区域）", c_overdue: "超期（按区域）", c_department: "待部门答复",
    st_open: "待办", st_in_progress: "办理中", st_handed_over: "已转办", st_answered: "部门已答复",
    st_closed: "已办结", st_reopened: "重新办理",
    matter_kpi: "工单指标", m_from: "从", m_to: "至", mk_opened: "新建工单", mk_closed: "办结工单",
    mk_on_time: "按时办结", mk_on_time_rate: "按时办结率", mk_fcr: "一次办结率", mk_avg: "平均办结时长(小时)",
    mk_overdue: "超期未办结", business: "业务", total_row: "合计",
    "matter-overdue": "工单超期", "matter-handover": "转办答复超期", to_owner: "提醒承办人", to_supervisor: "上报班长",
  },
  en: {
    title: "12333 hotline · supervisors", connecting: "Connecting…", live: "Live",
    offline: "Disconnected, retrying…", district: "District", all: "Whole city (all)",
    logout: "Log out", calls: "Live calls", caller: "Caller", districtcol: "District",
    state: "State", where: "IVR node / agent", abstep: "AB step", wait: "Wait", talk: "Talk",
    actions: "Actions", agents: "Agents", agent: "Agent", since: "For", queue: "Queue",
    longest: "Longest wait", districts: "Districts", available: "Free", away: "Away",
    kpi: "KPIs", h24: "Last 24 h", d7: "Last 7 days", d30: "Last 30 days", today: "Today",
    week: "This week", month: "This month", refresh: "Refresh",
    csv: "Export CSV", chart_conn: "Connection rate by district (%)",
    chart_agents: "Calls answered by agent", scoring: "Quality scoring", recent: "Recent calls",
    history: "Agent's score history", total: "Score", veto: "Veto", scorer: "Scorer",
    when: "When", amends: "Amends", listen: "Listen", whisper: "Whisper", barge: "Barge",
    score: "Score", end: "End", save: "Save score", comment: "Comment", none: "none",
    amend: "Amend this score", ivr: "IVR", queued: "Queued", ringing: "Ringing",
    talking: "Talking", available_state: "Available", "logged-out": "Logged out",
    unreachable: "Unreachable", paused: "Paused", "wrap-up": "Wrap-up",
    "long-wait": "Long wait", "long-call": "Long call", "district-away": "All seats away", "no-answer-pause": "Paused after unanswered rings",
    "abandon-spike": "Abandonment spike", city: "City centre",
    k_calls: "Calls", k_asked: "Asked for a person", k_answered: "Answered", k_rate15: "15-s answer rate",
    k_conn: "Connection rate", k_aband: "Abandonment", k_wait: "Avg wait (s)", k_talk: "Avg talk (s)",
    k_ab: "AB fallback", k_sat: "Satisfaction", k_resp: "Response rate", k_self: "Self-service rate",
    alarm: "Connection rate below target", monitoring: "Monitoring", ringing_phone: "Calling your phone…",
    active: "active", switch_to: "Switch to", saved: "Saved, score", vetoed: " (vetoed)",
    scope: "Scope", id: "Id", call: "Call", q_len: "Length", q_caller: "Caller talk",
    q_agent: "Agent talk", q_ratio: "Talk ratio", q_overlap: "Overlap", q_silences: "Silences > 30 s", q_muted: "Muted (secure pause)",
    purpose: "Purpose of access (required, audited)", open_rec: "Open recording",
    monthly: "Scores by month", m_calls: "Calls scored", m_scores: "Scores", m_avg: "Average",
    m_vetoes: "Vetoes", m_lowest: "Lowest item", no_scores: "No scores this month",
    matters: "Matters", m_status: "Status", m_any: "All", m_overdue_only: "Overdue only",
    m_department: "Handed over to", m_number: "Number", m_business: "Business", m_owner: "Owner",
    m_due: "Due", m_overdue: "overdue", m_pool: "pool", m_history: "History", m_handovers: "Hand-overs",
    m_question: "Question", m_reply: "Reply", m_summary: "Summary", m_channel: "Channel",
    m_created: "Opened", m_close: "Closed", m_none: "No matters",
    c_status: "Open, by status", c_district: "Open, by district", c_overdue: "Overdue, by district",
    c_department: "Waiting for a department", st_open: "Open", st_in_progress: "In progress",
    st_handed_over: "Handed over", st_answered: "Answered", st_closed: "Closed", st_reopened: "Reopened",
    matter_kpi: "Matter KPIs", m_from: "From", m_to: "To", mk_opened: "Opened", mk_closed: "Closed",
    mk_on_time: "Closed on time", mk_on_time_rate: "On-time rate", mk_fcr: "First-contact resolution",
    mk_avg: "Avg time to close (h)", mk_overdue: "Overdue", business: "Business", total_row: "Total",
    "matter-overdue": "Matter overdue", "matter-handover": "Department reply late",
    to_owner: "owner alerted", to_supervisor: "escalated to supervisor",
  },
};
T.zh.available_state = "空闲";

let lang = localStorage.getItem("hl-lang") || "zh";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let board = null, me = null, sheet = null, offset = 0, kpiData = null;
const officeNames = {};

const $ = (sel) => document.querySelector(sel);
const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : key);
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
function secs(n) {
  if (n === null || n === undefined || isNaN(n)) return "-";
  n = Math.max(0, Math.round(n));
  const m = Math.floor(n / 60), s = n % 60;
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s).padStart(2, "0")}`
    : `${m}:${String(s).padStart(2, "0")}`;
}
const now = () => Date.now() / 1000 - offset;
const officeName = (id) => (lang === "zh" ? officeNames[id] || id : id);
function stateName(s) { return s === "available" ? t("available_state") : t(s); }

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

let connState = "connecting";
function showConn() {
  $("#conn").textContent = t(connState);
  $("#conn").className = `conn ${connState === "live" ? "ok" : connState === "offline" ? "bad" : ""}`;
}
function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  document.title = t("title");
  showConn();
  render(); renderKpi(); renderSheet(); renderMatters(); renderMatterKpi();
}

// --- the live board ------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/api/events");
  // only the newest frame is drawn: frames that arrived while the page was busy are skipped
  let latest = null;
  source.addEventListener("board", (e) => {
    const queued = latest !== null;
    latest = e.data;
    if (!queued) setTimeout(drawLatest, 0);
  });
  function drawLatest() {
    const began = performance.now();
    board = JSON.parse(latest);
    latest = null;
    offset = Date.now() / 1000 - board.sent_at;
    if (connState !== "live") { connState = "live"; showConn(); }
    render();
    if (window.__drawn) window.__drawn(board, performance.now() - began);  // benchmark hook
  }
  source.onerror = () => {
    connState = "offline"; showConn();
    // a stream refused for good (the session expired): back to the log-in page
    if (source.readyState === EventSource.CLOSED) setTimeout(() => api("/api/me").then(connect, () => {}), 3000);
  };
}

let lastAlerts = "";
function render() {
  if (!board) return;
  const only = $("#district").value;
  const calls = board.calls.filter((c) => !only || c.district === only);
  syncRows($("#calls tbody"), calls, (c) => c.linkedid,
    (c) => [c.state, c.node, c.agent_id, c.district, c.ab_step, c.asked_at, c.talk_since].join("|"), (c) => {
      const where = c.state === "ivr" || c.state === "queued" ? (c.node || t("ivr"))
        : `${c.agent_name || ""} ${c.agent_id || ""}`;
      const actions = el("td", { class: "actions" });
      if (c.state === "talking" && me && me.may_monitor) {
        for (const mode of ["listen", "whisper", "barge"]) {
          actions.append(el("button", { type: "button", class: mode, "data-mode": mode,
            "data-linkedid": c.linkedid, onclick: () => monitor(c.linkedid, mode) }, t(mode)));
        }
      }
      if (c.agent_id && c.state === "talking") {
        actions.append(el("button", { type: "button", class: "score", onclick: () => pickForScore(c) }, t("score")));
      }
      return el("tr", { "data-linkedid": c.linkedid, "data-state": c.state, class: c.state },
        el("td", { class: "caller" }, c.caller), el("td", {}, officeName(c.district)),
        el("td", { class: "state" }, stateName(c.state)), el("td", { class: "where" }, where),
        el("td", {}, c.ab_step), el("td", { class: "tick", "data-from": c.asked_at || "",
          "data-until": c.talk_since || "" }, ""),
        el("td", { class: "tick", "data-from": c.talk_since || "" }, ""), actions);
    });
  $("#call-count").textContent = calls.length;

  const agents = board.agents.filter((a) => !only || a.office === only);
  const counts = {};
  agents.forEach((a) => { counts[a.state] = (counts[a.state] || 0) + 1; });
  $("#agent-summary").replaceChildren(...Object.entries(counts).map(([s, n]) =>
    el("span", { class: `pill ${s}` }, `${stateName(s)} ${n}`)));
  syncRows($("#agents tbody"), agents, (a) => a.id, (a) => [a.state, a.reason, a.since, a.office].join("|"),
    (a) => el("tr", { "data-agent": a.id, class: a.state },
      el("td", {}, `${a.name} ${a.id}`), el("td", {}, officeName(a.office)),
      el("td", { class: "state" }, stateName(a.state) + (a.reason ? ` (${a.reason})` : "")),
      el("td", { class: "tick", "data-from": a.since || "" }, "")));

  const queue = board.queue.filter((q) => !only || q.district === only);
  $("#queue-count").textContent = queue.length;
  $("#queue").replaceChildren(...queue.map((q) => el("li", {}, el("span", {}, officeName(q.district) + " "),
    el("span", { class: "tick", "data-from": q.joined_at }, ""))));
  $("#longest-wait").dataset.from = queue.length ? queue[0].joined_at : "";
  $("#longest-wait").className = "tick";

  syncRows($("#districts tbody"), board.districts, (d) => d.id,
    (d) => [d.calls, d.queued, d.agents, d.available, d.away].join("|"),
    (d) => el("tr", { "data-district": d.id, class: d.agents && d.away === d.agents ? "all-away" : "" },
      el("td", {}, officeName(d.id)), el("td", {}, d.calls), el("td", {}, d.queued),
      el("td", {}, d.agents), el("td", {}, d.available), el("td", {}, d.away)));

  const alerts = board.alerts.filter((a) => !only || !a.district || a.district === only);
  const alertKey = JSON.stringify(alerts) + lang;
  if (alertKey !== lastAlerts) {
    lastAlerts = alertKey;
    $("#alerts").querySelectorAll(".alert:not(.flash)").forEach((n) => n.remove());
    $("#alerts").append(...alerts.map((a) => el("div", { class: `alert ${a.kind}`, "data-kind": a.kind }, t(a.kind) + " · " +
      [a.district ? officeName(a.district) : "", a.number || "", a.to ? t("to_" + a.to) : "",
        a.agent_id || "", a.seconds ? secs(a.seconds) : "",
        a.percent !== undefined ? `${a.percent}%` : ""].filter(Boolean).join(" · "))));
  }

  renderMonitor(board.monitor || null);
  tick();
}

// keyed rows: a row is rebuilt only when what it shows changed (200 live calls, 10 frames/s)
function syncRows(tbody, items, key, sig, build) {
  const old = new Map([...tbody.children].map((tr) => [tr._key, tr]));
  const rows = items.map((item) => {
    const k = key(item), s = sig(item) + "|" + lang;
    const tr = old.get(k);
    if (tr && tr._sig === s) return tr;
    const fresh = build(item);
    fresh._key = k; fresh._sig = s;
    return fresh;
  });
  // move, add and remove only what differs (calls come and go at the ends: few DOM changes)
  const keep = new Set(rows);
  for (const tr of [...tbody.children]) if (!keep.has(tr)) tr.remove();
  rows.forEach((tr, i) => { if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
}

function tick() {
  const n = now();
  document.querySelectorAll(".tick").forEach((node) => {
    const from = parseFloat(node.dataset.from);
    const until = parseFloat(node.dataset.until);
    const text = isNaN(from) ? "-" : secs((isNaN(until) ? n : until) - from);
    if (node.textContent !== text) node.textContent = text;
  });
}

// --- listen / whisper / barge ----------------------------------------------------------------

let sessions = [];
async function monitor(linkedid, mode) {
  const current = sessions.find((s) => s.linkedid === linkedid);
  try {
    const r = await api("/api/monitor", { linkedid, mode, replaces: current ? current.id : null });
    sessions = sessions.filter((s) => s.linkedid !== linkedid).concat([{ ...r, ringing: true }]);
    showMonitor();
  } catch (e) { flash(e.message); }
}
async function endMonitor(id) {
  try { await api(`/api/monitor/${id}/end`, {}); } catch (e) { flash(e.message); }
  refreshMonitor();
}
async function refreshMonitor() { try { sessions = await api("/api/monitor"); showMonitor(); } catch (e) { /* shown on next */ } }
function renderMonitor() { if (sessions.length) refreshMonitorSoon(); }
let monitorTimer = null;
function refreshMonitorSoon() { if (!monitorTimer) monitorTimer = setTimeout(() => { monitorTimer = null; refreshMonitor(); }, 200); }
function showMonitor() {
  const bar = $("#monitor-bar");
  bar.hidden = sessions.length === 0;
  bar.replaceChildren(...sessions.map((s) => el("div", { class: "session", "data-session": s.id, "data-mode": s.mode,
    "data-active": s.active ? "yes" : "no" },
    `${t("monitoring")} · ${t(s.mode)} · ${s.active ? t("active") : t("ringing_phone")} `,
    ...["listen", "whisper", "barge"].filter((m) => m !== s.mode).map((m) => el("button",
      { type: "button", onclick: () => monitor(s.linkedid, m) }, `${t("switch_to")} ${t(m)}`)),
    el("button", { type: "button", class: "end", onclick: () => endMonitor(s.id) }, t("end")))));
}
function flash(message) {
  const n = el("div", { class: "alert flash", "data-kind": "error" }, message);
  $("#alerts").prepend(n); setTimeout(() => n.remove(), 8000);
}

// --- scoring ---------------------------------------------------------------------------------

let scoreTarget = null, recent = [];
function pickForScore(c) {
  scoreTarget = { linkedid: c.linkedid, agent_id: c.agent_id, caller: c.caller, amends: null };
  renderSheet(); $("#score-panel").scrollIntoView();
}
async function loadRecent() {
  recent = await api("/api/recent");
  const sel = $("#score-call");
  sel.replaceChildren(el("option", { value: "" }, "-"), ...recent.filter((c) => c.agent_id).map((c) =>
    el("option", { value: c.linkedid }, `${c.caller} · ${c.agent_id} · ${c.started_at.slice(0, 19).replace("T", " ")}`)));
}
// A recording (its page and its audio) opens only with a purpose when the policy asks for one:
// the server writes it into the access audit with the user's name.
function loadRecording() {
  const box = $("#recording");
  box.replaceChildren();
  if (!scoreTarget) return;
  const target = scoreTarget;
  const why = el("input", { id: "rec-purpose", maxLength: 200, placeholder: t("purpose") });
  const open = el("button", { type: "button", id: "rec-open", onclick: () => openRecording(target, why.value.trim()) }, t("open_rec"));
  if (me && me.purpose_required) box.append(why, open); else openRecording(target, "");
}
async function openRecording(target, purpose) {
  const box = $("#recording");
  const query = purpose ? `?purpose=${encodeURIComponent(purpose)}` : "";
  const base = `/api/recording/${encodeURIComponent(target.linkedid)}`;
  let rec;
  try { rec = await api(base + query); } catch (e) { flash(e.message); return; }
  box.replaceChildren();
  const m = (label, v, unit) => el("span", { class: "qa" }, `${t(label)}: ${v === null || v === undefined ? "—" : v + unit}`);
  box.append(el("audio", { controls: true, preload: "none", src: `${base}/audio${query}` }),
  m("q_len", rec.seconds !== null ? Math.round(rec.seconds) : null, " s"),
  m("q_caller", rec.caller_talk !== null ? Math.round(rec.caller_talk) : null, " s"),
  m("q_agent", rec.agent_talk !== null ? Math.round(rec.agent_talk) : null, " s"),
  m("q_ratio", rec.talk_ratio !== null ? Math.round(rec.talk_ratio * 100) / 100 : null, ""),
  m("q_overlap", rec.overlap !== null ? Math.round(rec.overlap) : null, " s"),
  m("q_silences", rec.long_silences, ""),
  el("span", { class: "qa", id: "rec-muted" }, `${t("q_muted")}: ${(rec.muted || []).length
    ? rec.muted.map(([a, b, kind]) => `${a}–${b} s (${kind})`).join(", ") : "—"}`));
}
function renderSheet() {
  const form = $("#score-form");
  if (!sheet) return;
  const name = (x) => (lang === "zh" ? x.name_zh : x.name_en);
  const head = el("p", { class: "target" }, scoreTarget
    ? `${scoreTarget.caller || ""} · ${t("agent")} ${scoreTarget.agent_id}` + (scoreTarget.amends ? ` · ${t("amends")} #${scoreTarget.amends}` : "")
    : "-");
  const rows = sheet.items.map((item) => el("label", { class: "item" }, `${name(item)} (${item.weight}) `,
    el("select", { name: item.id, "data-item": item.id }, ...sheet.bands.map((b) =>
      el("option", { value: b.id }, `${name(b)} ${Math.round(item.weight * b.share * 100) / 100}`)))));
  const reasons = lang === "zh" ? sheet.veto_reasons_zh : sheet.veto_reasons_en;
  const veto = el("label", { class: "item veto" }, `${t("veto")} `, el("select", { name: "veto", id: "veto" },
    el("option", { value: "" }, t("none")), ...reasons.map((r) => el("option", { value: r }, r))));
  const comment = el("label", { class: "item" }, `${t("comment")} `, el("input", { name: "comment", maxLength: 1000 }));
  const save = el("button", { type: "submit", id: "score-save", disabled: !scoreTarget }, t("save"));
  form.replaceChildren(head, ...rows, veto, comment, save);
}
async function saveScore(e) {
  e.preventDefault();
  if (!scoreTarget) return;
  const form = $("#score-form");
  const bands = {};
  sheet.items.forEach((item) => { bands[item.id] = form.elements[item.id].value; });
  try {
    const r = await api("/api/scores", { linkedid: scoreTarget.linkedid, agent_id: scoreTarget.agent_id,
      bands, veto_reason: form.elements.veto.value, comment: form.elements.comment.value,
      amends: scoreTarget.amends });
    $("#score-result").textContent = `${t("saved")} ${r.total}${r.vetoed ? t("vetoed") : ""} (#${r.id})`;
    $("#score-result").dataset.total = r.total;
    $("#score-result").dataset.id = r.id;
    $("#history-agent").value = scoreTarget.agent_id;
    loadHistory();
  } catch (err) { $("#score-result").textContent = err.message; }
}
async function loadHistory() {
  const agent = $("#history-agent").value;
  const rows = await api(`/api/scores?agent=${encodeURIComponent(agent)}`);
  $("#history tbody").replaceChildren(...rows.map((s) => el("tr", { "data-score": s.id, class: s.superseded ? "superseded" : "" },
    el("td", {}, s.id), el("td", {}, s.linkedid), el("td", { class: "total" }, s.total),
    el("td", {}, s.vetoed ? s.items.veto_reason : ""), el("td", {}, s.scorer),
    el("td", {}, s.created_at.slice(0, 19).replace("T", " ")),
    el("td", {}, s.amends ? `#${s.amends}` : "", s.superseded ? "" : el("button", { type: "button", onclick: () => {
      scoreTarget = { linkedid: s.linkedid, agent_id: s.agent_id, caller: s.linkedid, amends: s.id }; renderSheet();
    } }, t("amend"))))));
}

async function loadMonthly() {
  const month = $("#month").value;
  if (!month) return;
  let data;
  try { data = await api(`/api/scores/monthly?month=${encodeURIComponent(month)}`); } catch (e) { flash(e.message); return; }
  const body = $("#monthly tbody");
  if (!data.agents.length) { body.replaceChildren(el("tr", {}, el("td", { colspan: 6 }, t("no_scores")))); return; }
  const item = (id) => { const found = sheet && sheet.items.find((i) => i.id === id); return found ? (lang === "zh" ? found.name_zh : found.name_en) : id; };
  body.replaceChildren(...data.agents.map((a) => el("tr", { "data-agent": a.agent_id },
    el("td", {}, a.agent_id), el("td", {}, a.calls_scored), el("td", {}, a.scores), el("td", {}, a.average),
    el("td", {}, a.vetoes), el("td", {}, a.lowest_item ? `${item(a.lowest_item)} ${a.lowest_item_share}%` : "—"))));
}

// --- KPIs ------------------------------------------------------------------------------------

const KPI_FIELDS = [["k_calls", "calls", ""], ["k_asked", "asked", ""], ["k_answered", "answered", ""],
  ["k_rate15", "answer_rate_15s", "%"], ["k_conn", "connection_rate", "%"], ["k_aband", "abandonment", "%"],
  ["k_wait", "average_wait", ""], ["k_talk", "average_talk", ""], ["k_self", "self_service_rate", "%"],
  ["k_ab", "ab_fallback_rate", "%"],
  ["k_sat", "satisfaction_rate", "%"], ["k_resp", "response_rate", "%"]];
const fmt = (v, unit) => (v === null || v === undefined ? "—" : `${v}${unit}`);

async function loadKpi() {
  // a calendar period (the calendar's days, as `hotline report kpi`) or the last N hours
  const chosen = $("#kpi-hours").value;
  const query = /^\d+$/.test(chosen) ? `hours=${chosen}` : `period=${chosen}`;
  $("#kpi-csv").href = `/api/kpi.csv?${query}`;
  kpiData = await api(`/api/kpi?${query}`);
  renderKpi();
}
function renderKpi() {
  if (!kpiData) return;
  const total = kpiData.total;
  $("#kpi-total").replaceChildren(...KPI_FIELDS.flatMap(([label, key, unit]) => [
    el("dt", {}, t(label)), el("dd", { "data-kpi": key }, fmt(total[key], unit))]));
  const alarm = $("#kpi-alarm");
  alarm.hidden = !kpiData.alarm;
  alarm.textContent = `${t("alarm")} ${kpiData.target}%: ${fmt(total.connection_rate, "%")}`;
  const thead = el("tr", {}, el("th", {}, t("scope")), el("th", {}, t("id")),
    ...KPI_FIELDS.map(([label]) => el("th", {}, t(label))));
  const line = (scope, id, f) => el("tr", { "data-scope": scope, "data-id": id }, el("td", {}, scope),
    el("td", {}, scope === "district" ? officeName(id) : id),
    ...KPI_FIELDS.map(([, key, unit]) => el("td", { "data-kpi": key }, fmt(f[key], unit))));
  $("#kpi-table thead").replaceChildren(thead);
  $("#kpi-table tbody").replaceChildren(
    ...Object.entries(kpiData.districts).map(([id, f]) => line("district", id, f)),
    ...Object.entries(kpiData.agents).map(([id, f]) => line("agent", id, f)));
  $("#chart-districts").replaceChildren(barChart(Object.entries(kpiData.districts).map(([id, f]) =>
    [officeName(id), f.connection_rate]), 100, kpiData.target));
  $("#chart-agents").replaceChildren(barChart(Object.entries(kpiData.agents).map(([id, f]) => [id, f.answered]), null, null));
}
// a horizontal bar chart in inline SVG (no library)
function barChart(rows, max, target) {
  const NS = "http://www.w3.org/2000/svg";
  const mk = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const h = 22, left = 150, width = 360;
  const top = Math.max(1, max || Math.max(1, ...rows.map((r) => r[1] || 0)));
  const svg = mk("svg", { width: left + width + 60, height: h * rows.length + 10, role: "img" });
  rows.forEach(([label, value], i) => {
    const y = 5 + i * h;
    svg.append(mk("text", { x: left - 6, y: y + 14, "text-anchor": "end", class: "label" }, label));
    const w = value === null || value === undefined ? 0 : (width * value) / top;
    svg.append(mk("rect", { x: left, y, width: Math.max(0, w), height: h - 6,
      class: target !== null && value !== null && value < target ? "bar low" : "bar" }));
    svg.append(mk("text", { x: left + w + 4, y: y + 14, class: "value" }, value === null || value === undefined ? "—" : String(value)));
  });
  if (target !== null && target !== undefined) {
    const x = left + (width * target) / top;
    svg.append(mk("line", { x1: x, x2: x, y1: 0, y2: h * rows.length + 10, class: "target" }));
  }
  return svg;
}

// --- matters (工单): the account's scope only; figures as `hotline report matters` ---------------

let matterData = null, matterShown = null, matterKpi = null;
const deptName = (id) => {
  const d = matterData && matterData.departments.find((x) => x.id === id);
  return d ? (lang === "zh" ? d.name : d.name_en || d.name) : id;
};
const localTime = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) : "-");

async function loadMatters() {
  const q = new URLSearchParams();
  if ($("#matter-status").value) q.set("status", $("#matter-status").value);
  if ($("#matter-overdue").checked) q.set("overdue", "1");
  if ($("#matter-district").value) q.set("district", $("#matter-district").value);
  if ($("#matter-department").value) q.set("department", $("#matter-department").value);
  matterData = await api(`/api/matters?${q}`);
  const dsel = $("#matter-department");
  if (dsel.options.length === 1) {
    matterData.departments.forEach((d) => dsel.append(el("option", { value: d.id, "data-department": d.id }, d.name)));
  }
  const ssel = $("#matter-status");
  if (ssel.options.length === 1) matterData.statuses.forEach((st) => ssel.append(el("option", { value: st, "data-status": st }, t("st_" + st))));
  renderMatters();
}
function renderMatters() {
  if (!matterData) return;
  document.querySelectorAll("#matter-department option[data-department]").forEach((o) => { o.textContent = deptName(o.value); });
  document.querySelectorAll("#matter-status option[data-status]").forEach((o) => { o.textContent = t("st_" + o.value); });
  const rows = matterData.rows;
  $("#matter-count").textContent = rows.length;
  const c = matterData.counts;
  const pills = (label, obj, name) => [el("b", {}, t(label) + ": "),
    ...Object.entries(obj).map(([k, n]) => el("span", { class: "pill", "data-count": `${label}:${k}` }, `${name(k)} ${n}`))];
  $("#matter-counts").replaceChildren(
    el("div", {}, ...pills("c_status", c.status, (k) => t("st_" + k))),
    el("div", {}, ...pills("c_district", c.district, (k) => (k ? officeName(k) : t("city")))),
    el("div", {}, ...pills("c_overdue", c.overdue, (k) => (k ? officeName(k) : t("city")))),
    el("div", {}, ...pills("c_department", c.department, deptName)));
  const body = $("#matters tbody");
  body.replaceChildren(...(rows.length ? rows.map((m) => {
    const open = el("button", { type: "button", class: "link" }, m.number);
    open.onclick = () => openMatter(m.number);
    return el("tr", { "data-number": m.number, class: m.overdue ? "overdue" : "" },
      el("td", {}, open), el("td", { "data-status": m.status }, t("st_" + m.status)),
      el("td", {}, m.district ? officeName(m.district) : t("city")), el("td", {}, m.business || "-"),
      el("td", {}, m.owner || t("m_pool")), el("td", {}, m.caller),
      el("td", {}, localTime(m.due_at) + (m.overdue ? ` · ${t("m_overdue")}` : "")),
      el("td", {}, m.departments.map(deptName).join(", ")));
  }) : [el("tr", {}, el("td", { colSpan: 8 }, t("m_none")))]));
  if (matterShown) renderMatterDetail();
}
async function openMatter(number) {
  try { matterShown = await api(`/api/matters/${encodeURIComponent(number)}`); } catch (e) { flash(e.message); return; }
  renderMatterDetail();
  $("#matter-detail").focus();
}
function renderMatterDetail() {
  const m = matterShown, box = $("#matter-detail");
  box.hidden = false;
  const close = el("button", { type: "button" }, t("end"));
  close.onclick = () => { matterShown = null; box.hidden = true; };
  box.replaceChildren(
    el("h3", {}, `${t("matters")} ${m.number} · ${t("st_" + m.status)}`, " ", close),
    el("p", {}, `${t("caller")}: ${m.caller} · ${t("districtcol")}: ${m.district ? officeName(m.district) : t("city")} · ` +
      `${t("m_business")}: ${m.business || "-"} · ${t("m_owner")}: ${m.owner || t("m_pool")} · ` +
      `${t("m_created")}: ${localTime(m.created_at)} · ${t("m_due")}: ${localTime(m.due_at)}`),
    el("p", {}, `${t("m_summary")}: ${m.summary || "-"}`),
    el("h4", {}, t("m_handovers")),
    el("ul", {}, ...m.handovers.map((h) => el("li", { "data-department": h.department },
      `${deptName(h.department)} · ${t("m_question")}: ${h.question} · ${t("m_due")}: ${localTime(h.due_at)} · ` +
      `${t("m_reply")}: ${h.reply || "-"}${h.replied_at ? " (" + localTime(h.replied_at) + ")" : ""}`))),
    el("h4", {}, t("m_history")),
    el("table", { class: "history" }, el("tbody", {}, ...m.history.map((e) => el("tr", { "data-kind": e.kind },
      el("td", {}, localTime(e.at)), el("td", {}, e.actor), el("td", {}, e.kind),
      el("td", {}, t("st_" + e.status)), el("td", {}, e.detail))))));
}

const MATTER_KPI = [["mk_opened", "opened", ""], ["mk_closed", "closed", ""], ["mk_on_time", "closed_on_time", ""],
  ["mk_on_time_rate", "on_time_rate", "%"], ["mk_fcr", "first_contact_rate", "%"],
  ["mk_avg", "average_close_hours", ""], ["mk_overdue", "overdue", ""]];
async function loadMatterKpi() {
  const q = new URLSearchParams({ from: $("#matter-kpi-from").value, to: $("#matter-kpi-to").value });
  if ($("#matter-district").value) q.set("district", $("#matter-district").value);
  try { matterKpi = await api(`/api/matters/kpi?${q}`); } catch (e) { flash(e.message); return; }
  renderMatterKpi();
}
function renderMatterKpi() {
  if (!matterKpi) return;
  $("#matter-kpi-total").replaceChildren(...MATTER_KPI.flatMap(([label, key, unit]) => [
    el("dt", {}, t(label)), el("dd", { "data-matter-kpi": key }, fmt(matterKpi.total[key], unit))]));
  const line = (scope, id, name, f) => el("tr", { "data-scope": scope, "data-id": id }, el("td", {}, t(scope)),
    el("td", {}, name), ...MATTER_KPI.map(([, key, unit]) => el("td", { "data-matter-kpi": key }, fmt(f[key], unit))));
  $("#matter-kpi-table thead").replaceChildren(el("tr", {}, el("th", {}, t("scope")), el("th", {}, t("id")),
    ...MATTER_KPI.map(([label]) => el("th", {}, t(label)))));
  $("#matter-kpi-table tbody").replaceChildren(
    ...Object.entries(matterKpi.businesses).map(([id, f]) => line("business", id, id, f)),
    ...Object.entries(matterKpi.districts).map(([id, f]) => line("districtcol", id, id === "city" ? t("city") : officeName(id), f)));
}

// --- start -----------------------------------------------------------------------------------

async function start() {
  me = await api("/api/me");
  $("#who").textContent = `${me.username} · ${me.role}${me.district ? " · " + me.district : ""}`;
  me.offices.forEach((o) => { officeNames[o.id] = o.name; });
  const sel = $("#district");
  me.offices.forEach((o) => sel.append(el("option", { value: o.id, "data-office": o.id }, o.name)));
  if (me.district) sel.value = me.district;
  sel.onchange = render;
  $("#lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("hl-lang", lang); translate(); };
  $("#kpi-refresh").onclick = loadKpi;
  const msel = $("#matter-district");
  me.offices.forEach((o) => msel.append(el("option", { value: o.id, "data-office": o.id }, o.name)));
  if (me.district) { msel.value = me.district; msel.disabled = true; }
  msel.onchange = () => { loadMatters(); loadMatterKpi(); };
  ["#matter-status", "#matter-overdue", "#matter-department"].forEach((id) => { $(id).onchange = loadMatters; });
  $("#matter-refresh").onclick = loadMatters;
  const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  $("#matter-kpi-from").value = today.slice(0, 8) + "01";
  $("#matter-kpi-to").value = today;
  $("#matter-kpi-refresh").onclick = loadMatterKpi;
  $("#kpi-hours").onchange = loadKpi;
  $("#recent-refresh").onclick = loadRecent;
  $("#score-form").onsubmit = saveScore;
  $("#score-call").onchange = () => {
    const c = recent.find((r) => r.linkedid === $("#score-call").value);
    scoreTarget = c ? { linkedid: c.linkedid, agent_id: c.agent_id, caller: c.caller, amends: null } : null;
    renderSheet(); loadRecording();
  };
  $("#history-agent").onchange = loadHistory;
  $("#month").value = new Date().toISOString().slice(0, 7);
  $("#month").onchange = loadMonthly;
  sheet = await api("/api/sheet");
  connect();
  translate();
  setInterval(tick, 1000);
  setInterval(refreshMonitor, 3000);
  await loadKpi();
  await loadMatters();
  await loadMatterKpi();
  await loadRecent();
  await loadMonthly();
  // agents for the history picker come with the first board
  const wait = setInterval(() => {
    if (!board) return;
    clearInterval(wait);
    $("#history-agent").replaceChildren(...board.agents.map((a) => el("option", { value: a.id }, `${a.name} ${a.id}`)));
    loadHistory();
  }, 100);
}
start();
