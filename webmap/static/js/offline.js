/* The worker page's offline answer: the last station snapshot kept on the phone
 * (/offline/stations.json, cached by the service worker), "nearest, open at arrival" computed
 * here, and the banner "离线 · 数据更新于 …".
 *
 * Distances: metres on a local equirectangular projection around the worker (within a city
 * the error is far below a metre per kilometre), walking = straight × detour factor at the
 * walking speed, as the server's straight-line model (stations/settings.py). "Open at arrival"
 * comes from the snapshot's open intervals (the server evaluated the hours); past their
 * horizon it is unknown. Flagged stations rank as if NUANXIN_FLAGGED_RANK_PENALTY_M (500 m)
 * farther, as on the server.
 */
(function (root) {
  "use strict";
  var cfgEl = document.getElementById("nx-config");
  if (!cfgEl) { return; }
  var cfg = JSON.parse(cfgEl.textContent).offline;
  var KEY = "/offline/stations.json";
  var FLAG_PENALTY_M = 500;
  var snap = null;
  var banner = document.getElementById("offline-banner");

  function parse(body) {
    if (!body || !body.hours) { return null; }
    var all = body.near.slice();
    body.city.forEach(function (c) {
      all.push({id: c[0], lon: c[1], lat: c[2], name: c[3], h: c[4], coarse: true,
        amenities: [], amenities_unknown: null, address: "", access: "unknown", trust: "ok"});
    });
    return {body: body, stations: all};
  }

  function loadCached() {
    if (!("caches" in root)) { return Promise.resolve(null); }
    return root.caches.match(KEY).then(function (r) { return r ? r.json() : null; })
      .then(function (body) { snap = parse(body) || snap; return snap; })
      .catch(function () { return null; });
  }
  var ready = loadCached();

  function refresh(position) {
    // after a live answer: keep a fresh snapshot around the worker (the SW caches it)
    var b = snap && snap.body;
    var age = b ? (Date.now() / 1000 - b.horizon[0]) : Infinity;
    var moved = b && b.center ? metresBetween(position, {lon: b.center[0], lat: b.center[1]})
      : Infinity;
    if (age < 600 && moved < cfg.radiusM / 4) { return Promise.resolve(snap); }
    var url = cfg.snapshot + "?lon=" + position.lon.toFixed(6) + "&lat=" + position.lat.toFixed(6);
    return fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (body) {
      snap = parse(body);
      if ("caches" in root) {
        // kept by the page itself too: the service worker may not be in charge yet
        return root.caches.open("nx-data").then(function (c) {
          return c.put(KEY, new Response(JSON.stringify(body),
            {headers: {"Content-Type": "application/json"}}));
        }).then(function () {
          document.documentElement.dataset.snapshot = body.generated_at;
          return snap;
        });
      }
      document.documentElement.dataset.snapshot = body.generated_at;
      return snap;
    }).catch(function () { return snap; });
  }

  function metresBetween(a, b) {
    var k = Math.PI / 180, lat0 = (a.lat + b.lat) / 2 * k;
    var dx = (b.lon - a.lon) * k * Math.cos(lat0) * 6371008.8;
    var dy = (b.lat - a.lat) * k * 6371008.8;
    return Math.sqrt(dx * dx + dy * dy);
  }

  function openAt(intervals, t) {
    if (intervals === null || intervals === undefined) { return null; }
    var h = snap.body.horizon;
    if (t < h[0] || t > h[1]) { return null; }
    for (var i = 0; i < intervals.length; i++) {
      if (t >= intervals[i][0] && t < intervals[i][1]) { return true; }
    }
    return false;
  }

  function matches(s, params) {
    var wanted = params.getAll("amenity");
    for (var i = 0; i < wanted.length; i++) {
      if (s.amenities.indexOf(wanted[i]) < 0) { return false; }
    }
    var access = params.getAll("access");
    if (access.length && access.indexOf(s.access) < 0) { return false; }
    if (params.get("always_open") === "true") {
      var iv = snap.body.hours[s.h];
      var h = snap.body.horizon;
      if (!iv || !iv.length || iv[0][0] > h[0] || iv[0][1] < h[1]) { return false; }
    }
    return true;
  }

  /* The nearest answer from the snapshot, in the /api/nearest shape; null when there is no
   * snapshot (or, unless `force`, the point is outside the snapshot's full radius and the
   * network may still answer better). */
  function nearest(position, params, force) {
    if (!snap) { return null; }
    var k = Number(params.get("k") || 5);
    var now = Date.now() / 1000;
    var speed = cfg.walkSpeedKmh * 1000 / 3600;  // m/s
    var found = [];
    var closest = Infinity;
    snap.stations.forEach(function (s) {
      var d = metresBetween(position, s);
      if (d < closest) { closest = d; }
      if (!matches(s, params)) { return; }
      found.push({s: s, d: d, rank: d + (s.trust === "flagged" ? FLAG_PENALTY_M : 0)});
    });
    var center = snap.body.center;
    var inside = center && metresBetween(position, {lon: center[0], lat: center[1]}) <= snap.body.radius_m;
    if (!force && !inside) { return null; }
    var body = {results: [], method: "straight_line_x_detour", detour_factor: cfg.detourFactor,
      walk_speed_kmh: cfg.walkSpeedKmh, offline: true, snapshot_at: snap.body.generated_at,
      query: {lon: position.lon, lat: position.lat, crs: "wgs84"}};
    if (closest > cfg.coverageM) {
      body.outside_coverage = true;
      body.coverage_m = cfg.coverageM;
      return body;
    }
    found.sort(function (a, b) { return a.rank - b.rank; });
    body.results = found.slice(0, k).map(function (f) {
      var s = f.s, walk = f.d * cfg.detourFactor, secs = walk / speed;
      return {id: s.id, name: s.name, lon: s.lon, lat: s.lat, distance_m: Math.round(f.d * 10) / 10,
        walk_distance_m: Math.round(walk * 10) / 10, walk_minutes: Math.round(secs / 6) / 10,
        open_at_arrival: openAt(snap.body.hours[s.h], now + secs), amenities: s.amenities,
        amenities_unknown: s.amenities_unknown || [], address: s.address, access: s.access,
        trust: s.trust, trust_reason: s.trust_reason || "", sample: !!s.sample, coarse: !!s.coarse,
        status: "open"};
    });
    return body;
  }

  /* The snapshot's stations inside a map view (bbox in the map's datum), as the
   * FeatureCollection /api/stations answers (coordinates converted with toMap). */
  function features(bbox, fromMap, toMap, params) {
    if (!snap) { return null; }
    var sw = fromMap(bbox[0], bbox[1]), ne = fromMap(bbox[2], bbox[3]);
    var now = Date.now() / 1000;
    var out = [];
    snap.stations.forEach(function (s) {
      if (s.lon < sw[0] || s.lon > ne[0] || s.lat < sw[1] || s.lat > ne[1]) { return; }
      if (params && !matches(s, params)) { return; }
      var xy = toMap(s.lon, s.lat);
      out.push({type: "Feature", geometry: {type: "Point", coordinates: [xy[0], xy[1]]},
        properties: {id: s.id, name: s.name, address: s.address, access: s.access,
          sample: !!s.sample, status: "open", trust: s.trust, trust_reason: s.trust_reason || "",
          open_now: openAt(snap.body.hours[s.h], now)}});
    });
    var max = 2000;
    return {type: "FeatureCollection", features: out.slice(0, max), numberMatched: out.length,
      clustered: false, offline: true};
  }

  function when(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function offline() {
    if (!banner) { return; }
    banner.textContent = "离线 · 数据更新于 " + (snap ? when(snap.body.generated_at) : "（无）") +
      "。联网后会自动更新。";
    banner.hidden = false;
    document.body.dataset.offline = "1";
  }
  function online() {
    if (banner) { banner.hidden = true; }
    document.body.dataset.offline = "0";
  }
  root.addEventListener("offline", offline);
  root.addEventListener("online", online);
  if (navigator.onLine === false) { ready.then(offline); }

  root.NxOffline = {ready: ready, nearest: nearest, features: features, refresh: refresh,
    offline: offline,
    online: online, snapshot: function () { return snap; }};
})(window);
