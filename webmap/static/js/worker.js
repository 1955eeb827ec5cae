/* The worker map page: stations by view, the 5 nearest, filter chips, the underlay.
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
  var map = window[cfg.map];
  var cluster = window[cfg.cluster];
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
  function metres(m) {
    return m < 1000 ? Math.round(m / 10) * 10 + " 米" : (m / 1000).toFixed(1) + " 公里";
  }
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

  // -- layers -------------------------------------------------------------------------
  map.createPane("nx-underlay").style.zIndex = 250;
  map.createPane("nx-labels").style.zIndex = 350;
  map.getPane("nx-underlay").style.pointerEvents = "none";
  map.getPane("nx-labels").style.pointerEvents = "none";
  var underlay = L.geoJSON(null, {
    pane: "nx-underlay", interactive: false,
    style: function (f) { return cfg.underlayStyle[f.properties.kind] || {}; },
    pointToLayer: function (f, ll) {
      var span = el("span", "nx-label nx-label-" + f.properties.kind, f.properties.name);
      return L.marker(ll, {pane: "nx-labels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "nx-label-icon", html: span, iconSize: null})});
    }
  }).addTo(map);
  var bubbles = L.layerGroup().addTo(map);
  var ranks = L.layerGroup().addTo(map);
  var me = L.layerGroup().addTo(map);

  function stationIcon(p) {
    var cls = "nx-pin";
    cls += p.open_now === true ? " nx-pin-open" : p.open_now === false ? " nx-pin-closed"
      : " nx-pin-unknown";
    if (p.match === "unknown") { cls += " nx-pin-maybe"; }
    if (p.sample) { cls += " nx-pin-sample"; }
    var inner = el("span", "nx-pin-dot");
    if (p.open_now !== true && p.open_now !== false) { inner.textContent = "?"; }
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
    box.appendChild(el("p", "nx-open " + openClass(p.open_now), openText(p.open_now, "现在")));
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
    if (m) { cluster.zoomToShowLayer(m, function () { m.openPopup(); }); }
  }

  function renderStations(body) {
    cluster.clearLayers();
    bubbles.clearLayers();
    markerById = {};
    var markers = [];
    body.features.forEach(function (f) {
      var ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      var p = f.properties;
      if (p.cluster) {
        var n = el("span", "nx-bubble-n", p.count);
        var size = p.count < 10 ? 34 : p.count < 100 ? 42 : p.count < 1000 ? 50 : 58;
        var b = L.marker(ll, {icon: L.divIcon({className: "nx-bubble", html: n,
          iconSize: [size, size]}), title: p.count + " 个驿站", keyboard: true});
        b.on("click", function () { map.setView(ll, Math.min(map.getZoom() + 2, 18)); });
        bubbles.addLayer(b);
        return;
      }
      var m = L.marker(ll, {icon: stationIcon(p), title: p.name, keyboard: true});
      m.bindPopup(function () { return popupFor(p); }, {maxWidth: 280});
      markerById[p.id] = m;
      markers.push(m);
    });
    cluster.addLayers(markers);
    openPendingPopup();
    document.body.dataset.stationsMatched = body.numberMatched;
    document.body.dataset.stationsShown = markers.length;
    document.body.dataset.clustered = body.clustered ? "1" : "0";
    document.dispatchEvent(new CustomEvent("nx:stations", {detail: body}));
  }

  function loadStations() {
    if (stationCtl) { stationCtl.abort(); }
    stationCtl = new AbortController();
    var params = new URLSearchParams({bbox: viewBbox().map(function (v) { return v.toFixed(6); }).join(","),
      crs: datum, fields: "map", cluster: "true", zoom: String(map.getZoom()),
      limit: String(cfg.maxFeatures)});
    if (anyAmenityChip()) { params.set("include_unknown", "true"); }
    chipParams(params);
    return fetchJSON(cfg.api.stations + "?" + params.toString(), stationCtl)
      .then(renderStations)
      .catch(function (err) {
        if (err.name !== "AbortError") { say("驿站加载失败：" + err.message); }
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

  function renderNearest(body) {
    listEl.textContent = "";
    ranks.clearLayers();
    nearestBox.hidden = false;
    if (!body.results.length) {
      listEl.appendChild(el("li", "empty", "附近没有符合条件的驿站。试试少选几个条件。"));
      say("附近没有符合条件的驿站。");
      return;
    }
    body.results.forEach(function (r, i) {
      var li = el("li", "station-item");
      li.dataset.id = r.id;
      var head = el("div", "item-head");
      head.appendChild(el("span", "rank", i + 1));
      head.appendChild(el("strong", "item-name", r.name));
      if (r.sample) { head.appendChild(el("span", "badge badge-sample", "示例数据")); }
      li.appendChild(head);
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
      if (r.address) { li.appendChild(el("p", "item-addr", r.address)); }
      var actions = el("div", "item-actions");
      var show = el("button", "btn btn-small btn-secondary", "在地图上看");
      show.type = "button";
      var pos = latLng(toMap(r.lon, r.lat));
      show.addEventListener("click", function () {
        // setView reloads the stations in view (moveend), which rebuilds the markers: ask for
        // the popup now and again after that reload, so it is not lost with the old marker.
        pendingPopup = {id: r.id, until: Date.now() + 5000};
        map.setView(pos, Math.max(map.getZoom(), 16));
        openPendingPopup();
      });
      actions.appendChild(show);
      var a = el("a", "btn btn-small", "详情与导航 ›");
      a.href = cfg.stationUrl + encodeURIComponent(r.id);
      actions.appendChild(a);
      li.appendChild(actions);
      listEl.appendChild(li);
      ranks.addLayer(L.marker(pos, {interactive: false, keyboard: false, zIndexOffset: 1000,
        icon: L.divIcon({className: "nx-rank", html: el("span", null, i + 1), iconSize: [24, 24],
          iconAnchor: [-4, 28]})}));
    });
    var bounds = L.latLngBounds(body.results.map(function (r) { return latLng(toMap(r.lon, r.lat)); }));
    if (position) { bounds.extend(latLng(toMap(position.lon, position.lat))); }
    map.fitBounds(bounds, {padding: [36, 36], maxZoom: 17});  // the worker and the nearest 5
    say("已找到离你最近的 " + body.results.length + " 个驿站。");
    document.dispatchEvent(new CustomEvent("nx:nearest", {detail: body}));
  }

  function loadNearest() {
    if (!position) { return Promise.resolve(); }
    if (nearestCtl) { nearestCtl.abort(); }
    nearestCtl = new AbortController();
    var params = new URLSearchParams({lon: position.lon.toFixed(7), lat: position.lat.toFixed(7),
      crs: "wgs84", k: "5"});
    chipParams(params);
    say("正在查找最近的驿站…");
    return fetchJSON(cfg.api.nearest + "?" + params.toString(), nearestCtl)
      .then(renderNearest)
      .catch(function (err) {
        if (err.name !== "AbortError") { say("查找失败：" + err.message); }
      });
  }

  function setPosition(lon, lat, accuracy) {
    position = {lon: lon, lat: lat};
    var ll = latLng(toMap(lon, lat));   // WGS84 -> the tiles' datum
    me.clearLayers();
    if (accuracy && accuracy < 2000) {
      me.addLayer(L.circle(ll, {radius: accuracy, color: "#1d4ed8", weight: 1, fillOpacity: 0.08,
        interactive: false}));
    }
    me.addLayer(L.marker(ll, {interactive: false, keyboard: false, zIndexOffset: 2000,
      icon: L.divIcon({className: "nx-me", html: el("span"), iconSize: [22, 22]})}));
    map.setView(ll, Math.max(map.getZoom(), 15));
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
  var pickBtn = document.getElementById("pick");
  pickBtn.addEventListener("click", function () {
    picking = !picking;
    pickBtn.setAttribute("aria-pressed", picking ? "true" : "false");
    map.getContainer().classList.toggle("is-picking", picking);
    if (picking) { say("点一下地图上你所在的位置。"); }
  });
  map.on("click", function (e) {
    if (!picking) { return; }
    picking = false;
    pickBtn.setAttribute("aria-pressed", "false");
    map.getContainer().classList.remove("is-picking");
    var w = fromMap(e.latlng.lng, e.latlng.lat);  // the tiles' datum -> WGS84
    setPosition(w[0], w[1], null);
  });
  Array.prototype.forEach.call(document.querySelectorAll(".chip"), function (btn) {
    btn.addEventListener("click", function () {
      var id = btn.dataset.chip;
      active[id] = !active[id];
      btn.setAttribute("aria-pressed", active[id] ? "true" : "false");
      loadStations();
      loadNearest();
    });
  });
  var timer = null;
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { loadStations(); loadUnderlay(); }, 150);
  });
  loadStations();
  loadUnderlay();
  window.nuanxin = {map: map, cluster: cluster, me: me, setPosition: setPosition, datum: datum,
    reload: loadStations};
})();
