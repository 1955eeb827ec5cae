/* A station's page: the one-tap report buttons sent as JSON (queued when offline), the
 * thank-you shown right where the worker tapped, and 位置不对 with a pin dragged on the map.
 * Without JavaScript the same buttons post the form (the server thanks in the same place).
 */
(function () {
  "use strict";
  var article = document.querySelector("article.station");
  var form = document.getElementById("report-form");
  if (!article || !form || !window.NxCommon) { return; }
  var stationId = Number(article.dataset.stationId);
  var thanks = document.getElementById("report-thanks");
  var note = form.querySelector("textarea[name=note]");
  var bar = document.getElementById("pin-bar");
  var map = window[article.dataset.map];
  var datum = article.dataset.datum;

  function show(res, target) {
    var box = target || thanks;
    box.textContent = "";
    var p = NxCommon.el("p", "flash " + (res.ok ? "flash-ok" : "flash-error"), res.ok
      ? (res.queued ? "现在没有网络：反馈已存在手机上，联网后会自动发送。谢谢！"
        : "谢谢！已收到，工会会尽快核实，下一位师傅就能看到。")
      : "没发出去：" + res.error);
    box.appendChild(p);
    box.scrollIntoView({block: "nearest"});
    form.dataset.sent = res.ok ? (res.queued ? "queued" : "sent") : "error";
  }

  function send(body, target) {
    return NxCommon.sendReport(stationId, body).then(function (res) { show(res, target); });
  }

  function pickLocation() {
    if (!map) { return Promise.resolve(null); }
    var lon = Number(article.dataset.lon), lat = Number(article.dataset.lat);
    var start = NxDatum.convert(lon, lat, "wgs84", datum);
    var pin = L.marker([start[1], start[0]], {draggable: true, autoPan: true, zIndexOffset: 3000,
      title: "正确位置（拖动我）", alt: "正确位置（拖动我）",
      icon: L.divIcon({className: "nx-drag-pin", html: NxCommon.el("span", null, "⬇"),
        iconSize: [36, 36], iconAnchor: [18, 34]})}).addTo(map);
    var say = bar.querySelector(".pin-say");
    say.textContent = "把地图上的图钉拖到驿站真正的位置（也可以点地图），再点“确认位置”。";
    bar.hidden = false;
    document.querySelector(".station-map").scrollIntoView({block: "center"});
    function movePin(e) { pin.setLatLng(e.latlng); }
    map.on("click", movePin);
    return new Promise(function (resolve) {
      var ok = bar.querySelector(".pin-ok"), no = bar.querySelector(".pin-cancel");
      function finish(done) {
        map.off("click", movePin);
        ok.removeEventListener("click", onOk);
        no.removeEventListener("click", onNo);
        var ll = pin.getLatLng();
        map.removeLayer(pin);
        bar.hidden = true;
        if (!done) { resolve(null); return; }
        var w = NxDatum.convert(ll.lng, ll.lat, datum, "wgs84");  // the tiles' datum -> WGS84
        resolve({lon: w[0], lat: w[1]});
      }
      function onOk() { finish(true); }
      function onNo() { finish(false); }
      ok.addEventListener("click", onOk);
      no.addEventListener("click", onNo);
    });
  }

  form.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest(".report-btn") : null;
    if (!btn) { return; }
    e.preventDefault();
    var kind = btn.dataset.kind;
    if (kind === "other") {
      var text = note.value.trim();
      if (!text) {
        show({ok: false, error: "请先在上面的框里写一句说明，再点“其他”。"});
        note.focus();
        return;
      }
      send({kind: "other", note: text}).then(function () { note.value = ""; });
      return;
    }
    if (kind === "wrong_location") {
      pickLocation().then(function (picked) {
        if (!picked) { return; }
        send({kind: "wrong_location", lon: Number(picked.lon.toFixed(7)),
          lat: Number(picked.lat.toFixed(7))});
      });
      return;
    }
    send({kind: kind});
  });
})();
