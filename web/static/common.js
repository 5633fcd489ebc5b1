// Shared helpers for the staff screens: JSON calls with Chinese error messages, small DOM builders, times.
(function () {
  "use strict";

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, url, body) {
    const options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      throw new ApiError(0, "网络连接失败，请稍后重试");
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      let message = (data && data.message_zh) || "操作失败（" + response.status + "）";
      if (data && Array.isArray(data.detail)) message = "输入有误：" + data.detail.map((d) => (d.loc || []).slice(-1)[0] + " " + d.msg).join("；");
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // el("li", {class: "x", dataset: {id: 1}, onclick: f}, "text", child)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function time(value, withDate) {
    if (!value) return "—";
    const options = { hour12: false, timeZone: "Asia/Shanghai" };
    const date = new Date(value);
    return withDate === false ? date.toLocaleTimeString("zh-CN", options) : date.toLocaleString("zh-CN", options);
  }

  let toastTimer = null;
  function toast(message, kind) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = "toast " + (kind || "ok");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), wait);
    };
  }

  // Deadline colours: overdue or red card → red, yellow card → yellow, warning → warning.
  function deadlineClass(ticket) {
    if (ticket.overdue || ticket.alert_level === "red_card") return "level-red";
    if (ticket.alert_level === "yellow_card") return "level-yellow";
    if (ticket.alert_level === "warning") return "level-warning";
    return "";
  }
  const LEVEL_LABELS = { "level-red": "红牌/超期", "level-yellow": "黄牌", "level-warning": "预警", "": "正常" };

  const EVENT_LABELS = {};
  function history(events) {
    return el("ol", { class: "history" }, events.map((e) =>
      el("li", {}, el("time", { datetime: e.created_at }, time(e.created_at)), " ",
        el("strong", {}, e.label || e.type), e.reason ? "：" + e.reason : "")));
  }

  // POST a form with files; the refusal's Chinese message, or the fallback, on failure.
  async function postForm(url, body, fallback) {
    let response;
    try {
      response = await fetch(url, { method: "POST", credentials: "same-origin", body: body });
    } catch (err) {
      throw new ApiError(0, "网络连接失败，请稍后重试");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, (data && data.message_zh) || fallback);
    return data;
  }

  async function upload(ticketId, file) {
    const body = new FormData();
    body.append("file", file, file.name);
    return postForm("/api/v1/tickets/" + ticketId + "/attachments", body, "附件上传失败");
  }

  // The files of an order as download links (empty when there are none or they cannot be read).
  async function files(ticketId) {
    let items = [];
    try { items = await api("GET", "/api/v1/tickets/" + ticketId + "/attachments"); } catch (err) { items = []; }
    return el("ul", { class: "files" }, items.length ? items.map((a) =>
      el("li", {}, el("a", { href: a.url, download: a.filename }, a.filename), " (" + Math.ceil(a.size / 1024) + " KB)"))
      : el("li", { class: "empty" }, "无附件"));
  }

  // A live feed from one of the product's websockets: each JSON frame goes to onMessage; onOpen(reconnected)
  // runs at every (re)connection, so a page can reload what it shows after a cut. The header's
  // #link-state shows the link; a lost link retries with growing pauses.
  function live(path, onMessage, onOpen) {
    const state = document.getElementById("link-state");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let retry = 500;
    function connect(reconnected) {
      const socket = new WebSocket(scheme + location.host + path);
      socket.onopen = () => {
        state.textContent = "已连接";
        state.className = "link-state online";
        retry = 500;
        if (onOpen) onOpen(reconnected);
      };
      socket.onmessage = (event) => onMessage(JSON.parse(event.data));
      socket.onclose = () => {
        state.textContent = "连接中断，正在重连…";
        state.className = "link-state offline";
        setTimeout(() => connect(true), retry);
        retry = Math.min(retry * 2, 10000);
      };
    }
    connect(false);
  }

  window.Hotline = { api, postForm, upload, files, el, time, toast, debounce, deadlineClass, live, LEVEL_LABELS, EVENT_LABELS, history, ApiError };
})();
