// The live console: new messages appear without a reload; after a lost connection the queue reloads from
// the server, so whatever arrived or changed meanwhile is caught up. Other scripts listen to the
// "hotline:event" and "hotline:reconnected" DOM events, and open orders on "hotline:open-ticket".
(function () {
  "use strict";
  const CHANNEL_LABELS = { phone: "电话", sms: "短信", wechat: "微信", email: "邮件", web: "网站", open311: "移动应用", platform: "政务服务平台" };
  const queue = document.getElementById("queue");
  const count = document.getElementById("queue-count");

  // A waiting message, or an order that has none of its own (taken by phone, or back from a return).
  function keyOf(message) {
    return message.message_id != null ? String(message.message_id) : "order-" + message.ticket_id;
  }

  function item(message) {
    const li = document.createElement("li");
    li.dataset.messageId = keyOf(message);
    li.dataset.ticketId = message.ticket_id;
    li.tabIndex = 0;
    const parts = [
      ["span", "channel", message.channel_label || CHANNEL_LABELS[message.channel] || message.channel],
      ["a", "number", message.ticket_number],
      ["span", "preview", message.preview],
      ["time", "", new Date(message.received_at || Date.now()).toLocaleTimeString("zh-CN", { hour12: false })],
    ];
    for (const [tag, cls, text] of parts) {
      const el = document.createElement(tag);
      if (cls) el.className = cls;
      if (tag === "a") {
        el.href = "#order";
        el.tabIndex = -1; // the row itself takes the focus (Enter opens it)
        el.dataset.ticketId = message.ticket_id;
      }
      el.textContent = text;
      li.appendChild(el);
    }
    return li;
  }

  // What the socket reported while a reload was on its way: its answer may predate these, so they are applied
  // again on top of it (a message arriving just as the console connects would otherwise vanish from the queue).
  let duringReload = null;

  function show(message) {
    if (duringReload) duringReload.push(() => show(message));
    if (queue.querySelector('[data-message-id="' + keyOf(message) + '"]')) return;
    const empty = queue.querySelector(".empty");
    if (empty) empty.remove();
    queue.prepend(item(message));
    counted();
  }

  function counted() {
    const n = queue.querySelectorAll("li[data-message-id]").length;
    count.textContent = n;
    if (!n && !queue.querySelector(".empty")) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "暂无待受理消息";
      queue.appendChild(li);
    }
  }

  // An order taken out of the queue (dispatched, answered, merged) leaves it, on every console.
  function taken(ticketId) {
    if (duringReload) duringReload.push(() => taken(ticketId));
    for (const li of queue.querySelectorAll('li[data-ticket-id="' + ticketId + '"]')) li.remove();
    counted();
  }

  async function reload() {
    const reported = [];
    duringReload = reported;
    let items;
    try {
      items = await Hotline.api("GET", "/api/v1/console/queue");
    } catch (err) {
      return; // the next reconnect or event tries again
    } finally {
      if (duringReload === reported) duringReload = null;
    }
    queue.replaceChildren();
    for (const message of items.reverse()) show(message);
    for (const replay of reported) replay(); // in the order they came
    counted();
  }

  function open(target) {
    const li = target.closest("li[data-ticket-id]");
    if (!li) return;
    document.dispatchEvent(new CustomEvent("hotline:open-ticket", { detail: Number(li.dataset.ticketId) }));
  }
  queue.addEventListener("click", (event) => {
    if (!event.target.closest("li[data-ticket-id]")) return;
    event.preventDefault();
    open(event.target);
  });
  queue.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(event.target);
    }
  });

  // Phone: the operator's presence buttons, the count of waiting calls, and the screen pop of their call.
  const calls = (function () {
    const seat = document.getElementById("seat");
    const me = seat ? seat.dataset.operator : null;
    const PRESENCE = { offline: "未签入", available: "示闲", busy: "示忙", break: "小休", wrap_up: "话后处理" };
    const label = document.getElementById("presence-label");
    const error = document.getElementById("presence-error");
    const waiting = document.getElementById("calls-waiting");
    const pop = document.getElementById("call-pop");
    let shownCall = null;

    function showPresence(value) {
      label.textContent = PRESENCE[value] || value;
      for (const button of seat.querySelectorAll("button[data-presence]")) {
        button.setAttribute("aria-pressed", String(button.dataset.presence === value));
      }
    }

    async function setPresence(value) {
      error.hidden = true;
      try {
        showPresence((await Hotline.api("PUT", "/api/v1/seats/me", { presence: value })).presence);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    }

    function fill(id, rows, text) {
      const list = document.getElementById(id);
      list.replaceChildren();
      for (const row of rows) {
        const li = document.createElement("li");
        li.textContent = text(row);
        list.appendChild(li);
      }
      if (!rows.length) {
        const li = document.createElement("li");
        li.className = "empty";
        li.textContent = "无";
        list.appendChild(li);
      }
    }

    function time(value) {
      return new Date(value).toLocaleString("zh-CN", { hour12: false });
    }

    function showPop(data, state) {
      if (data.call_id !== shownCall) {
        document.getElementById("pop-name").textContent = "";
        for (const id of ["pop-open", "pop-recent", "pop-calls"]) document.getElementById(id).replaceChildren();
      }
      shownCall = data.call_id;
      pop.dataset.callId = data.call_id;
      pop.dataset.caller = data.caller || "";
      pop.hidden = false;
      document.getElementById("pop-state").textContent = state;
      document.getElementById("pop-caller").textContent = data.caller || "未显示号码";
      if (!("citizen" in data)) return;
      const citizen = data.citizen;
      document.getElementById("pop-name").textContent = citizen ? citizen.name || "（未留姓名）" : "新来电人";
      fill("pop-open", data.open_orders || [], (o) => o.number + " " + o.status_label + " " + o.title);
      fill("pop-recent", data.recent_orders || [], (o) => o.number + " " + o.status_label + " " + o.title);
      fill("pop-calls", data.calls || [], (c) => time(c.arrived_at) + " " + c.status_label);
    }

    async function reload() {
      if (!seat) return;
      try {
        showPresence((await Hotline.api("GET", "/api/v1/seats/me")).presence);
        const rows = await Hotline.api("GET", "/api/v1/calls/queue");
        waiting.textContent = rows.filter((c) => c.status === "waiting").length;
        showCalls(rows);
      } catch (err) {
        return; // shown again after the next reconnect
      }
    }

    // Calls waiting or ringing, longest waiting first: the phone side of the queue.
    function showCalls(rows) {
      const list = document.getElementById("calls");
      if (!list) return;
      list.replaceChildren();
      for (const call of rows.slice().sort((a, b) => Date.parse(a.arrived_at) - Date.parse(b.arrived_at))) {
        const li = document.createElement("li");
        for (const [cls, text] of [["channel", "电话"], ["number", call.caller || "未显示号码"], ["preview", call.status_label + (call.operator ? "（" + call.operator + "）" : "")], ["", time(call.arrived_at).slice(-8)]]) {
          const span = document.createElement(cls ? "span" : "time");
          if (cls) span.className = cls;
          span.textContent = text;
          li.appendChild(span);
        }
        list.appendChild(li);
      }
    }

    function handle(data) {
      if (!seat || !data.type) return;
      if (data.type === "seat.presence" && data.operator === me) showPresence(data.presence);
      if (data.type === "call.offered" && data.operator === me) showPop(data, "振铃中");
      if (data.type === "call.screen_pop" && data.operator === me) showPop(data, "通话中");
      if (data.type === "call.ended" && data.call_id === shownCall) {
        document.getElementById("pop-state").textContent = "已结束";
      }
      if (data.type.startsWith("call.")) reload();
    }

    const newOrder = document.getElementById("pop-new-order");
    if (newOrder) {
      newOrder.addEventListener("click", () => {
        const detail = { phone: pop.dataset.caller, callId: Number(pop.dataset.callId) || null };
        document.dispatchEvent(new CustomEvent("hotline:new-order", { detail: detail }));
      });
    }

    if (seat) {
      for (const button of seat.querySelectorAll("button[data-presence]")) {
        button.addEventListener("click", () => setPresence(button.dataset.presence));
      }
    }
    return { reload: reload, handle: handle };
  })();

  Hotline.live("/ws/console", (data) => {
    if (data.type === "message.received") show(data);
    if (data.type && data.type.startsWith("ticket.") && data.status !== "registered") taken(data.ticket_id);
    // Back to the hotline (a return agreed, a direct answer reworked): it waits in the queue again. An order
    // just created is being handled by its operator, and a classification changes nothing in the queue.
    else if (data.status === "registered" && !["ticket.create", "ticket.classify"].includes(data.type)) reload();
    calls.handle(data);
    document.dispatchEvent(new CustomEvent("hotline:event", { detail: data }));
  }, () => {
    reload();
    calls.reload();
    document.dispatchEvent(new CustomEvent("hotline:reconnected"));
  });
  window.HotlineQueue = { first: () => queue.querySelector("li[data-ticket-id]"), taken: taken };
})();
