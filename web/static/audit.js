// The read-only audit log: filter by action, actor and object; newest first.
(function () {
  "use strict";
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 50;
  let page = 1;

  async function load() {
    const params = new URLSearchParams({ page: page, page_size: PAGE_SIZE });
    for (const [key, id] of [["action", "au-action"], ["actor", "au-actor"], ["object_type", "au-type"], ["object_id", "au-id"]]) {
      if ($(id).value.trim()) params.set(key, $(id).value.trim());
    }
    try {
      const data = await H.api("GET", "/api/v1/audit?" + params.toString());
      $("au-count").textContent = "共 " + data.total + " 条";
      $("au-page").textContent = "第 " + page + " 页";
      $("au-prev").disabled = page <= 1;
      $("au-next").disabled = page * PAGE_SIZE >= data.total;
      $("au-rows").replaceChildren(...data.items.map((e) => H.el("tr", {},
        H.el("td", {}, H.time(e.at)), H.el("td", {}, e.actor_username || "系统"), H.el("td", {}, e.action),
        H.el("td", {}, (e.object_type || "") + (e.object_id ? " #" + e.object_id : "")),
        H.el("td", {}, H.el("code", {}, JSON.stringify(e.detail))), H.el("td", {}, e.client_ip || ""))));
      if (!data.items.length) $("au-rows").appendChild(H.el("tr", {}, H.el("td", { colspan: 6 }, "没有符合条件的记录")));
    } catch (err) { H.toast(err.message, "error"); }
  }

  $("au-filter").addEventListener("submit", (e) => { e.preventDefault(); page = 1; load(); });
  $("au-prev").addEventListener("click", () => { page -= 1; load(); });
  $("au-next").addEventListener("click", () => { page += 1; load(); });
  load();
})();
