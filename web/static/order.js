// The console's order form: open a waiting order (or a new one for a call), take the routing proposal as
// the operator types, look up the knowledge base and similar open orders, then dispatch, answer or merge.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const panel = $("order");
  const form = $("order-form");
  const fields = {
    phone: $("f-phone"), name: $("f-name"), confidential: $("f-confidential"), content: $("f-content"),
    address: $("f-address"), category: $("f-category"), type: $("f-type"), urgency: $("f-urgency"),
    territory: $("f-territory"), lead: $("f-lead"), assist: $("f-assist"), answer: $("f-answer"),
  };
  const KIND_LABELS = { hotline_center: "热线中心", city_bureau: "市直部门", district: "区县", street: "乡镇街道", community: "社区", utility: "公共企业" };
  const SUGGEST_DELAY = 250;

  let current = null; // { ticket } for an order in the queue, { isNew, callId } for a new one
  let touched = {}; // fields the operator chose: proposals no longer overwrite them
  let proposal = null;
  let adoptedKb = null;
  let suggestSeq = 0;

  // --- reference lists ---------------------------------------------------------------------------

  async function loadLists() {
    const [units, categories] = await Promise.all([
      H.api("GET", "/api/v1/units").catch(() => []),
      H.api("GET", "/api/v1/categories").catch(() => []),
    ]);
    for (const c of categories) {
      if (c.is_active) fields.category.appendChild(H.el("option", { value: c.id }, c.path));
    }
    territoryOptions(units);
    for (const select of [fields.lead, fields.assist]) {
      for (const [kind, label] of Object.entries(KIND_LABELS)) {
        const group = H.el("optgroup", { label: label });
        for (const u of units.filter((x) => x.kind === kind)) group.appendChild(H.el("option", { value: u.id }, u.name));
        if (group.children.length) select.appendChild(group);
      }
    }
  }
  const lists = loadLists();

  // Districts, each followed by its streets and their communities, indented.
  function territoryOptions(units) {
    const places = units.filter((u) => ["district", "street", "community"].includes(u.kind));
    const add = (parentId, depth) => {
      for (const u of places.filter((x) => (depth ? x.parent_id === parentId : x.kind === "district"))) {
        fields.territory.appendChild(H.el("option", { value: u.id }, "\u3000".repeat(depth) + u.name));
        if (depth < 2) add(u.id, depth + 1);
      }
    };
    add(null, 0);
  }

  // --- opening and closing -------------------------------------------------------------------------

  function reset() {
    touched = {};
    proposal = null;
    adoptedKb = null;
    form.reset();
    fields.urgency.value = "general";
    for (const id of ["s-categories", "kb-results", "similar"]) $(id).replaceChildren();
    for (const id of ["s-territory"]) $(id).textContent = "—";
    $("s-explain").textContent = "";
    $("s-note").textContent = "";
    $("kb-q").value = "";
    error("");
    $("order-empty").hidden = true;
    form.hidden = false;
  }

  // Other panels (the service items) follow the open order.
  function announce() {
    document.dispatchEvent(new CustomEvent("hotline:order", { detail: current && current.ticket ? current.ticket : null }));
  }

  function editable(yes) {
    for (const key of ["phone", "name", "content", "address"]) fields[key].readOnly = !yes;
    fields.confidential.disabled = !yes;
  }

  function showStatus(ticket) {
    $("order-number").textContent = ticket ? ticket.number : "（新工单）";
    $("order-status").textContent = ticket ? ticket.status_label : "";
    const allowed = ticket ? ticket.allowed_actions : ["dispatch", "answer_directly"];
    $("do-dispatch").disabled = !allowed.includes("dispatch");
    $("do-answer").disabled = !allowed.includes("answer_directly");
  }

  async function openTicket(ticketId) {
    await lists;
    let ticket;
    try {
      ticket = await H.api("GET", "/api/v1/tickets/" + ticketId);
    } catch (err) {
      H.toast(err.message, "error");
      return;
    }
    reset();
    current = { ticket: ticket };
    editable(false);
    announce();
    showStatus(ticket);
    fields.phone.value = ticket.citizen && ticket.citizen.phones.length ? ticket.citizen.phones[0] : "";
    fields.name.value = ticket.citizen ? ticket.citizen.name || "" : "";
    fields.confidential.checked = ticket.confidential;
    fields.content.value = ticket.content;
    fields.address.value = ticket.address || "";
    if (ticket.category_id) { fields.category.value = ticket.category_id; touched.category = true; }
    if (ticket.territory_unit_id) { fields.territory.value = ticket.territory_unit_id; touched.territory = true; }
    fields.type.value = ticket.request_type;
    fields.urgency.value = ticket.urgency;
    panel.focus();
    H.api("GET", "/api/v1/tickets/" + ticketId + "/suggestion").then(apply).catch(() => note("暂无推荐"));
    similar({ ticket_id: ticketId });
    searchKb(ticket.content.slice(0, 100));
  }

  async function newOrder(detail) {
    await lists;
    reset();
    current = { isNew: true, callId: detail && detail.callId };
    announce();
    editable(true);
    showStatus(null);
    fields.phone.value = (detail && detail.phone) || "";
    fields.content.focus();
    if (fields.phone.value) similar({ phone: fields.phone.value });
  }

  function closeOrder() {
    current = null;
    announce();
    form.hidden = true;
    $("order-empty").hidden = false;
    $("order-number").textContent = "";
    $("order-status").textContent = "";
    const first = window.HotlineQueue && window.HotlineQueue.first();
    if (first) first.focus();
  }

  // --- the routing proposal --------------------------------------------------------------------------

  function note(text) { $("s-note").textContent = text; }

  function apply(s) {
    proposal = s;
    note("推荐用时 " + Math.round(s.elapsed_ms) + " 毫秒" + (s.classifier && !s.classifier.ready ? "（分类模型未就绪，按关键词）" : ""));
    const chips = $("s-categories");
    chips.replaceChildren();
    s.categories.slice(0, 3).forEach((c, i) => {
      chips.appendChild(H.el("button", {
        type: "button", class: "chip", dataset: { categoryId: c.category_id },
        title: c.evidence.length ? "依据：" + c.evidence.join("、") : "",
        onclick: () => { pickCategory(c.category_id); },
      }, (i + 1) + ". " + c.path + " " + Math.round(c.confidence * 100) + "%"));
    });
    if (!touched.category && s.categories.length) fields.category.value = s.categories[0].category_id;
    if (!touched.type && s.request_type) fields.type.value = s.request_type.value;
    if (!touched.urgency && s.urgency) fields.urgency.value = s.urgency.value;
    const t = s.territory;
    $("s-territory").textContent = t ? t.explanation : "—";
    if (!touched.territory) fields.territory.value = t && t.unit ? t.unit.id : "";
    const d = s.dispatch;
    if (!touched.lead && d.lead_unit) fields.lead.value = d.lead_unit.id;
    if (!touched.assist) {
      const ids = d.assisting_units.map((u) => String(u.id));
      for (const option of fields.assist.options) option.selected = ids.includes(option.value);
    }
    $("s-explain").textContent = d.basis_label + "：" + d.explanation + (d.answer_directly ? "（建议直接办结）" : "");
  }

  function pickCategory(id) {
    fields.category.value = id;
    touched.category = true;
    fields.category.focus();
  }

  const suggestNow = H.debounce(function () {
    const content = fields.content.value.trim();
    if (!content) return;
    const seq = ++suggestSeq;
    H.api("POST", "/api/v1/routing/suggest", { content: content, address: fields.address.value.trim() || null })
      .then((s) => { if (seq === suggestSeq) apply(s); })
      .catch((err) => note(err.message));
    searchKb(content.slice(0, 100));
    similar({ text: content, phone: fields.phone.value.trim() || undefined });
  }, SUGGEST_DELAY);

  // --- knowledge base and similar orders ---------------------------------------------------------------

  // Only <mark>, <em> and <b> of a snippet survive; everything else is shown as text.
  function snippet(html) {
    const doc = new DOMParser().parseFromString("<div>" + (html || "") + "</div>", "text/html");
    const out = H.el("span", { class: "snippet" });
    for (const node of doc.body.firstChild.childNodes) {
      const tag = node.nodeName.toLowerCase();
      out.appendChild(["mark", "em", "b"].includes(tag) ? H.el(tag, {}, node.textContent) : document.createTextNode(node.textContent));
    }
    return out;
  }

  let kbSeq = 0;
  async function searchKb(q) {
    const list = $("kb-results");
    if (!q || !q.trim()) { list.replaceChildren(); return; }
    const seq = ++kbSeq;
    let items = [];
    try {
      items = (await H.api("GET", "/api/v1/kb/search?limit=5&q=" + encodeURIComponent(q.trim()))).items || [];
    } catch (err) {
      items = []; // the knowledge base may be unavailable: the console works without it
    }
    if (seq !== kbSeq) return;
    list.replaceChildren();
    for (const item of items) {
      list.appendChild(H.el("li", {},
        H.el("strong", {}, item.question), " ", snippet(item.snippet_html),
        H.el("button", { type: "button", class: "link", onclick: () => adopt(item) }, "采用答复")));
    }
    if (!items.length) list.appendChild(H.el("li", { class: "empty" }, "无匹配的知识"));
  }

  function adopt(item) {
    fields.answer.value = item.answer;
    adoptedKb = item.id;
    fields.answer.focus();
    const body = { kind: "click" };
    if (current && current.ticket) body.ticket_id = current.ticket.id;
    H.api("POST", "/api/v1/kb/entries/" + item.id + "/feedback", body).catch(() => {});
  }

  let similarSeq = 0;
  async function similar(params) {
    const list = $("similar");
    const seq = ++similarSeq;
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
    let items = [];
    try {
      items = await H.api("GET", "/api/v1/console/similar?" + query.toString());
    } catch (err) {
      items = [];
    }
    if (seq !== similarSeq) return;
    list.replaceChildren();
    for (const s of items) {
      list.appendChild(H.el("li", { dataset: { ticketId: s.ticket_id } },
        H.el("span", { class: "number" }, s.number), " ", H.el("span", { class: "tag" }, s.status_label), " ",
        s.title, H.el("small", {}, "（" + s.reason + "）"),
        H.el("button", { type: "button", class: "link", onclick: () => merge(s) }, "并入此单")));
    }
    if (!items.length) list.appendChild(H.el("li", { class: "empty" }, "未发现相似工单"));
  }

  // --- actions -------------------------------------------------------------------------------------------

  function error(message) {
    const box = $("order-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function ensureTicket() {
    if (current.ticket) return current.ticket;
    const body = {
      citizen_phone: fields.phone.value.trim() || null,
      citizen_name: fields.name.value.trim() || null,
      content: fields.content.value.trim(),
      address: fields.address.value.trim() || null,
      channel: "phone",
      request_type: fields.type.value,
      urgency: fields.urgency.value,
      category_id: fields.category.value ? Number(fields.category.value) : null,
      territory_unit_id: fields.territory.value ? Number(fields.territory.value) : null,
      confidential: fields.confidential.checked,
    };
    if (!body.content) throw new H.ApiError(422, "请填写诉求内容");
    const ticket = await H.api("POST", "/api/v1/tickets", body);
    current = { ticket: ticket, callId: current.callId };
    announce();
    if (current.callId) await H.api("POST", "/api/v1/calls/" + current.callId + "/tickets", { ticket_id: ticket.id }).catch(() => {});
    return ticket;
  }

  async function classify(ticket) {
    const body = { request_type: fields.type.value, urgency: fields.urgency.value };
    if (fields.category.value) body.category_id = Number(fields.category.value);
    if (fields.territory.value) body.territory_unit_id = Number(fields.territory.value);
    const same = ticket.request_type === body.request_type && ticket.urgency === body.urgency &&
      ticket.category_id === (body.category_id || null) && ticket.territory_unit_id === (body.territory_unit_id || null);
    return same ? ticket : H.api("POST", "/api/v1/tickets/" + ticket.id + "/classify", body);
  }

  async function act(name, run) {
    if (!current || form.hidden) return;
    error("");
    for (const b of form.querySelectorAll(".actions button")) b.disabled = true;
    try {
      const ticket = await run(await ensureTicket());
      current.ticket = ticket;
      announce();
      editable(false);
      showStatus(ticket);
      if (window.HotlineQueue) window.HotlineQueue.taken(ticket.id);
      H.toast(name + "成功：" + ticket.number + " " + ticket.status_label);
    } catch (err) {
      error(err.message);
      showStatus(current.ticket || null);
    } finally {
      $("do-close").disabled = false;
    }
  }

  function dispatch() {
    if (!fields.lead.value) { error("请选择主办单位"); fields.lead.focus(); return; }
    const assisting = Array.from(fields.assist.selectedOptions).map((o) => Number(o.value)).filter((id) => String(id) !== fields.lead.value);
    act("派单", async (ticket) => {
      ticket = await classify(ticket);
      return H.api("POST", "/api/v1/tickets/" + ticket.id + "/dispatch", { lead_unit_id: Number(fields.lead.value), assisting_unit_ids: assisting });
    });
  }

  function answer() {
    const text = fields.answer.value.trim();
    if (!text) { error("直接办结须填写答复内容"); fields.answer.focus(); return; }
    act("直接办结", async (ticket) => {
      ticket = await classify(ticket);
      const done = await H.api("POST", "/api/v1/tickets/" + ticket.id + "/answer-directly", { answer: text });
      if (adoptedKb) H.api("POST", "/api/v1/kb/entries/" + adoptedKb + "/feedback", { kind: "answered", ticket_id: done.id }).catch(() => {});
      return done;
    });
  }

  function merge(target) {
    if (!current) return;
    act("并单", (ticket) => H.api("POST", "/api/v1/tickets/" + ticket.id + "/merge", { target_id: target.ticket_id, reason: "受理台并单：" + target.reason }));
  }

  // --- wiring -----------------------------------------------------------------------------------------------

  for (const key of ["category", "type", "urgency", "territory", "lead", "assist"]) {
    fields[key].addEventListener("change", () => { touched[key] = true; });
  }
  for (const key of ["content", "address"]) {
    fields[key].addEventListener("input", () => { if (current && current.isNew && !current.ticket) suggestNow(); });
  }
  $("kb-q").addEventListener("input", H.debounce(() => searchKb($("kb-q").value), SUGGEST_DELAY));
  $("do-dispatch").addEventListener("click", dispatch);
  $("do-answer").addEventListener("click", answer);
  $("do-close").addEventListener("click", closeOrder);
  document.addEventListener("hotline:open-ticket", (e) => openTicket(e.detail));
  document.addEventListener("hotline:new-order", (e) => newOrder(e.detail));

  // Live: a change to the open order (e.g. merged or dispatched elsewhere) shows at once; after a
  // reconnect the order is read again, so nothing that happened during the blip is missed.
  document.addEventListener("hotline:event", (e) => {
    const data = e.detail;
    if (current && current.ticket && data.ticket_id === current.ticket.id && data.type && data.type.startsWith("ticket.")) refresh();
  });
  document.addEventListener("hotline:reconnected", () => { if (current && current.ticket) refresh(); });
  async function refresh() {
    try {
      current.ticket = await H.api("GET", "/api/v1/tickets/" + current.ticket.id);
      showStatus(current.ticket);
    } catch (err) { /* shown on the next action */ }
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !form.hidden) { event.preventDefault(); closeOrder(); return; }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    const actions = {
      q: () => { const first = window.HotlineQueue.first(); if (first) { first.focus(); openTicket(Number(first.dataset.ticketId)); } },
      n: () => newOrder({}),
      d: () => { if (!$("do-dispatch").disabled) dispatch(); },
      a: () => { if (!$("do-answer").disabled) answer(); },
      k: () => $("kb-q").focus(),
      1: () => pick(0), 2: () => pick(1), 3: () => pick(2),
    };
    function pick(i) { if (proposal && proposal.categories[i]) pickCategory(proposal.categories[i].category_id); }
    const code = event.code.startsWith("Key") ? event.code.slice(3).toLowerCase() : event.code.replace("Digit", "");
    const run = actions[key] || actions[code];
    if (run) { event.preventDefault(); run(); }
  });
})();
