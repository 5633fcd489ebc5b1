// Supervisor dashboard: workload figures, ECharts charts (volumes, hot topics, scorecards), the queues
// to act on (replies to review, overdue orders, bad ratings to judge) and order search with history.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';
  const REFRESH_MS = 60000;
  const CHANNELS = Object.fromEntries(Array.from(document.querySelectorAll("#s-channel option")).filter((o) => o.value).map((o) => [o.value, o.textContent]));
  const charts = {};

  function chart(id) {
    if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: "canvas" });
    return charts[id];
  }
  window.addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });

  function lines(id, days, series, stacked) {
    const top = series.slice(0, 8);
    chart(id).setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", data: days.map((d) => d.slice(5)) },
      yAxis: { type: "value", minInterval: 1 },
      series: top.map((s) => ({ name: s.label, type: stacked ? "bar" : "line", stack: stacked ? "total" : undefined, data: s.counts, smooth: true })),
    }, true);
  }

  async function loadCharts() {
    const days = $("d-days").value;
    let d;
    try {
      d = await H.api("GET", "/api/v1/reports/dashboard?days=" + days);
    } catch (err) { H.toast(err.message, "error"); return; }
    $("k-open").textContent = d.workload.open;
    $("k-overdue").textContent = d.workload.overdue;
    $("k-warning").textContent = d.workload.warning;
    $("k-yellow").textContent = d.workload.yellow_card;
    $("k-red").textContent = d.workload.red_card;
    $("hot-days").textContent = d.hot_days;
    lines("c-channel", d.volumes.days, d.volumes.by_channel, true);
    lines("c-category", d.volumes.days, d.volumes.by_category, true);
    lines("c-territory", d.volumes.days, d.volumes.by_territory, false);
    const hot = d.hot_topics.slice().reverse();
    chart("c-hot").setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 150, right: 16, top: 28, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: hot.map((t) => t.path), axisLabel: { width: 140, overflow: "truncate" } },
      series: [
        { name: "本期", type: "bar", data: hot.map((t) => t.count) },
        { name: "上期", type: "bar", data: hot.map((t) => t.previous) },
      ],
    }, true);
  }

  async function loadScorecards() {
    let card;
    try { card = await H.api("GET", "/api/v1/scorecards"); } catch (err) { return; }
    const rows = card.rows.filter((r) => r.score !== null).sort((a, b) => a.score - b.score).slice(-12);
    chart("c-score").setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 120, right: 24, top: 12, bottom: 20 },
      xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", data: rows.map((r) => r.unit_name), axisLabel: { width: 110, overflow: "truncate" } },
      series: [{ name: "得分", type: "bar", data: rows.map((r) => Math.round(r.score * 1000) / 10), label: { show: true, position: "right" } }],
    }, true);
  }

  function card(list, ...children) {
    const li = H.el("li", { class: "card" }, ...children);
    list.appendChild(li);
    return li;
  }

  function reasonBox(label) {
    return H.el("input", { type: "text", maxlength: 4000, placeholder: label, "aria-label": label });
  }

  async function loadReviews() {
    const list = $("rr-list");
    let page;
    try { page = await H.api("GET", "/api/v1/tickets?status=reply_review&page_size=20"); } catch (err) { return; }
    $("rr-count").textContent = page.total + " 件";
    list.replaceChildren();
    for (const t of page.items) {
      const reason = reasonBox("退回理由（退回时必填）");
      card(list,
        H.el("a", { href: "#s-detail", class: "number", onclick: (e) => { e.preventDefault(); detail(t.id); } }, t.number), " ",
        t.title, H.el("small", {}, "（" + (t.lead_unit_name || "—") + "）"), reason,
        H.el("span", { class: "actions" },
          H.el("button", { type: "button", class: "primary", onclick: () => act(t, "approve-reply", undefined, "审核通过") }, "审核通过"),
          H.el("button", { type: "button", onclick: () => {
            if (!reason.value.trim()) { H.toast("请填写退回理由", "error"); reason.focus(); return; }
            act(t, "reject-reply", { reason: reason.value.trim() }, "已退回重办");
          } }, "退回重办")));
    }
    if (!page.items.length) card(list, "暂无待审核回复").className = "empty";
  }

  async function loadOverdue() {
    const list = $("od-list");
    let page;
    try { page = await H.api("GET", "/api/v1/tickets?overdue=true&page_size=20"); } catch (err) { return; }
    $("od-count").textContent = page.total + " 件";
    list.replaceChildren();
    for (const t of page.items.sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at))) {
      const text = reasonBox("督办意见");
      card(list,
        H.el("a", { href: "#s-detail", class: "number", onclick: (e) => { e.preventDefault(); detail(t.id); } }, t.number), " ",
        H.el("span", { class: "level " + H.deadlineClass(t) }, H.LEVEL_LABELS[H.deadlineClass(t)]), " ", t.title,
        H.el("small", {}, "（" + (t.lead_unit_name || "—") + "，时限 " + H.time(t.due_at) + "）"), text,
        H.el("button", { type: "button", onclick: async () => {
          try {
            await H.api("POST", "/api/v1/tickets/" + t.id + "/supervise", { content: text.value.trim() || "已超期，请立即办理并答复。" });
            H.toast("已发督办单：" + t.number);
          } catch (err) { H.toast(err.message, "error"); }
        } }, "发督办单"));
    }
    if (!page.items.length) card(list, "暂无超期工单").className = "empty";
  }

  async function loadSurveys() {
    const list = $("sv-list");
    let page;
    try { page = await H.api("GET", "/api/v1/surveys?review_status=pending&page_size=20"); } catch (err) { return; }
    $("sv-count").textContent = page.total + " 件";
    list.replaceChildren();
    for (const s of page.items) {
      const reason = reasonBox("研判理由");
      const judge = (reasonable) => async () => {
        if (!reason.value.trim()) { H.toast("请填写研判理由", "error"); reason.focus(); return; }
        try {
          await H.api("POST", "/api/v1/surveys/" + s.id + "/judge", { reasonable: reasonable, reason: reason.value.trim() });
          H.toast("已研判：" + s.order.number);
          loadSurveys();
        } catch (err) { H.toast(err.message, "error"); }
      };
      card(list,
        H.el("a", { href: "#s-detail", class: "number", onclick: (e) => { e.preventDefault(); detail(s.order.id); } }, s.order.number), " ",
        s.order.title, H.el("small", {}, "（" + s.unit_name + "，" + (s.answer.satisfaction_label || "") + (s.answer.comment ? "：" + s.answer.comment : "") + "）"),
        reason,
        H.el("span", { class: "actions" },
          H.el("button", { type: "button", onclick: judge(true) }, "诉求合理，重办"),
          H.el("button", { type: "button", onclick: judge(false) }, "不合理，不计考核")));
    }
    if (!page.items.length) card(list, "暂无待研判的不满意评价").className = "empty";
  }

  async function loadExtensions() {
    const list = $("ex-list");
    const mayJudge = $("extensions").dataset.role === "supervisor";
    let rows;
    try { rows = await H.api("GET", "/api/v1/reports/extension-requests?limit=20"); } catch (err) { return; }
    $("ex-count").textContent = rows.length + " 件";
    list.replaceChildren();
    for (const r of rows) {
      const reason = reasonBox("不同意的理由");
      const t = { id: r.ticket_id };
      card(list,
        H.el("a", { href: "#s-detail", class: "number", onclick: (e) => { e.preventDefault(); detail(r.ticket_id); } }, r.number), " ",
        r.title, H.el("small", {}, "（" + (r.lead_unit_name || "—") + "：" + H.time(r.due_at) + " → " + H.time(r.requested_due_at) + "）"),
        H.el("p", {}, "理由：" + (r.reason || "—")),
        mayJudge ? reason : null,
        mayJudge ? H.el("span", { class: "actions" },
          H.el("button", { type: "button", onclick: () => act(t, "approve-extension", {}, "已批准延期", loadExtensions) }, "批准延期"),
          H.el("button", { type: "button", onclick: () => {
            if (!reason.value.trim()) { H.toast("请填写不同意的理由", "error"); reason.focus(); return; }
            act(t, "reject-extension", { reason: reason.value.trim() }, "已驳回延期", loadExtensions);
          } }, "不同意")) : null);
    }
    if (!rows.length) card(list, "暂无待审批的延期申请").className = "empty";
  }

  async function loadReturns() {
    const list = $("rt-list");
    const mayJudge = $("returns").dataset.role === "dispatcher";
    let page;
    try { page = await H.api("GET", "/api/v1/tickets?status=return_review&page_size=20"); } catch (err) { return; }
    $("rt-count").textContent = page.total + " 件";
    list.replaceChildren();
    for (const t of page.items) {
      const reason = reasonBox("不同意的理由");
      card(list,
        H.el("a", { href: "#s-detail", class: "number", onclick: (e) => { e.preventDefault(); detail(t.id); } }, t.number), " ",
        t.title, H.el("small", {}, "（" + (t.lead_unit_name || "—") + " 退回）"),
        mayJudge ? reason : null,
        mayJudge ? H.el("span", { class: "actions" },
          H.el("button", { type: "button", onclick: () => act(t, "approve-return", {}, "已同意退单", loadReturns) }, "同意退单"),
          H.el("button", { type: "button", onclick: () => {
            if (!reason.value.trim()) { H.toast("请填写不同意的理由", "error"); reason.focus(); return; }
            act(t, "reject-return", { reason: reason.value.trim() }, "已驳回退单", loadReturns);
          } }, "不同意")) : null);
    }
    if (!page.items.length) card(list, "暂无待审核的退单").className = "empty";
  }

  async function act(t, path, body, done, reload) {
    try {
      const r = await H.api("POST", "/api/v1/tickets/" + t.id + "/" + path, body);
      H.toast(done + "：" + r.number + " " + r.status_label);
      (reload || loadReviews)();
    } catch (err) { H.toast(err.message, "error"); }
  }

  // The search form's filters; the export links follow them, so the file holds what the list shows (all pages).
  function searchFilters() {
    const params = new URLSearchParams();
    for (const [key, id] of [["q", "s-q"], ["status", "s-status"], ["channel", "s-channel"], ["created_from", "s-from"], ["created_to", "s-to"]]) {
      if ($(id).value.trim()) params.set(key, $(id).value.trim());
    }
    for (const [id, format] of [["s-export", "xlsx"], ["s-export-csv", "csv"]]) {
      params.set("format", format);
      $(id).href = "/api/v1/tickets/export?" + params.toString();
    }
    params.delete("format");
    return params;
  }

  async function search() {
    const params = searchFilters();
    params.set("page_size", 50);
    const body = $("s-rows");
    try {
      const page = await H.api("GET", "/api/v1/tickets?" + params.toString());
      body.replaceChildren(...page.items.map((t) => H.el("tr", { class: H.deadlineClass(t), tabindex: 0, onclick: () => detail(t.id), onkeydown: (e) => { if (e.key === "Enter") detail(t.id); } },
        H.el("td", {}, t.number), H.el("td", {}, t.title), H.el("td", {}, t.status_label), H.el("td", {}, t.lead_unit_name || "—"), H.el("td", {}, H.time(t.due_at)))));
      if (!page.items.length) body.appendChild(H.el("tr", {}, H.el("td", { colspan: 5 }, "没有符合条件的工单")));
    } catch (err) { H.toast(err.message, "error"); }
  }

  async function detail(id) {
    const box = $("s-detail");
    try {
      const t = await H.api("GET", "/api/v1/tickets/" + id);
      box.replaceChildren(
        H.el("h3", {}, t.number + " " + t.status_label),
        H.el("p", { class: "content" }, t.content),
        H.el("dl", { class: "facts" },
          H.el("dt", {}, "渠道"), H.el("dd", {}, CHANNELS[t.channel] || t.channel), H.el("dt", {}, "承办单位"), H.el("dd", {}, t.lead_unit_name || "—"),
          H.el("dt", {}, "办理时限"), H.el("dd", {}, H.time(t.due_at)), H.el("dt", {}, "回复"), H.el("dd", {}, t.reply || t.answer || "—")),
        H.el("h4", {}, "附件"), await H.files(t.id),
        H.el("h4", {}, "完整办理经过"), H.history(t.events));
      box.focus();
    } catch (err) { H.toast(err.message, "error"); }
  }

  $("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("search").addEventListener("change", searchFilters);
  $("d-days").addEventListener("change", loadCharts);
  function refresh() {
    loadCharts();
    loadScorecards();
    loadReviews();
    loadOverdue();
    loadSurveys();
    loadReturns();
    loadExtensions();
  }
  refresh();
  search();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);

  // Live: an order's change (a reply to review, a return, an extension request, an order closed) reloads
  // the queues to act on at once, once for a burst; the charts and figures keep the periodic refresh.
  // After a lost connection everything reloads.
  const queues = H.debounce(() => {
    loadReviews();
    loadReturns();
    loadExtensions();
    loadOverdue();
  }, 300);
  H.live("/ws/console", (data) => {
    if (data.type && data.type.startsWith("ticket.")) queues();
  }, (reconnected) => { if (reconnected) refresh(); });
})();
