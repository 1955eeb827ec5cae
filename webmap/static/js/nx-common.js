/* What every public page shares, without Leaflet: 长辈模式, 读给我听, one-tap reports (with an
 * offline queue sent when the network returns) and the service worker's registration.
 *
 * Station text always goes into the page with textContent, never as HTML.
 */
(function (root) {
  "use strict";
  var QUEUE_KEY = "nx-report-queue";
  var ELDER_KEY = "nx-elder";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function metres(m) {
    return m < 1000 ? Math.round(m / 10) * 10 + " 米" : (m / 1000).toFixed(1) + " 公里";
  }
  function store(key, value) {
    try {
      if (value === undefined) { return root.localStorage.getItem(key); }
      if (value === null) { root.localStorage.removeItem(key); } else { root.localStorage.setItem(key, value); }
    } catch (e) { /* private mode: nothing remembered */ }
    return null;
  }

  // -- 长辈模式 ---------------------------------------------------------------------------
  function setElder(on) {
    document.documentElement.classList.toggle("elder", on);
    store(ELDER_KEY, on ? "1" : null);
    Array.prototype.forEach.call(document.querySelectorAll(".elder-toggle"), function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.dispatchEvent(new CustomEvent("nx:elder", {detail: on}));
  }
  var elderWired = false;
  function wireElder() {
    if (elderWired) { return; }
    elderWired = true;
    var on = store(ELDER_KEY) === "1";
    document.documentElement.classList.toggle("elder", on);
    Array.prototype.forEach.call(document.querySelectorAll(".elder-toggle"), function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.addEventListener("click", function () {
        setElder(!document.documentElement.classList.contains("elder"));
      });
    });
  }

  // -- 读给我听 ---------------------------------------------------------------------------
  function canSpeak() {
    return !!root.speechSynthesis && typeof root.SpeechSynthesisUtterance === "function";
  }
  function speak(text) {
    if (!canSpeak()) { return false; }
    var u = new root.SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.rate = 0.9;
    root.speechSynthesis.cancel();
    root.speechSynthesis.speak(u);
    document.body.dataset.spoken = text;
    return true;
  }
  function openWords(v) {
    return v === true ? "到达时开放" : v === false ? "到达时关门" : "开放时间不知道";
  }
  function describe(r) {
    return r.name + "，距离" + metres(r.distance_m) + "，步行大约" +
      Math.max(1, Math.round(r.walk_minutes)) + "分钟，" + openWords(r.open_at_arrival) + "。";
  }

  // -- reports ----------------------------------------------------------------------------
  //: The one-tap buttons (issue 13 item 1); the API kinds are the INTERFACE ones.
  var REPORTS = [
    ["ok", "✓ 信息无误"], ["locked", "锁门/开放时间没开"],
    ["needs_registration", "需要下载APP或登记才能进"], ["no_hot_water", "没有热水"],
    ["no_toilet", "厕所不能用"], ["no_charging", "不能充电"], ["wrong_location", "位置不对"],
    ["gone", "已搬走或关闭"], ["other", "其他"]
  ];
  var reportUrl = "/api/stations/";

  function queue() {
    try { return JSON.parse(store(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(items) { store(QUEUE_KEY, items.length ? JSON.stringify(items) : null); }

  function post(item) {
    return fetch(reportUrl + encodeURIComponent(item.station) + "/reports", {
      method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(item.body), credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        return {status: r.status, body: body};
      });
    });
  }

  var flushing = null;
  function flush() {
    if (flushing) { return flushing; }
    var items = queue();
    if (!items.length || root.navigator.onLine === false) { return Promise.resolve(0); }
    var sent = 0;
    flushing = items.reduce(function (p, item) {
      return p.then(function () {
        return post(item).then(function (res) {
          if (res.status === 429 || res.status >= 500) { return; }  // later
          sent += res.status < 300 ? 1 : 0;
          saveQueue(queue().filter(function (q) { return q.key !== item.key; }));
        }, function () { /* still offline */ });
      });
    }, Promise.resolve()).then(function () {
      flushing = null;
      document.body.dataset.queued = String(queue().length);
      if (sent) { document.dispatchEvent(new CustomEvent("nx:reports-sent", {detail: sent})); }
      return sent;
    });
    return flushing;
  }

  function send(stationId, body) {
    var item = {station: stationId, body: body, key: Date.now() + "-" + Math.random()};
    if (root.navigator.onLine === false) { return Promise.resolve(enqueue(item)); }
    return post(item).then(function (res) {
      if (res.status === 201 || res.status === 200) { return {ok: true}; }
      if (res.status >= 500) { return enqueue(item); }
      return {ok: false, error: (res.body && res.body.error) || ("HTTP " + res.status)};
    }, function () { return enqueue(item); });
  }
  function enqueue(item) {
    var items = queue();
    items.push(item);
    saveQueue(items);
    document.body.dataset.queued = String(items.length);
    return {ok: true, queued: true};
  }

  /* A report panel for one station. opts.pickLocation(stationId) → Promise of {lon, lat}
   * (WGS84) or null, for 位置不对; opts.thanksNear(element) may move the thank-you. */
  function reportPanel(stationId, opts) {
    opts = opts || {};
    var box = el("div", "report-panel");
    var group = el("div", "report-buttons");
    group.setAttribute("role", "group");
    var label = "report-label-" + stationId + "-" + Math.floor(Math.random() * 1e6);
    var head = el("p", "report-head", "去过这里？点一下告诉下一位师傅（不用登录）：");
    head.id = label;
    group.setAttribute("aria-labelledby", label);
    box.appendChild(head);
    box.appendChild(group);
    var other = el("div", "report-other");
    other.hidden = true;
    var noteLabel = el("label", "field");
    noteLabel.appendChild(el("span", null, "简单说说（200 字以内）"));
    var note = el("textarea");
    note.rows = 2; note.maxLength = 200; note.name = "note";
    noteLabel.appendChild(note);
    other.appendChild(noteLabel);
    var sendOther = el("button", "btn btn-small btn-primary", "发送");
    sendOther.type = "button";
    other.appendChild(sendOther);
    box.appendChild(other);
    var thanks = el("p", "report-thanks");
    thanks.setAttribute("role", "status");
    thanks.setAttribute("aria-live", "polite");
    thanks.tabIndex = -1;
    box.appendChild(thanks);

    function done(res, where) {
      var target = where || thanks;
      target.hidden = false;
      target.classList.remove("is-ok", "is-error");
      target.classList.add(res.ok ? "is-ok" : "is-error");
      target.textContent = res.ok ? (res.queued
        ? "现在没有网络：反馈已存在手机上，联网后会自动发送。谢谢！"
        : "谢谢！已收到，工会会尽快核实，下一位师傅就能看到。")
        : "没发出去：" + res.error;
      if (!where) { thanks.scrollIntoView({block: "nearest"}); }
      box.dataset.sent = res.ok ? (res.queued ? "queued" : "sent") : "error";
      document.dispatchEvent(new CustomEvent("nx:report", {detail: {station: stationId, res: res}}));
    }
    function submit(body, where) {
      thanks.textContent = "正在发送…";
      return send(stationId, body).then(function (res) { done(res, where); });
    }
    REPORTS.forEach(function (pair) {
      var b = el("button", "btn btn-small report-btn report-" + pair[0], pair[1]);
      b.type = "button";
      b.dataset.kind = pair[0];
      b.addEventListener("click", function () {
        if (pair[0] === "other") {
          other.hidden = false;
          note.focus();
          return;
        }
        if (pair[0] === "wrong_location" && opts.pickLocation) {
          opts.pickLocation(stationId).then(function (picked) {
            if (!picked) { return; }
            submit({kind: "wrong_location", lon: Number(picked.lon.toFixed(7)),
              lat: Number(picked.lat.toFixed(7))}, picked.thanks);
          });
          return;
        }
        submit({kind: pair[0]});
      });
      group.appendChild(b);
    });
    sendOther.addEventListener("click", function () {
      var text = note.value.trim();
      if (!text) { note.focus(); thanks.textContent = "请先写一句说明。"; return; }
      submit({kind: "other", note: text}).then(function () { note.value = ""; other.hidden = true; });
    });
    return box;
  }

  // -- service worker ---------------------------------------------------------------------
  function registerWorker() {
    if (!("serviceWorker" in root.navigator)) { return; }
    var body = document.body;
    if (!body || !(body.classList.contains("worker") || body.classList.contains("station-page"))) {
      return;  // the worker's pages only (never the union's dashboard)
    }
    root.navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function (reg) {
      document.documentElement.dataset.sw = "registered";
      return reg;
    }).catch(function () { document.documentElement.dataset.sw = "failed"; });
  }

  root.addEventListener("online", function () { flush(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { wireElder(); flush(); });
  } else { wireElder(); flush(); }
  // the service worker's downloads never compete with the page's own first answer: it
  // registers once the nearest answer is shown (or a while after load when none is asked)
  var registered = false;
  function registerOnce() { if (!registered) { registered = true; registerWorker(); } }
  document.addEventListener("nx:nearest", function () { setTimeout(registerOnce, 300); });
  function later() { setTimeout(registerOnce, 4000); }
  if (document.readyState === "complete") { later(); } else { root.addEventListener("load", later); }

  root.NxCommon = {el: el, metres: metres, speak: speak, canSpeak: canSpeak, describe: describe,
    reportPanel: reportPanel, sendReport: send, flushReports: flush, queuedReports: queue, setElder: setElder,
    REPORTS: REPORTS};
})(window);
