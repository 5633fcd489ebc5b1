// The console's government-service lookups: service items (政务服务事项) with their guides (办事指南),
// searched beside the knowledge base and linked to the open order; and a case's status on the approval
// platform (办件查询) by its application number, for the applicant on the phone.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const SEARCH_DELAY = 250;
  const GUIDE = [
    ["code", "事项编码"], ["unit_name", "实施主体"], ["item_type", "事项类型"], ["basis", "设定依据"],
    ["applicants", "申请对象"], ["conditions", "申请条件"], ["materials", "申请材料"], ["process", "办理流程"],
    ["fees", "收费标准"], ["time_limit", "承诺时限"], ["contact", "咨询电话"], ["supervising_unit", "监督单位"],
  ];
  let ticket = null; // the open order, once it exists
  let linked = [];
  let searchSeq = 0;

  function guide(item) {
    const facts = GUIDE.map(([key, label]) => [label, Array.isArray(item[key]) ? item[key].join("；") : item[key]]).filter(([, v]) => v);
    return H.el("dl", { class: "facts" }, facts.flatMap(([label, value]) => [H.el("dt", {}, label), H.el("dd", {}, value)]));
  }

  function row(item, action) {
    return H.el("li", {},
      H.el("details", {}, H.el("summary", {}, item.name, H.el("span", { class: "hint" }, "（" + item.unit_name + "）")), guide(item)),
      action);
  }

  function showLinked() {
    const list = $("items-linked");
    if (!ticket) { list.replaceChildren(H.el("li", { class: "empty" }, "未打开工单")); return; }
    list.replaceChildren(...linked.map((item) => row(item,
      H.el("button", { type: "button", class: "link", onclick: () => unlink(item) }, "取消关联"))));
    if (!linked.length) list.appendChild(H.el("li", { class: "empty" }, "暂无关联事项"));
  }

  async function update(request, done) {
    try {
      linked = (await request).items;
      showLinked();
      H.toast(done);
    } catch (err) { H.toast(err.message, "error"); }
  }
  const link = (item) => update(H.api("POST", "/api/v1/tickets/" + ticket.id + "/service-items", { service_item_id: item.id }), "已关联到工单");
  const unlink = (item) => update(H.api("DELETE", "/api/v1/tickets/" + ticket.id + "/service-items/" + item.id), "已取消关联");

  async function search(q) {
    const list = $("items-results");
    const seq = ++searchSeq;
    if (!q.trim()) { list.replaceChildren(); return; }
    let items = [];
    try {
      items = (await H.api("GET", "/api/v1/service-items?limit=5&q=" + encodeURIComponent(q.trim()))).items;
    } catch (err) {
      items = []; // the console works without the catalogue
    }
    if (seq !== searchSeq) return;
    list.replaceChildren(...items.map((item) => row(item,
      H.el("button", { type: "button", class: "link", disabled: !ticket, title: ticket ? null : "先打开或保存工单",
        onclick: () => link(item) }, "关联到工单"))));
    if (!items.length) list.appendChild(H.el("li", { class: "empty" }, "无匹配的事项"));
  }

  document.addEventListener("hotline:order", async (event) => {
    const opened = event.detail;
    if (ticket && opened && ticket.id === opened.id) return;
    ticket = opened;
    linked = [];
    showLinked();
    if (ticket) {
      try { linked = (await H.api("GET", "/api/v1/tickets/" + ticket.id + "/service-items")).items; } catch (err) { linked = []; }
      showLinked();
    }
    search($("items-q").value); // the link buttons follow whether an order is open
  });
  $("items-q").addEventListener("input", H.debounce(() => search($("items-q").value), SEARCH_DELAY));

  // --- 办件查询 ------------------------------------------------------------------------------------

  $("case-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("case-result");
    const number = $("case-no").value.trim();
    if (!number) return;
    box.replaceChildren(H.el("p", { class: "hint" }, "查询中…"));
    try {
      const c = await H.api("GET", "/api/v1/platform/cases/" + encodeURIComponent(number));
      box.replaceChildren(
        H.el("dl", { class: "facts" },
          H.el("dt", {}, "办理状态"), H.el("dd", {}, H.el("strong", {}, c.status_label || c.status)),
          H.el("dt", {}, "事项"), H.el("dd", {}, c.item_name || "—"),
          H.el("dt", {}, "申请人"), H.el("dd", {}, c.applicant || "—"),
          H.el("dt", {}, "办理单位"), H.el("dd", {}, c.unit_name || "—"),
          H.el("dt", {}, "申请时间"), H.el("dd", {}, H.time(c.submitted_at)),
          H.el("dt", {}, "承诺办结"), H.el("dd", {}, H.time(c.due_at)),
          c.finished_at ? [H.el("dt", {}, "办结时间"), H.el("dd", {}, H.time(c.finished_at))] : null),
        H.el("ol", { class: "steps" }, c.steps.map((step) =>
          H.el("li", {}, step.name + "：" + (step.status === "done" ? "已完成" : step.status === "running" ? "办理中" : step.status) +
            (step.unit ? "（" + step.unit + "）" : "") + (step.at ? " " + H.time(step.at) : "")))));
    } catch (err) {
      box.replaceChildren(H.el("p", { class: "error" }, err.message));
    }
  });
})();
