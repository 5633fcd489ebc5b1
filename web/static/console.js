// The live console: new messages appear without a reload; after a lost connection the queue reloads.
(function () {
  "use strict";
  const CHANNEL_LABELS = { phone: "电话", sms: "短信", wechat: "微信", email: "邮件", web: "网站", open311: "移动应用", platform: "政务服务平台" };
  const queue = document.getElementById("queue");
  const count = document.getElementById("queue-count");
  const state = document.getElementById("link-state");
  let retry = 500;

  function item(message) {
    const li = document.createElement("li");
    li.dataset.messageId = message.message_id;
    const parts = [
      ["span", "channel", message.channel_label || CHANNEL_LABELS[message.channel] || message.channel],
      ["a", "number", message.ticket_number],
      ["span", "preview", message.preview],
      ["time", "", new Date(message.received_at || Date.now()).toLocaleTimeString("zh-CN", { hour12: false })],
    ];
    for (const [tag, cls, text] of parts) {
      const el = document.createElement(tag);
      if (cls) el.className = cls;
      if (tag === "a") el.href = "/api/v1/tickets/" + message.ticket_id;
      el.textContent = text;
      li.appendChild(el);
    }
    return li;
  }

  function show(message) {
    if (queue.querySelector('[data-message-id="' + message.message_id + '"]')) return;
    const empty = queue.querySelector(".empty");
    if (empty) empty.remove();
    queue.prepend(item(message));
    count.textContent = queue.querySelectorAll("li[data-message-id]").length;
  }

  async function reload() {
    const response = await fetch("/api/v1/console/queue", { credentials: "same-origin" });
    if (!response.ok) return;
    const items = await response.json();
    for (const message of items.reverse()) show(message);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/console");
    socket.onopen = function () {
      state.textContent = "已连接";
      state.className = "link-state online";
      retry = 500;
      reload();
    };
    socket.onmessage = function (event) {
      const data = JSON.parse(event.data);
      if (data.type === "message.received") show(data);
    };
    socket.onclose = function () {
      state.textContent = "连接中断，正在重连…";
      state.className = "link-state offline";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  connect();
})();
