/* The worker map page: stations by view, the 5 nearest, filter chips, the underlay.
 *
 * Loaded (deferred) before Leaflet: the nearest answer never waits for the map. A worker
 * who allowed the position is located at once and gets the list as soon as /api/nearest
 * (or the phone's snapshot) answers; the map is built on DOMContentLoaded, after the
 * deferred Leaflet scripts ran (window.nxBuildMap, the folium script wrapped by the page),
 * and then draws what the list already shows.
 *
 * The folium map (window[cfg.map]) and its empty marker cluster (window[cfg.cluster]) are
 * built server-side in the tile provider's datum (cfg.datum). Stations come from
 * /api/stations for the visible area only (crs=cfg.datum, so they arrive converted); the
 * browser's position is WGS84 and is converted here (NxDatum, datum.js) before drawing.
 * Every piece of station text goes into the page with textContent, never as HTML.
 */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("nx-config").textContent);
  var map = null, cluster = null;   // built by initMap() once Leaflet has loaded
  var underlay = null, bubbles = null, ranks = null, me = null;
  var mapWaiters = [];               // calls that need the map, run when it exists
  var datum = cfg.datum;
  var active = {};          // chip id -> true
  var position = null;      // {lon, lat} WGS84
  var picking = false;
  var stationCtl = null, nearestCtl = null, underlayCtl = null;
  var underlayKey = null, underlayBox = null;
  var statusEl = document.getElementById("status");
  var listEl = document.getElementById("nearest-list");
  var nearestBox = document.getElementById("nearest");
  var markerById = {};
  var lastNearest = null;   // the last nearest answer shown
  var reachBox = document.getElementById("reach");
  var speakBtn = document.getElementById("speak");

  // -- helpers ------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function toMap(lon, lat) { return NxDatum.convert(lon, lat, "wgs84", datum); }
  function fromMap(lon, lat) { return NxDatum.convert(lon, lat, datum, "wgs84"); }
  function latLng(pair) { return L.latLng(pair[1], pair[0]); }  // Leaflet wants lat, lng
  function say(text) { statusEl.textContent = text; }
  var metres = NxCommon.metres;
  function chipParams(params) {
    cfg.chips.forEach(function (chip) {
      if (!active[chip.id]) { return; }
      Object.keys(chip.params).forEach(function (k) { params.append(k, chip.params[k]); });
    });
    return params;
  }
  function anyAmenityChip() {
    return cfg.chips.some(function (c) { return active[c.id] && c.params.amenity; });
  }
  function fetchJSON(url, ctl) {
    if (navigator.onLine === false) {  // no network: the page answers from the phone's copy
      var off = new Error("离线");
      off.name = "OfflineError";
      return Promise.reject(off);
    }
    return fetch(url, {signal: ctl.signal, headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body && body.error ? body.error : "HTTP " + r.status); }
          return body;
        });
      });
  }
  function viewBbox() {
    var b = map.getBounds();
    var w = Math.max(-180, b.getWest()), e = Math.min(180, b.getEast());
    var s = Math.max(-90, b.getSouth()), n = Math.min(90, b.getNorth());
    return [w, s, e, n];
  }

  function whenMap(fn) { if (map) { fn(); } else { mapWaiters.push(fn); } }

  function stationIcon(p) {
    var cls = "nx-pin";
    var closed = p.status === "closed" || p.status === "suspended";
    cls += closed ? " nx-pin-gone" : p.open_now === true ? " nx-pin-open"
      : p.open_now === false ? " nx-pin-closed" : " nx-pin-unknown";
    if (p.match === "unknown") { cls += " nx-pin-maybe"; }
    if (p.sample) { cls += " nx-pin-sample"; }
    if (p.trust === "flagged") { cls += " nx-pin-flagged"; }
    if (p.trust === "unverified") { cls += " nx-pin-unverified"; }
    var inner = el("span", "nx-pin-dot");
    if (closed) { inner.textContent = "×"; }
    else if (p.trust === "flagged") { inner.textContent = "!"; }
    else if (p.open_now !== true && p.open_now !== false) { inner.textContent = "?"; }
    else if (p.match === "unknown") { inner.textContent = "?"; }
    return L.divIcon({className: cls, html: inner, iconSize: [30, 30], iconAnchor: [15, 15],
      popupAnchor: [0, -14]});
  }

  function openText(v, prefix) {
    return v === true ? prefix + "开放" : v === false ? prefix + "关门" : "开放时间未知";
  }
  function openClass(v) { return v === true ? "is-open" : v === false ? "is-closed" : "is-unknown"; }

  function popupFor(p) {
    var box = el("div", "nx-popup");
    box.appendChild(el("h3", null, p.name));
    if (p.sample) { box.appendChild(el("span", "badge badge-sample", "示例数据")); }
    if (p.status === "closed" || p.status === "suspended") {
      box.appendChild(el("p", "nx-gone", (p.status === "closed" ? "已关闭" : "暂停开放") +
        (p.status_reason ? "：" + p.status_reason : "")));
    } else {
      box.appendChild(el("p", "nx-open " + openClass(p.open_now), openText(p.open_now, "现在")));
    }
    if (p.trust === "flagged") {
      box.appendChild(el("p", "nx-flagged", "⚠ 多位师傅反映有问题" +
        (p.trust_reason ? "：" + p.trust_reason : "") + "（工会核实中）"));
    } else if (p.trust === "unverified") {
      box.appendChild(el("p", "nx-unverified", "信息较久没有核实，去之前可先问问"));
    }
    if (p.address) { box.appendChild(el("p", "nx-addr", p.address)); }
    if (p.match === "unknown") {
      box.appendChild(el("p", "nx-maybe", "所选设施：情况未知（不是“没有”），去之前可先问问"));
    }
    var a = el("a", "btn btn-small", "详情与导航 ›");
    a.href = cfg.stationUrl + encodeURIComponent(p.id);
    box.appendChild(a);
    return box;
  }

  var pendingPopup = null;  // {id, until}: a popup asked for by "在地图上看"

  function openPendingPopup() {
    if (!pendingPopup) { return; }
    if (Date.now() > pendingPopup.until) { pendingPopup = null; return; }
    var m = markerById[pendingPopup.id];
    if (!m || !cluster.hasLayer(m)) { return; }  // not loaded yet: the next reload retries
    var parent = m.__parent;
    if (!m._icon && !(parent && parent._icon)) { return; }  // not drawn yet (moveend retries)
    pendingPopup = null;
    cluster.zoomToShowLayer(m, function () {
      m.openPopup();
      document.body.dataset.popup = String(m.nxProps.id);
    });
  }

  function markerKey(p) {
    return [p.id, p.open_now, p.match || "", p.trust || "ok", p.status || "open", p.sample ? 1 : 0]
      .join("|");
  }

  function renderStations(body) {
    // Markers are kept across reloads when unchanged: a popup opened by "在地图上看" survives
    // the reload its own move triggers, and markercluster never looks for the parent of a
    // marker taken away mid-animation (the `_icon` TypeError of issue 14).
    bubbles.clearLayers();
    var next = {}, add = [], remove = [];
    body.features.forEach(function (f) {
      var ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      var p = f.properties;
      if (p.cluster) {
        var n = el("span", "nx-bubble-n", p.count);
        var size = p.count < 10 ? 34 : p.count < 100 ? 42 : p.count < 1000 ? 50 : 58;
        var b = L.marker(ll, {icon: L.divIcon({className: "nx-bubble", html: n,
          iconSize: [size, size]}), title: p.count + " 个驿站", keyboard: true, alt: p.count + " 个驿站"});
        b.on("click", function () { map.setView(ll, Math.min(map.getZoom() + 2, 18)); });
        bubbles.addLayer(b);
        return;
      }
      var key = markerKey(p);
      var old = markerById[p.id];
      if (old && old.nxKey === key && old.getLatLng().equals(ll)) { next[p.id] = old; return; }
      var m = L.marker(ll, {icon: stationIcon(p), title: p.name, alt: p.name, keyboard: true});
      m.nxKey = key;
      m.nxProps = p;
      m.bindPopup(function () { return popupFor(p); }, {maxWidth: 280});
      next[p.id] = m;
      add.push(m);
    });
    Object.keys(markerById).forEach(function (id) {
      if (next[id] !== markerById[id]) { remove.push(markerById[id]); }
    });
    if (remove.length) { cluster.removeLayers(remove); }
    markerById = next;
    cluster.addLayers(add);
    openPendingPopup();
    updateRanks();
    document.body.dataset.stationsMatched = body.numberMatched;
    document.body.dataset.stationsShown = Object.keys(markerById).length;
    document.body.dataset.clustered = body.clustered ? "1" : "0";
    document.dispatchEvent(new CustomEvent("nx:stations", {detail: body}));
  }

  function loadStations() {
    if (stationCtl) { stationCtl.abort(); }
    stationCtl = new AbortController();
    var params = new URLSearchParams({bbox: viewBbox().map(function (v) { return v.toFixed(6); }).join(","),
      crs: datum, fields: cfg.mapFields, cluster: "true", zoom: String(map.getZoom()),
      limit: String(cfg.maxFeatures)});
    if (anyAmenityChip()) { params.set("include_unknown", "true"); }
    chipParams(params);
    return fetchJSON(cfg.api.stations + "?" + params.toString(), stationCtl)
      .then(renderStations)
      .catch(function (err) {
        if (err.name === "AbortError") { return; }
        if (window.NxOffline) {
          return NxOffline.ready.then(function () {
            var fc = NxOffline.features(viewBbox(), fromMap, toMap, params);
            if (fc) { renderStations(fc); return; }
            say("驿站加载失败：" + err.message);
          });
        }
        say("驿站加载失败：" + err.message);
      });
  }

  function loadUnderlay() {
    var z = map.getZoom();
    var bb = viewBbox();
    var level = z >= 15 ? 15 : z >= 13 ? 13 : z >= 12 ? 12 : z >= 10 ? 10 : 8;
    if (underlayBox && underlayKey === level && bb[0] >= underlayBox[0] && bb[1] >= underlayBox[1]
        && bb[2] <= underlayBox[2] && bb[3] <= underlayBox[3]) { return; }
    var dx = (bb[2] - bb[0]) * 0.5, dy = (bb[3] - bb[1]) * 0.5;
    var box = [Math.max(-180, bb[0] - dx), Math.max(-90, bb[1] - dy),
      Math.min(180, bb[2] + dx), Math.min(90, bb[3] + dy)];
    if (underlayCtl) { underlayCtl.abort(); }
    underlayCtl = new AbortController();
    var params = new URLSearchParams({bbox: box.map(function (v) { return v.toFixed(5); }).join(","),
      zoom: String(level), crs: datum});
    fetchJSON(cfg.api.areas + "?" + params.toString(), underlayCtl).then(function (fc) {
      underlay.clearLayers();
      underlay.addData(fc);
      underlayKey = level; underlayBox = box;
    }).catch(function () { /* the underlay is optional */ });
  }

  // -- nearest ------------------------------------------------------------------------
  function triState(key, r) {
    var yes = r.amenities.indexOf(key) >= 0;
    var unk = (r.amenities_unknown || []).indexOf(key) >= 0;
    var s = el("span", "tri " + (yes ? "tri-yes" : unk ? "tri-unknown" : "tri-no"));
    s.appendChild(el("b", null, yes ? "✓" : unk ? "?" : "✗"));
    s.appendChild(document.createTextNode(cfg.amenityLabels[key]));
    s.title = cfg.amenityLabels[key] + (yes ? "：有" : unk ? "：未知" : "：没有");
    return s;
  }

  // Rank badges sit beside a station's own marker, and only while that marker is drawn on
  // its own: never over a cluster's count.
  var rankFor = [];   // [{id, pos}] of the nearest list, in order
  function updateRanks() {
    if (!map) { return; }
    ranks.clearLayers();
    rankFor.forEach(function (r, i) {
      var m = markerById[r.id];
      if (!m || !cluster.hasLayer(m) || cluster.getVisibleParent(m) !== m) { return; }
      ranks.addLayer(L.marker(m.getLatLng(), {interactive: false, keyboard: false,
        zIndexOffset: 1000, icon: L.divIcon({className: "nx-rank", html: el("span", null, i + 1),
          iconSize: [24, 24], iconAnchor: [-4, 28]})}));
    });
  }

  function showMe(r) {
    // "在地图上看": the map comes into view, the station's popup opens (un-clustered, or
    // spiderfied when several share the spot); the markers reload for the new view.
    if (!map) { say("地图还在加载，马上就好…"); whenMap(function () { showMe(r); }); return; }
    var pos = latLng(toMap(r.lon, r.lat));
    pendingPopup = {id: r.id, until: Date.now() + 8000};
    shownAt = Date.now();
    document.querySelector(".mapwrap").scrollIntoView({block: "start"});
    map.setView(pos, Math.max(map.getZoom(), 17), {animate: false});
    loadStations().then(openPendingPopup);
  }

  function pickLocation(stationId) {
    // 位置不对: a draggable pin on the map; resolves to the WGS84 spot, or null.
    if (!map) {
      return new Promise(function (resolve) {
        whenMap(function () { pickLocation(stationId).then(resolve); });
      });
    }
    var item = null;
    (lastNearest ? lastNearest.results : []).forEach(function (r) { if (r.id === stationId) { item = r; } });
    var start = item ? latLng(toMap(item.lon, item.lat)) : map.getCenter();
    document.querySelector(".mapwrap").scrollIntoView({block: "start"});
    map.setView(start, Math.max(map.getZoom(), 17), {animate: false});
    var pin = L.marker(start, {draggable: true, autoPan: true, zIndexOffset: 3000,
      title: "正确位置（拖动我）", alt: "正确位置（拖动我）",
      icon: L.divIcon({className: "nx-drag-pin", html: el("span", null, "⬇"), iconSize: [36, 36],
        iconAnchor: [18, 34]})}).addTo(map);
    var bar = document.getElementById("pin-bar");
    var say2 = bar.querySelector(".pin-say");
    say2.textContent = "把图钉拖到驿站真正的位置（也可以点地图），再点“确认位置”。";
    bar.hidden = false;
    map.on("click", movePin);
    function movePin(e) { pin.setLatLng(e.latlng); }
    return new Promise(function (resolve) {
      function finish(ok) {
        var ll = pin.getLatLng();
        map.off("click", movePin);
        map.removeLayer(pin);
        okBtn.removeEventListener("click", onOk);
        noBtn.removeEventListener("click", onNo);
        if (!ok) { bar.hidden = true; resolve(null); return; }
        var w = fromMap(ll.lng, ll.lat);  // the tiles' datum -> WGS84
        resolve({lon: w[0], lat: w[1], thanks: say2});
        setTimeout(function () { bar.hidden = true; }, 6000);
      }
      var okBtn = bar.querySelector(".pin-ok"), noBtn = bar.querySelector(".pin-cancel");
      function onOk() { finish(true); }
      function onNo() { finish(false); }
      okBtn.addEventListener("click", onOk);
      noBtn.addEventListener("click", onNo);
      document.body.dataset.pinning = String(stationId);
    });
  }

  function reach(body) {
    // Nothing open within reach on foot: say so plainly, offer the nearest anyway, the hotline.
    reachBox.hidden = true;
    reachBox.textContent = "";
    var words = null;
    if (body.outside_coverage) {
      words = "你所在的位置不在暖心驿站的服务范围内（" + (body.coverage_m / 1000) +
        " 公里内没有任何驿站）。";
    } else if (body.results.length && !body.results.some(function (r) {
      return r.walk_distance_m <= cfg.reachLimitM && r.open_at_arrival !== false;
    })) {
      words = "步行 " + (cfg.reachLimitM / 1000) + " 公里内没有到达时开放的驿站。" +
        "下面是最近的几个，仍然可以去；最近的步行约 " +
        Math.max(1, Math.round(body.results[0].walk_minutes)) + " 分钟。";
    }
    if (!words) { return; }
    reachBox.appendChild(el("p", null, words));
    if (cfg.hotline) {
      var p = el("p", null, "需要帮助可以打工会热线：");
      var a = el("a", "btn btn-small hotline", cfg.hotline);
      a.href = "tel:" + cfg.hotline.replace(/[^0-9+]/g, "");
      p.appendChild(a);
      reachBox.appendChild(p);
    }
    reachBox.hidden = false;
  }

  function card(r, i) {
    var li = el("li", "station-item");
    li.dataset.id = r.id;
    if (r.trust === "flagged") { li.classList.add("is-flagged"); }
    var head = el("div", "item-head");
    head.appendChild(el("span", "rank", i + 1));
    head.appendChild(el("strong", "item-name", r.name));
    if (r.sample) { head.appendChild(el("span", "badge badge-sample", "示例数据")); }
    li.appendChild(head);
    if (r.trust === "flagged") {
      li.appendChild(el("p", "item-flag", "⚠ 多位师傅反映有问题" +
        (r.trust_reason ? "：" + r.trust_reason : "") + "（工会核实中）"));
    } else if (r.trust === "unverified") {
      li.appendChild(el("p", "item-unverified", "信息较久没有核实，去之前可先问问"));
    }
    var line = el("p", "item-line");
    line.appendChild(el("span", "dist", metres(r.distance_m)));
    line.appendChild(el("span", "walk", "步行约 " + Math.max(1, Math.round(r.walk_minutes)) + " 分钟"));
    line.appendChild(el("span", "arrive " + openClass(r.open_at_arrival),
      openText(r.open_at_arrival, "到达时")));
    li.appendChild(line);
    var tri = el("p", "item-amenities");
    cfg.keyAmenities.forEach(function (k) { tri.appendChild(triState(k, r)); });
    var acc = el("span", "tri " + (r.access === "open" ? "tri-yes" : r.access === "unknown"
      ? "tri-unknown" : "tri-no"));
    acc.appendChild(el("b", null, r.access === "open" ? "✓" : r.access === "unknown" ? "?" : "✗"));
    acc.appendChild(document.createTextNode("免注册"));
    tri.appendChild(acc);
    li.appendChild(tri);
    if (r.amenity_notes) {
      Object.keys(r.amenity_notes).forEach(function (k) {
        li.appendChild(el("p", "item-note", "? " + (cfg.amenityLabels[k] || k) + "：" +
          r.amenity_notes[k]));
      });
    }
    if (r.address) { li.appendChild(el("p", "item-addr", r.address)); }
    var actions = el("div", "item-actions");
    var show = el("button", "btn btn-small btn-secondary show-on-map", "在地图上看");
    show.type = "button";
    show.addEventListener("click", function () { showMe(r); });
    actions.appendChild(show);
    var a = el("a", "btn btn-small", "详情与导航 ›");
    a.href = cfg.stationUrl + encodeURIComponent(r.id);
    actions.appendChild(a);
    var rep = el("button", "btn btn-small btn-secondary report-open", "反馈");
    rep.type = "button";
    rep.setAttribute("aria-expanded", "false");
    actions.appendChild(rep);
    li.appendChild(actions);
    var panel = null;
    rep.addEventListener("click", function () {
      if (!panel) {
        panel = NxCommon.reportPanel(r.id, {pickLocation: pickLocation});
        li.appendChild(panel);
      } else {
        panel.hidden = !panel.hidden;
      }
      rep.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
      if (!panel.hidden) { panel.scrollIntoView({block: "nearest"}); }
    });
    return li;
  }

  var shownKey = null;  // what the list shows: an identical answer is not drawn again
  function answerKey(body) {
    return JSON.stringify([body.outside_coverage || false, body.results.map(function (r) {
      // the phone's copy and the server agree to the metre only up to rounding: 10 m steps;
      // a missing trust or status reads as the default, so an equal answer is not redrawn
      return [r.id, r.open_at_arrival, Math.round(r.distance_m / 10), r.trust || "ok",
        r.status || "open"];
    })]);
  }

  function renderNearest(body, source) {
    var key = answerKey(body);
    nearestBox.dataset.source = source || "network";
    if (key === shownKey && listEl.children.length) {
      lastNearest = body;
      say("已找到离你最近的 " + body.results.length + " 个驿站。");
      document.dispatchEvent(new CustomEvent("nx:nearest", {detail: body}));
      return;
    }
    shownKey = key;
    listEl.textContent = "";
    lastNearest = body;
    nearestBox.hidden = false;
    reach(body);
    speakBtn.hidden = !(NxCommon.canSpeak() && body.results.length);
    rankFor = body.results.map(function (r) { return {id: r.id}; });
    updateRanks();
    if (!body.results.length) {
      var why = body.outside_coverage ? "这里不在服务范围内，附近没有驿站。"
        : "附近没有符合条件的驿站。试试少选几个条件。";
      listEl.appendChild(el("li", "empty", why));
      say(why);
      document.dispatchEvent(new CustomEvent("nx:nearest", {detail: body}));
      return;
    }
    body.results.forEach(function (r, i) { listEl.appendChild(card(r, i)); });
    fitNearest();
    say("已找到离你最近的 " + body.results.length + " 个驿站。" + (source === "offline"
      ? "（离线：用手机上保存的数据）" : source === "snapshot" ? "（先用手机上保存的数据，正在联网更新…）"
      : ""));
    document.dispatchEvent(new CustomEvent("nx:nearest", {detail: body}));
  }

  var shownAt = 0;  // when "在地图上看" last moved the map: a late answer does not move it away
  function fitNearest() {
    if (!map || !lastNearest || !lastNearest.results.length) { return; }
    if (Date.now() - shownAt < 15000) { return; }
    var bounds = L.latLngBounds(lastNearest.results.map(function (r) {
      return latLng(toMap(r.lon, r.lat));
    }));
    if (position) { bounds.extend(latLng(toMap(position.lon, position.lat))); }
    map.fitBounds(bounds, {padding: [36, 36], maxZoom: 17});  // the worker and the nearest 5
  }

  function nearestParams() {
    var params = new URLSearchParams({lon: position.lon.toFixed(7), lat: position.lat.toFixed(7),
      crs: "wgs84", k: "5"});
    chipParams(params);
    return params;
  }

  function loadNearest() {
    if (!position) { return Promise.resolve(); }
    if (nearestCtl) { nearestCtl.abort(); }
    var ctl = nearestCtl = new AbortController();
    var params = nearestParams();
    var here = position;
    var answered = false;
    say("正在查找最近的驿站…");
    var off = window.NxOffline || null;
    if (off) {
      // the phone's copy answers at once; the network's answer replaces it when it comes
      off.ready.then(function () {
        var local = answered || ctl.signal.aborted ? null : off.nearest(here, params);
        if (local) { renderNearest(local, "snapshot"); }
      });
    }
    return fetchJSON(cfg.api.nearest + "?" + params.toString(), ctl).then(function (body) {
      answered = true;
      if (off) { off.online(); }
      renderNearest(body, "network");
      if (off) { off.refresh(here); }
    }).catch(function (err) {
      if (err.name === "AbortError") { return; }
      if (!off) { say("查找失败：" + err.message); return; }
      return off.ready.then(function () {
        var local = off.nearest(here, params, true);
        if (!local) { say("没有网络，手机上也还没有驿站数据。请联网后再试。"); return; }
        answered = true;
        off.offline();
        renderNearest(local, "offline");
      });
    });
  }

  var accuracyM = null;
  function drawMe() {
    if (!map || !position) { return; }
    var ll = latLng(toMap(position.lon, position.lat));   // WGS84 -> the tiles' datum
    var accuracy = accuracyM;
    me.clearLayers();
    if (accuracy && accuracy < 2000) {
      me.addLayer(L.circle(ll, {radius: accuracy, color: "#1d4ed8", weight: 1, fillOpacity: 0.08,
        interactive: false}));
    }
    me.addLayer(L.marker(ll, {interactive: false, keyboard: false, zIndexOffset: 2000,
      icon: L.divIcon({className: "nx-me", html: el("span"), iconSize: [22, 22]})}));
    if (!lastNearest) { map.setView(ll, Math.max(map.getZoom(), 15)); }
  }

  function setPosition(lon, lat, accuracy) {
    position = {lon: lon, lat: lat};
    accuracyM = accuracy;
    lastNearest = null;
    drawMe();
    document.body.dataset.position = lon.toFixed(6) + "," + lat.toFixed(6);
    return loadNearest();
  }

  function locate() {
    if (!("geolocation" in navigator)) {
      say("这个浏览器不能定位。请点“在地图上选位置”，再点地图。");
      return;
    }
    say("正在定位…（请允许使用位置）");
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPosition(pos.coords.longitude, pos.coords.latitude, pos.coords.accuracy);
    }, function (err) {
      say(err.code === 1 ? "没有定位权限。请点“在地图上选位置”，再点你所在的地方。"
        : "定位失败。请点“在地图上选位置”，再点你所在的地方。");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  // -- wiring -------------------------------------------------------------------------
  document.getElementById("locate").addEventListener("click", locate);
  speakBtn.addEventListener("click", function () {
    if (lastNearest && lastNearest.results.length) { NxCommon.speak(NxCommon.describe(lastNearest.results[0])); }
  });
  // a worker who already allowed the position gets the answer without a tap: the page's
  // head started locating and asking /api/nearest before any script file arrived
  // (window.nxEarly, see worker.html); its answer is used as if loadNearest had made it
  if (window.nxEarly) {
    window.nxEarly.then(function (early) {
      if (!early || position) { return; }
      position = {lon: early.lon, lat: early.lat};
      accuracyM = early.accuracy;
      document.body.dataset.position = early.lon.toFixed(6) + "," + early.lat.toFixed(6);
      drawMe();
      if (!early.body) { loadNearest(); return; }
      renderNearest(early.body, "network");
      if (window.NxOffline) { NxOffline.online(); NxOffline.refresh(position); }
    });
  }
  var pickBtn = document.getElementById("pick");
  pickBtn.addEventListener("click", function () {
    if (!map) { say("地图还在加载，马上就好…"); return; }
    picking = !picking;
    pickBtn.setAttribute("aria-pressed", picking ? "true" : "false");
    map.getContainer().classList.toggle("is-picking", picking);
    if (picking) { say("点一下地图上你所在的位置。"); }
  });
  Array.prototype.forEach.call(document.querySelectorAll(".chip"), function (btn) {
    btn.addEventListener("click", function () {
      var id = btn.dataset.chip;
      active[id] = !active[id];
      btn.setAttribute("aria-pressed", active[id] ? "true" : "false");
      if (map) { loadStations(); }
      loadNearest();
    });
  });
  window.addEventListener("online", function () {  // back online: fresh data everywhere
    if (map) { loadStations(); loadUnderlay(); }
    if (position) { loadNearest(); }
  });

  // -- the map (after the deferred Leaflet scripts) --------------------------------------
  function initMap() {
    var built = window.nxBuildMap();
    map = built.map;
    cluster = built.cluster;
    map.createPane("nx-underlay").style.zIndex = 250;
    map.createPane("nx-labels").style.zIndex = 350;
    map.getPane("nx-underlay").style.pointerEvents = "none";
    map.getPane("nx-labels").style.pointerEvents = "none";
    underlay = L.geoJSON(null, {
      pane: "nx-underlay", interactive: false,
      style: function (f) { return cfg.underlayStyle[f.properties.kind] || {}; },
      pointToLayer: function (f, ll) {
        var span = el("span", "nx-label nx-label-" + f.properties.kind, f.properties.name);
        return L.marker(ll, {pane: "nx-labels", interactive: false, keyboard: false,
          icon: L.divIcon({className: "nx-label-icon", html: span, iconSize: null})});
      }
    }).addTo(map);
    bubbles = L.layerGroup().addTo(map);
    ranks = L.layerGroup().addTo(map);
    me = L.layerGroup().addTo(map);
    cluster.on("animationend", updateRanks);
    map.on("zoomend", updateRanks);
    map.on("click", function (e) {
      if (!picking) { return; }
      picking = false;
      pickBtn.setAttribute("aria-pressed", "false");
      map.getContainer().classList.remove("is-picking");
      var w = fromMap(e.latlng.lng, e.latlng.lat);  // the tiles' datum -> WGS84
      setPosition(w[0], w[1], null);
    });
    var timer = null;
    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { loadStations(); loadUnderlay(); }, 150);
    });
    window.nuanxin = {map: map, cluster: cluster, me: me, ranks: ranks, setPosition: setPosition,
      datum: datum, reload: loadStations, markers: function () { return markerById; }};
    drawMe();
    fitNearest();
    loadStations();
    loadUnderlay();
    mapWaiters.splice(0).forEach(function (fn) { fn(); });
    document.documentElement.dataset.map = "ready";
  }
  // deferred scripts run while readyState is "interactive", before Leaflet's (later in
  // document order); DOMContentLoaded comes after all of them
  if (document.readyState === "complete") { initMap(); }
  else { document.addEventListener("DOMContentLoaded", initMap); }
})();
