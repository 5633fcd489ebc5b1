// Administration: units, accounts and roles, categories, the dispatch catalogue, time limits, the working
// calendar and the channels' configuration. Each tab loads when first opened; the API decides who may change what.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  const role = $("admin-tabs").dataset.role;
  const KINDS = { hotline_center: "热线中心", city_bureau: "市直部门", district: "区县", street: "乡镇街道", community: "社区", utility: "公共企业" };
  const STAGES = { acceptance: "签收", handling: "办理", reply_review: "审核", callback: "回访" };
  const UNITS = { working_days: "个工作日", working_hours: "个工作小时", natural_hours: "小时", natural_minutes: "分钟" };
  const loaded = {};
  let units = null;

  async function allUnits() {
    if (!units) units = await H.api("GET", "/api/v1/units").catch(() => []);
    return units;
  }

  function options(select, items, value, label) {
    for (const item of items) select.appendChild(H.el("option", { value: item[value] }, item[label]));
  }

  function failed(tbody, cols, err) {
    tbody.replaceChildren(H.el("tr", {}, H.el("td", { colspan: cols, class: "error" }, err.message)));
  }

  function row(...cells) {
    return H.el("tr", {}, cells.map((c) => H.el("td", {}, c)));
  }

  const loaders = {
    async units() {
      let list;
      try { list = await H.api("GET", "/api/v1/units?include_inactive=true"); } catch (err) { failed($("units"), 6, err); return; }
      const byId = Object.fromEntries(list.map((u) => [u.id, u]));
      const admin = role === "system_admin";
      $("units").replaceChildren(...list.map((u) => {
        const name = admin ? H.el("input", { value: u.name, "aria-label": u.name + " 名称", size: 18, maxlength: 128 }) : u.name;
        const hours = H.el("input", { value: (u.business_hours || []).join(","), "aria-label": u.name + " 办公时间", placeholder: "默认", size: 22 });
        const save = H.el("button", { type: "button", onclick: async () => {
          const spans = hours.value.split(/[,，\s]+/).filter(Boolean);
          try {
            if (name.value.trim() !== u.name) await H.api("PATCH", "/api/v1/units/" + u.id, { name: name.value.trim() });
            await H.api("PUT", "/api/v1/units/" + u.id + "/business-hours", { spans: spans.length ? spans : null });
            H.toast("已保存 " + name.value.trim());
            changed();
          } catch (err) { H.toast(err.message, "error"); }
        } }, "保存");
        const toggle = H.el("button", { type: "button", onclick: async () => {
          try {
            await H.api("PATCH", "/api/v1/units/" + u.id, { is_active: !u.is_active });
            H.toast((u.is_active ? "已停用 " : "已启用 ") + u.name);
            changed();
          } catch (err) { H.toast(err.message, "error"); }
        } }, u.is_active ? "停用" : "启用");
        return row(name, KINDS[u.kind] || u.kind, u.parent_id ? byId[u.parent_id].name : "—", hours,
          u.is_active ? "启用" : "已停用", admin ? H.el("span", { class: "actions" }, save, toggle) : "");
      }));
      if (admin) {
        const parent = $("unit-parent");
        parent.replaceChildren(H.el("option", { value: "" }, "无（顶级单位）"));
        options(parent, list.filter((u) => u.is_active && (u.kind === "district" || u.kind === "street")), "id", "name");
      }
    },

    async users() {
      let list;
      try { list = await H.api("GET", "/api/v1/admin/users"); } catch (err) { failed($("users"), 6, err); return; }
      const editable = role === "security_admin";
      $("users").replaceChildren(...list.map((u) => row(
        u.username, u.display_name, u.role_label, u.unit_name || "—",
        (u.is_active ? "启用" : "已停用") + (u.locked ? "（锁定中）" : ""),
        editable ? H.el("button", { type: "button", onclick: async () => {
          try {
            await H.api("PATCH", "/api/v1/admin/users/" + u.id, { is_active: !u.is_active });
            H.toast((u.is_active ? "已停用 " : "已启用 ") + u.username);
            loaders.users();
          } catch (err) { H.toast(err.message, "error"); }
        } }, u.is_active ? "停用" : "启用") : "")));
      if (editable && !$("user-role").options.length) {
        options($("user-role"), await H.api("GET", "/api/v1/admin/roles"), "role", "label");
        options($("user-unit"), await allUnits(), "id", "name");
      }
    },

    async categories() {
      let list;
      try { list = await H.api("GET", "/api/v1/categories"); } catch (err) { failed($("categories"), 5, err); return; }
      const byId = Object.fromEntries((await allUnits()).map((u) => [u.id, u.name]));
      $("categories").replaceChildren(...list.map((c) => row(c.path, c.code, String(c.level), byId[c.default_unit_id] || "—", c.is_active ? "启用" : "停用",
        role === "system_admin" ? H.el("button", { type: "button", onclick: async () => {
          try {
            await H.api("PATCH", "/api/v1/categories/" + c.id, { is_active: !c.is_active });
            H.toast((c.is_active ? "已停用 " : "已启用 ") + c.path);
            loaders.categories();
          } catch (err) { H.toast(err.message, "error"); }
        } }, c.is_active ? "停用" : "启用") : "")));
      if (role === "system_admin" && $("category-parent").options.length === 1) {
        options($("category-parent"), list.filter((c) => c.level < 3), "id", "path");
        options($("category-unit"), await allUnits(), "id", "name");
      }
    },

    async catalogue() {
      let rules;
      try { rules = await H.api("GET", "/api/v1/routing/catalogue"); } catch (err) { failed($("rules"), 7, err); return; }
      $("rules").replaceChildren(...rules.map((r) => row(
        r.category_path, r.territory ? r.territory.name : "不限", r.lead_unit.name, r.assisting_units.map((u) => u.name).join("、") || "—",
        r.note || "", "v" + r.version,
        role === "system_admin" ? H.el("span", { class: "actions" },
          H.el("button", { type: "button", onclick: () => editRule(r) }, "修改"),
          H.el("button", { type: "button", onclick: async () => {
            try {
              await H.api("DELETE", "/api/v1/routing/catalogue/" + r.id + "?comment=" + encodeURIComponent("管理页面停用"));
              H.toast("已停用规则");
              loaders.catalogue();
            } catch (err) { H.toast(err.message, "error"); }
          } }, "停用")) : "")));
      if (role === "system_admin" && !$("rule-category").options.length) {
        options($("rule-category"), await H.api("GET", "/api/v1/categories"), "id", "path");
        const list = await allUnits();
        options($("rule-territory"), list.filter((u) => u.kind === "district"), "id", "name");
        for (const id of ["rule-lead", "rule-edit-lead"]) options($(id), list, "id", "name");
        const assisting = list.filter((u) => u.kind !== "hotline_center"); // the hotline may lead, never assist
        for (const id of ["rule-assist", "rule-edit-assist"]) options($(id), assisting, "id", "name");
      }
    },

    async limits() {
      let rules;
      try { rules = await H.api("GET", "/api/v1/time-limits"); } catch (err) { failed($("limits"), 5, err); return; }
      const types = Object.fromEntries(Array.from(document.querySelectorAll('#limit-form [name="request_type"] option')).map((o) => [o.value, o.textContent]));
      const urg = Object.fromEntries(Array.from(document.querySelectorAll('#limit-form [name="urgency"] option')).map((o) => [o.value, o.textContent]));
      $("limits").replaceChildren(...rules.map((r) => row(
        STAGES[r.stage] || r.stage, r.request_type === "*" ? "全部" : types[r.request_type] || r.request_type,
        r.urgency === "*" ? "全部" : urg[r.urgency] || r.urgency, r.amount + " " + (UNITS[r.unit] || r.unit), r.is_default ? "规范默认" : "管理员设置")));
    },

    async calendar() {
      try {
        const c = await H.api("GET", "/api/v1/calendar");
        $("calendar").replaceChildren(
          H.el("dt", {}, "内置节假日年份"), H.el("dd", {}, c.library_years.join("–")),
          H.el("dt", {}, "已载入年份"), H.el("dd", {}, c.loaded_years.join("、") || "无"),
          H.el("dt", {}, "仅按周末计算"), H.el("dd", {}, c.weekends_only_years.join("、") || "无"),
          H.el("dt", {}, "办公时间"), H.el("dd", {}, c.business_hours.join("，")));
      } catch (err) { $("calendar").replaceChildren(H.el("dd", { class: "error" }, err.message)); }
    },

    async channels() {
      let list;
      try { list = await H.api("GET", "/api/v1/admin/channels"); } catch (err) { failed($("channels"), 4, err); return; }
      $("channels").replaceChildren(...list.map((c) => row(
        c.label, H.el("strong", { class: c.configured ? "ok" : "error" }, c.configured ? "已配置" : "未配置"), c.endpoint,
        H.el("ul", { class: "settings" }, c.settings.map((s) => H.el("li", {}, H.el("code", {}, s.name), " = ", s.value === null ? "（未设置）" : s.value))))));
    },
  };

  function select(tab, focus) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $("tab-" + t.dataset.tab).hidden = !on;
    }
    if (focus) tab.focus();
    const key = tab.dataset.tab;
    if (!loaded[key]) {
      loaded[key] = true;
      loaders[key]().catch((err) => H.toast(err.message, "error"));
    }
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length], true);
      if (e.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length], true);
    });
  }

  function formData(form) {
    return Object.fromEntries(Array.from(new FormData(form).entries()).map(([k, v]) => [k, typeof v === "string" ? v.trim() : v]));
  }

  // Editing a rule in place: its units and note change, the old version stays in the history shown below.
  const RULE_CHANGES = { created: "新增", updated: "修改", deactivated: "停用", reactivated: "重新启用" };
  function chosen(select) {
    return Array.from(select.selectedOptions).map((o) => Number(o.value));
  }
  async function editRule(r) {
    const form = $("rule-edit-form");
    form.dataset.ruleId = r.id;
    $("rule-edit-title").textContent = "修改派单规则：" + r.category_path + " · " + (r.territory ? r.territory.name : "不限");
    $("rule-edit-lead").value = r.lead_unit.id;
    const assisting = new Set(r.assisting_units.map((u) => u.id));
    for (const o of $("rule-edit-assist").options) o.selected = assisting.has(Number(o.value));
    $("rule-edit-note").value = r.note || "";
    $("rule-edit-comment").value = "";
    form.hidden = false;
    $("rule-edit-lead").focus();
    const names = Object.fromEntries((await allUnits()).map((u) => [u.id, u.name]));
    let versions = [];
    try { versions = await H.api("GET", "/api/v1/routing/catalogue/" + r.id + "/history"); } catch (err) { versions = []; }
    $("rule-history").replaceChildren(...versions.map((v) => H.el("li", {},
      "v" + v.version + " " + H.time(v.changed_at) + " " + (v.changed_by || "系统") + " " + (RULE_CHANGES[v.change] || v.change) +
      "：主办 " + (names[v.lead_unit_id] || v.lead_unit_id) +
      (v.assisting_unit_ids.length ? "，协办 " + v.assisting_unit_ids.map((id) => names[id] || id).join("、") : "") +
      (v.comment ? "（" + v.comment + "）" : ""))));
  }

  function onSubmit(id, handler) {
    const form = $(id);
    if (!form) return;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await handler(formData(form), form); } catch (err) { H.toast(err.message, "error"); }
    });
  }

  onSubmit("user-form", async (d, form) => {
    const created = await H.api("POST", "/api/v1/admin/users", {
      username: d.username, display_name: d.display_name, role: d.role, unit_id: d.unit_id ? Number(d.unit_id) : null, password: d.password,
    });
    H.toast("已新建账号 " + created.username);
    form.reset();
    loaders.users();
  });
  onSubmit("category-form", async (d, form) => {
    const created = await H.api("POST", "/api/v1/categories", {
      parent_id: d.parent_id ? Number(d.parent_id) : null, code: d.code, name: d.name,
      default_unit_id: d.default_unit_id ? Number(d.default_unit_id) : null,
    });
    H.toast("已新增分类 " + created.path);
    form.reset();
    loaders.categories();
  });
  // The unit tree changed: the other tabs' unit lists are read again.
  function changed() {
    units = null;
    for (const id of ["rule-category", "rule-territory", "rule-lead", "rule-edit-lead", "rule-assist", "rule-edit-assist", "category-parent", "category-unit"]) {
      const select = $(id);
      if (select) select.replaceChildren(...Array.from(select.options).filter((o) => o.value === ""));
    }
    loaded.catalogue = loaded.categories = false; // their unit lists fill again when next opened
    loaders.units();
  }
  onSubmit("unit-form", async (d, form) => {
    const created = await H.api("POST", "/api/v1/units", {
      kind: d.kind, parent_id: d.parent_id ? Number(d.parent_id) : null, name: d.name, code: d.code,
      short_names: (d.short_names || "").split(/[,，、\s]+/).filter(Boolean),
    });
    H.toast("已新增单位 " + created.name);
    form.reset();
    changed();
  });
  onSubmit("rule-form", async (d, form) => {
    await H.api("POST", "/api/v1/routing/catalogue", {
      category_id: Number(d.category_id), territory_unit_id: d.territory_unit_id ? Number(d.territory_unit_id) : null,
      lead_unit_id: Number(d.lead_unit_id), assisting_unit_ids: chosen($("rule-assist")), note: d.note || null, comment: "管理页面新增",
    });
    H.toast("已新增派单规则");
    form.reset();
    loaders.catalogue();
  });
  onSubmit("rule-edit-form", async (d, form) => {
    const saved = await H.api("PUT", "/api/v1/routing/catalogue/" + form.dataset.ruleId, {
      lead_unit_id: Number(d.lead_unit_id), assisting_unit_ids: chosen($("rule-edit-assist")), note: d.note || null, comment: d.comment,
    });
    H.toast("已保存派单规则（v" + saved.version + "）");
    form.hidden = true;
    loaders.catalogue();
  });
  if ($("rule-edit-cancel")) $("rule-edit-cancel").addEventListener("click", () => { $("rule-edit-form").hidden = true; });
  onSubmit("limit-form", async (d) => {
    await H.api("PUT", "/api/v1/time-limits", {
      stage: d.stage, request_type: d.request_type, urgency: d.urgency, amount: Number(d.amount), unit: d.unit, source: d.source || null,
    });
    H.toast("已保存办理时限");
    loaders.limits();
  });
  onSubmit("calendar-form", async (d) => {
    const dates = (text) => text.split(/[,，\s]+/).filter(Boolean);
    await H.api("PUT", "/api/v1/calendar/years/" + Number(d.year), { holidays: dates(d.holidays), workdays: dates(d.workdays), source: d.source || null });
    H.toast("已载入 " + d.year + " 年节假日安排");
    loaders.calendar();
  });

  if (tabs.length) select(tabs[0], false);
})();
