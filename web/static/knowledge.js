// Knowledge-base upkeep: owner units write and submit their entries, supervisors publish, send back and
// retire them; every edit is a new version, compared and rolled back from the history. Supervisors also
// review the proposals that closed consultations make (accept as a new entry, merge as a phrasing, reject).
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const role = $("knowledge").dataset.role;
  const supervisor = role === "supervisor";
  const form = $("ke-form");
  const DONE = { submit: "已提交审核", publish: "已发布", "send-back": "已退回修改", retire: "已下线" };
  const CHANGES = { created: "新建", edited: "修改", rolled_back: "回滚", phrasing_added: "增加相似问法", imported: "批量导入" };
  const FIELDS = {
    question: "问题", similar_questions: "相似问法", answer: "答复", category_id: "分类", owner_unit_id: "责任单位",
    source_document: "政策依据", source_url: "政策原文链接", valid_from: "生效日期", expires_on: "失效日期",
  };
  const EXPIRING_DAYS = 30;
  let current = null; // the entry in the form; null while writing a new one

  function error(message) {
    $("ke-error").textContent = message;
    $("ke-error").hidden = !message;
  }

  // The export links follow the state filter (all entries for "about to expire").
  function exportLinks(status) {
    for (const format of ["xlsx", "csv"]) {
      const params = new URLSearchParams({ format: format });
      if (status && status !== "expiring") params.set("status", status);
      $("kn-export-" + format).href = "/api/v1/kb/entries/export?" + params.toString();
    }
  }

  async function loadList() {
    const params = new URLSearchParams({ limit: 100 });
    const status = $("kn-status").value;
    exportLinks(status);
    if (status === "expiring") params.set("expiring_within_days", EXPIRING_DAYS); // soonest first, to renew in time
    else if (status) params.set("status", status);
    if ($("kn-q").value.trim()) params.set("q", $("kn-q").value.trim());
    const body = $("kn-rows");
    let page;
    try {
      page = await H.api("GET", "/api/v1/kb/entries?" + params.toString());
    } catch (err) {
      body.replaceChildren(H.el("tr", {}, H.el("td", { colspan: 5, class: "error" }, err.message)));
      return;
    }
    $("kn-count").textContent = "共 " + page.total + " 条";
    body.replaceChildren(...page.items.map((e) => H.el("tr", {
      tabindex: 0, class: current && current.id === e.id ? "selected" : "", dataset: { entryId: e.id },
      onclick: () => open(e.id), onkeydown: (ev) => { if (ev.key === "Enter") open(e.id); },
    }, H.el("td", {}, e.question), H.el("td", {}, e.status_label + (e.searchable ? "" : e.status === "published" ? "（未生效或已过期）" : "")),
    H.el("td", {}, "v" + e.version), H.el("td", {}, e.expires_on || "长期"), H.el("td", {}, H.time(e.updated_at)))));
    if (!page.items.length) body.appendChild(H.el("tr", {}, H.el("td", { colspan: 5 }, "暂无条目")));
  }

  function show(entry) {
    current = entry;
    error("");
    $("ke-empty").hidden = true;
    form.hidden = false;
    $("ke-title").textContent = entry ? "条目 #" + entry.id : "新建条目";
    const value = (v) => (v === null || v === undefined ? "" : String(v));
    for (const name of ["question", "answer", "source_document", "source_url", "valid_from", "expires_on"]) {
      form.elements[name].value = entry ? value(entry[name]) : "";
    }
    form.elements.similar_questions.value = entry ? entry.similar_questions.join("\n") : "";
    form.elements.category_id.value = entry ? value(entry.category_id) : "";
    form.elements.owner_unit_id.value = entry ? value(entry.owner_unit_id) : "";
    form.elements.comment.value = "";
    $("ke-state").textContent = entry
      ? "状态：" + entry.status_label + " · 当前版本 v" + entry.version +
        (entry.published_version ? " · 检索使用已发布的 v" + entry.published_version : " · 尚未发布") +
        (entry.searchable ? " · 可检索" : " · 不在检索中")
      : "保存后为草稿，提交审核、发布后才能被检索到。";
    const steps = {
      submit: entry && entry.status === "draft",
      publish: supervisor && entry && entry.status === "in_review",
      "send-back": supervisor && entry && entry.status === "in_review",
      retire: supervisor && entry && entry.status !== "retired",
    };
    for (const button of form.querySelectorAll("button[data-step]")) button.hidden = !steps[button.dataset.step];
    for (const row of document.querySelectorAll("#kn-rows tr")) row.classList.toggle("selected", Boolean(entry) && Number(row.dataset.entryId) === entry.id);
    $("ke-history").hidden = !entry;
    $("ke-diff").hidden = true;
    if (entry) versions(entry.id);
  }

  async function open(id) {
    try {
      const entry = await H.api("GET", "/api/v1/kb/entries/" + id);
      await ready;
      show(entry);
      $("ke").focus();
    } catch (err) { H.toast(err.message, "error"); }
  }

  function content() {
    const f = form.elements;
    const text = (name) => f[name].value.trim() || null;
    return {
      question: f.question.value.trim(),
      similar_questions: f.similar_questions.value.split("\n").map((s) => s.trim()).filter(Boolean),
      answer: f.answer.value.trim(),
      category_id: f.category_id.value ? Number(f.category_id.value) : null,
      owner_unit_id: f.owner_unit_id.value ? Number(f.owner_unit_id.value) : null,
      source_document: text("source_document"), source_url: text("source_url"),
      valid_from: f.valid_from.value || null, expires_on: f.expires_on.value || null, comment: text("comment"),
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error("");
    try {
      const saved = current
        ? await H.api("PUT", "/api/v1/kb/entries/" + current.id, content())
        : await H.api("POST", "/api/v1/kb/entries", content());
      show(saved);
      H.toast("已保存为 v" + saved.version + "（" + saved.status_label + "）");
      loadList();
    } catch (err) { error(err.message); }
  });

  for (const button of form.querySelectorAll("button[data-step]")) {
    button.addEventListener("click", async () => {
      error("");
      try {
        const entry = await H.api("POST", "/api/v1/kb/entries/" + current.id + "/" + button.dataset.step,
          { comment: form.elements.comment.value.trim() || null });
        show(entry);
        H.toast(DONE[button.dataset.step]);
        loadList();
      } catch (err) { error(err.message); }
    });
  }

  async function versions(id) {
    let list = [];
    try { list = await H.api("GET", "/api/v1/kb/entries/" + id + "/versions"); } catch (err) { list = []; }
    if (!current || current.id !== id) return;
    $("ke-versions").replaceChildren(...list.map((v) => H.el("li", {},
      H.el("time", { datetime: v.created_at }, H.time(v.created_at)), " ",
      H.el("strong", {}, "v" + v.version + " " + (CHANGES[v.change] || v.change)), v.comment ? "：" + v.comment : "", " ",
      v.version > 1 ? H.el("button", { type: "button", class: "link", onclick: () => diff(id, v.version - 1, v.version) }, "与上一版对比") : "",
      v.version < current.version ? H.el("button", { type: "button", class: "link", onclick: () => rollback(id, v.version) }, "回滚到此版本") : "")));
  }

  async function diff(id, from, to) {
    try {
      const d = await H.api("GET", "/api/v1/kb/entries/" + id + "/diff?from=" + from + "&to=" + to);
      const box = $("ke-diff");
      box.textContent = "v" + from + " → v" + to + "\n" + (d.changes.length
        ? d.changes.map((c) => "【" + (FIELDS[c.field] || c.field) + "】\n" + c.diff.join("\n")).join("\n\n")
        : "内容相同");
      box.hidden = false;
    } catch (err) { H.toast(err.message, "error"); }
  }

  async function rollback(id, version) {
    try {
      const entry = await H.api("POST", "/api/v1/kb/entries/" + id + "/rollback", { version: version, comment: "回滚到 v" + version });
      show(entry);
      H.toast("已回滚为 v" + entry.version + "（草稿，发布后生效）");
      loadList();
    } catch (err) { H.toast(err.message, "error"); }
  }

  // --- proposals from closed consultations (supervisors) ----------------------------------------------

  async function loadProposals() {
    const list = $("kp-list");
    if (!list) return;
    let items = [];
    try { items = await H.api("GET", "/api/v1/kb/proposals?status=pending"); } catch (err) { items = []; }
    $("kp-count").textContent = items.length ? "（" + items.length + "）" : "";
    list.replaceChildren(...items.map((p) => {
      const comment = H.el("input", { maxlength: 255, placeholder: "驳回理由", "aria-label": "驳回理由" });
      const decide = (step, body, done) => async () => {
        try {
          const decided = await H.api("POST", "/api/v1/kb/proposals/" + p.id + "/" + step, body());
          H.toast(done);
          loadProposals();
          loadList();
          if (decided.entry_id) open(decided.entry_id);
        } catch (err) { H.toast(err.message, "error"); }
      };
      return H.el("li", { class: "card" },
        H.el("strong", {}, "工单 " + (p.ticket_number || p.ticket_id)),
        H.el("p", {}, "问：" + p.question), H.el("p", {}, "答：" + p.answer),
        p.duplicate_of_id ? H.el("p", { class: "hint" }, "疑似重复：#" + p.duplicate_of_id + " " + (p.duplicate_of_question || "") +
          "（相似度 " + Math.round((p.duplicate_score || 0) * 100) + "%）") : null,
        H.el("button", { type: "button", onclick: decide("accept", () => ({}), "已采纳为草稿条目") }, "采纳为新条目"),
        p.duplicate_of_id ? H.el("button", { type: "button", onclick: decide("merge", () => ({}), "已合并为相似问法") }, "合并为相似问法") : null,
        comment,
        H.el("button", { type: "button", onclick: decide("reject", () => ({ comment: comment.value.trim() || null }), "已驳回") }, "驳回"));
    }));
    if (!items.length) list.appendChild(H.el("li", { class: "empty" }, "暂无待审核的提议"));
  }

  // The form's lists and who is writing, loaded once; the buttons wait for them rather than race them.
  const ready = (async () => {
    const [categories, units, me] = await Promise.all([
      H.api("GET", "/api/v1/categories").catch(() => []),
      H.api("GET", "/api/v1/units").catch(() => []),
      H.api("GET", "/api/v1/auth/me"),
    ]);
    for (const c of categories) if (c.is_active) $("ke-category").appendChild(H.el("option", { value: c.id }, c.path));
    for (const u of units) $("ke-unit").appendChild(H.el("option", { value: u.id }, u.name));
    return me;
  })();

  $("kn-new").addEventListener("click", async () => {
    const me = await ready;
    show(null);
    if (me.unit_id) form.elements.owner_unit_id.value = me.unit_id; // a unit writes its own entries
    form.elements.question.focus();
  });

  // Supervisors import a whole table of entries: all of it or, on the first bad row, none of it.
  if ($("ki-form")) {
    $("ki-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const result = $("ki-result");
      const button = e.target.querySelector("button[type=submit]");
      button.disabled = true;
      result.className = "";
      result.textContent = "正在导入…";
      try {
        const counts = await H.postForm("/api/v1/kb/entries/import", new FormData(e.target), "导入失败");
        result.textContent = "导入完成：新增 " + counts.created + " 条，更新 " + counts.updated + " 条，未变 " +
          counts.unchanged + " 条" + (counts.retired ? "，已下线未改 " + counts.retired + " 条" : "") +
          (counts.published ? "，发布 " + counts.published + " 条" : "，新增和更新的条目待审核") + "。";
        loadList();
      } catch (err) {
        result.className = "error";
        result.textContent = err.message + (err.status >= 400 && err.status < 500 ? "（未导入任何条目）" : "");
      } finally {
        button.disabled = false;
      }
    });
  }

  $("kn-filter").addEventListener("submit", (e) => { e.preventDefault(); loadList(); });
  $("kn-status").addEventListener("change", loadList);
  ready.catch((err) => H.toast(err.message, "error"));
  loadList();
  loadProposals();
})();
