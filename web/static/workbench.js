// Department workbench: the unit's orders by deadline with warning colours; accept, return, extend,
// hand down, assist and reply; the unit's supervision orders to answer.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 200;
  const REFRESH_MS = 30000; // besides the pushed changes: supervision orders, deadline colours
  let me = null;
  let units = [];
  let current = null;

  function dueOrder(a, b) {
    const x = a.due_at ? Date.parse(a.due_at) : Infinity;
    const y = b.due_at ? Date.parse(b.due_at) : Infinity;
    return x - y || a.id - b.id;
  }

  function left(due) {
    if (!due) return "";
    const minutes = Math.round((Date.parse(due) - Date.now()) / 60000);
    const abs = Math.abs(minutes);
    const text = abs >= 1440 ? Math.floor(abs / 1440) + " 天" : abs >= 60 ? Math.floor(abs / 60) + " 小时" : abs + " 分钟";
    return minutes < 0 ? "已超期 " + text : "剩余 " + text;
  }

  async function loadList() {
    const params = new URLSearchParams({ status: $("wb-status").value, page_size: PAGE_SIZE });
    const q = $("wb-q").value.trim();
    if (q) params.set("q", q);
    const exported = new URLSearchParams(params);
    exported.delete("page_size");
    exported.set("format", "xlsx");
    $("wb-export").href = "/api/v1/tickets/export?" + exported.toString();  // the unit's orders as listed
    const body = $("wb-rows");
    let page;
    try {
      page = await H.api("GET", "/api/v1/tickets?" + params.toString());
    } catch (err) {
      body.replaceChildren(H.el("tr", {}, H.el("td", { colspan: 5, class: "error" }, err.message)));
      return;
    }
    const items = page.items.sort(dueOrder);
    $("wb-count").textContent = "共 " + page.total + " 件";
    body.replaceChildren();
    for (const t of items) {
      const level = H.deadlineClass(t);
      body.appendChild(H.el("tr", {
        class: level + (current && current.id === t.id ? " selected" : ""), tabindex: 0, dataset: { ticketId: t.id },
        onclick: () => open(t.id), onkeydown: (e) => { if (e.key === "Enter") open(t.id); },
      },
      H.el("td", {}, H.el("a", { href: "#wb-detail", class: "number", onclick: (e) => e.preventDefault() }, t.number)),
      H.el("td", {}, t.title), H.el("td", {}, t.status_label), H.el("td", {}, H.time(t.due_at)),
      H.el("td", {}, H.el("span", { class: "level " + level }, H.LEVEL_LABELS[level]), " ", left(t.due_at))));
    }
    if (!items.length) body.appendChild(H.el("tr", {}, H.el("td", { colspan: 5 }, "暂无工单")));
  }

  async function loadSupervision() {
    const list = $("sv-list");
    let orders = [];
    try { orders = await H.api("GET", "/api/v1/supervision-orders?status=open"); } catch (err) { orders = []; }
    list.replaceChildren();
    for (const o of orders) {
      const text = H.el("textarea", { rows: 2, maxlength: 4000, "aria-label": "答复" + o.kind_label + "单" });
      list.appendChild(H.el("li", { class: "card" },
        H.el("strong", {}, o.kind_label), " 工单 ", H.el("a", { href: "#wb-detail", onclick: (e) => { e.preventDefault(); open(o.ticket_id); } }, "#" + o.ticket_id),
        " 答复期限 ", H.time(o.reply_due_at), H.el("p", {}, o.content), text,
        H.el("button", { type: "button", onclick: async () => {
          try {
            await H.api("POST", "/api/v1/supervision-orders/" + o.id + "/reply", { reply: text.value.trim() });
            H.toast("已答复" + o.kind_label + "单");
            loadSupervision();
          } catch (err) { H.toast(err.message, "error"); }
        } }, "答复")));
    }
    if (!orders.length) list.appendChild(H.el("li", { class: "empty" }, "暂无待答复的督办/催办单"));
  }

  function error(message) {
    $("wd-error").textContent = message;
    $("wd-error").hidden = !message;
  }

  function show(t) {
    current = t;
    $("wd-empty").hidden = true;
    $("wd-body").hidden = false;
    $("wd-number").textContent = t.number;
    const level = H.deadlineClass(t);
    $("wd-status").replaceChildren(t.status_label + (t.extension_pending ? "（延期审批中）" : ""));
    $("wd-due").replaceChildren(H.time(t.due_at) + " ", H.el("span", { class: "level " + level }, H.LEVEL_LABELS[level]), " " + left(t.due_at));
    $("wd-citizen").textContent = t.citizen ? (t.citizen.name || "（未留姓名）") + " " + t.citizen.phones.join("、") : (t.confidential ? "保密" : "—");
    $("wd-address").textContent = t.address || "—";
    $("wd-territory").textContent = t.territory_name || "—";
    $("wd-units").textContent = t.assignments.filter((a) => a.active).map((a) => a.unit_name + (a.role === "lead" ? "（主办）" : "（协办）")).join("、") || "—";
    $("wd-content").textContent = t.content;
    $("wd-actions").querySelector('[data-action="accept"]').hidden = !t.allowed_actions.includes("accept");
    for (const form of document.querySelectorAll("#wd-body form.subform")) form.hidden = !t.allowed_actions.includes(form.dataset.action);
    $("wd-history").replaceChildren(H.history(t.events));
    H.files(t.id).then((list) => { if (current && current.id === t.id) $("wd-files").replaceChildren(list); });
    for (const row of document.querySelectorAll("#wb-rows tr")) row.classList.toggle("selected", Number(row.dataset.ticketId) === t.id);
    error("");
  }

  async function open(id) {
    try {
      show(await H.api("GET", "/api/v1/tickets/" + id));
      $("wb-detail").focus();
    } catch (err) { H.toast(err.message, "error"); }
  }

  async function act(path, body, done) {
    error("");
    try {
      const t = await H.api("POST", "/api/v1/tickets/" + current.id + "/" + path, body);
      show(t);
      H.toast(done + "：" + t.number + " " + t.status_label);
      loadList();
    } catch (err) { error(err.message); }
  }

  function submit(id, handler) {
    $(id).addEventListener("submit", (event) => { event.preventDefault(); handler(); });
  }

  async function setup() {
    me = await H.api("GET", "/api/v1/auth/me");
    units = await H.api("GET", "/api/v1/units").catch(() => []);
    const children = units.filter((u) => u.parent_id === me.unit_id);
    $("wd-sub-unit").replaceChildren(...children.map((u) => H.el("option", { value: u.id }, u.name)));
    const reasons = await H.api("GET", "/api/v1/routing/return-reasons").catch(() => []);
    $("wd-return-code").replaceChildren(...reasons.map((r) => H.el("option", { value: r.code }, r.label)));
    loadList();
    loadSupervision();
  }

  $("wd-actions").querySelector('[data-action="accept"]').addEventListener("click", () => act("accept", undefined, "已签收"));
  submit("wd-return", () => act("return", {
    reason_code: $("wd-return-code").value, reason: $("wd-return-reason").value.trim() || null,
    evidence: $("wd-return-evidence").value.trim() || null,
  }, "已退单"));
  submit("wd-extension", () => {
    const due = $("wd-ext-due").value;
    if (!due) { error("请选择延期后的时限"); return; }
    act("request-extension", { reason: $("wd-ext-reason").value.trim(), requested_due_at: due + ":00+08:00" }, "已申请延期");
  });
  submit("wd-sub", () => act("sub-dispatch", { unit_id: Number($("wd-sub-unit").value), note: $("wd-sub-note").value.trim() || null }, "已下派"));
  submit("wd-assist", () => act("assist-reply", { reply: $("wd-assist-text").value.trim() }, "已提交协办回复"));
  submit("wd-reply", () => {
    const text = $("wd-reply-text").value.trim();
    if (!text) { error("请填写办理结果"); $("wd-reply-text").focus(); return; }
    const chosen = Array.from($("wd-reply-files").files);
    Promise.all(chosen.map((file) => H.upload(current.id, file)))
      .then((uploaded) => act("reply", { reply: text, attachment_ids: uploaded.map((a) => a.id) }, "已回复"))
      .catch((err) => error(err.message));
  });
  submit("wb-filter", loadList);
  $("wb-status").addEventListener("change", loadList);
  setInterval(() => { if (!document.hidden) { loadList(); loadSupervision(); } }, REFRESH_MS);

  // Live: the server says at once when an order with this unit (or a unit below) changes, and the list
  // reloads; the open order is read again without taking the focus. After a lost connection both reload,
  // so nothing that changed meanwhile is missed. The periodic refresh above stays for supervision orders.
  const reloadList = H.debounce(loadList, 200); // a burst of changes reloads the list once
  async function refresh(id) {
    try {
      const t = await H.api("GET", "/api/v1/tickets/" + id);
      if (current && current.id === id) show(t);
    } catch (err) { /* no longer visible to this unit: the reloaded list shows it is gone */ }
  }
  H.live("/ws/workbench", (data) => {
    if (!data.ticket_id) return;
    reloadList();
    if (current && current.id === data.ticket_id) refresh(data.ticket_id);
  }, (reconnected) => {
    if (reconnected) { loadList(); if (current) refresh(current.id); }
  });
  setup().catch((err) => H.toast(err.message, "error"));
})();
