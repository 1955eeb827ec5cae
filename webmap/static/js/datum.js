/* Datum conversion in the browser: WGS84 <-> GCJ-02 <-> BD-09.
 *
 * A port of geodata/datums.py (the published GCJ-02 and BD-09 formulas). The browser's
 * geolocation is WGS84; Amap tiles are GCJ-02, so the user's position is converted before it
 * is drawn. The inverses iterate the forward formula until the round trip is below ~0.1 mm,
 * as the Python does. tests/test_browser_worker.py checks this file against the Python.
 */
(function (root) {
  "use strict";
  var A = 6378245.0;                 // Krasovsky 1940 semi-major axis (GCJ-02 formula)
  var EE = 0.00669342162296594323;
  var X_PI = Math.PI * 3000.0 / 180.0;
  var TOL = 1e-9;
  var MAX_ITER = 30;

  function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  function transformLat(x, y) {
    var ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    ret += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return ret;
  }

  function transformLon(x, y) {
    var ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    ret += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return ret;
  }

  function gcjOffset(lon, lat) {
    if (!inChina(lon, lat)) { return [0.0, 0.0]; }
    var dlat = transformLat(lon - 105.0, lat - 35.0);
    var dlon = transformLon(lon - 105.0, lat - 35.0);
    var radlat = lat / 180.0 * Math.PI;
    var magic = 1 - EE * Math.sin(radlat) * Math.sin(radlat);
    var sqrtmagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * Math.PI);
    dlon = (dlon * 180.0) / (A / sqrtmagic * Math.cos(radlat) * Math.PI);
    return [dlon, dlat];
  }

  function wgs84ToGcj02(lon, lat) {
    var d = gcjOffset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  function gcj02ToWgs84(lon, lat) {
    var wlon = lon, wlat = lat;
    for (var i = 0; i < MAX_ITER; i++) {
      var d = gcjOffset(wlon, wlat);
      var errLon = wlon + d[0] - lon, errLat = wlat + d[1] - lat;
      wlon -= errLon; wlat -= errLat;
      if (Math.abs(errLon) < TOL && Math.abs(errLat) < TOL) { break; }
    }
    return [wlon, wlat];
  }

  function gcj02ToBd09(lon, lat) {
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
    var theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
    return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
  }

  function bd09ToGcj02(lon, lat) {
    var x = lon - 0.0065, y = lat - 0.006;
    var z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
    var theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
    var glon = z * Math.cos(theta), glat = z * Math.sin(theta);
    for (var i = 0; i < MAX_ITER; i++) {
      var b = gcj02ToBd09(glon, glat);
      var errLon = b[0] - lon, errLat = b[1] - lat;
      glon -= errLon; glat -= errLat;
      if (Math.abs(errLon) < TOL && Math.abs(errLat) < TOL) { break; }
    }
    return [glon, glat];
  }

  var STEPS = {
    "wgs84>gcj02": wgs84ToGcj02,
    "gcj02>wgs84": gcj02ToWgs84,
    "gcj02>bd09": gcj02ToBd09,
    "bd09>gcj02": bd09ToGcj02,
    "wgs84>bd09": function (lon, lat) { var g = wgs84ToGcj02(lon, lat); return gcj02ToBd09(g[0], g[1]); },
    "bd09>wgs84": function (lon, lat) { var g = bd09ToGcj02(lon, lat); return gcj02ToWgs84(g[0], g[1]); }
  };

  /** convert(lon, lat, src, dst) -> [lon, lat]; datums "wgs84" | "gcj02" | "bd09". */
  function convert(lon, lat, src, dst) {
    if (src === dst) { return [lon, lat]; }
    var step = STEPS[src + ">" + dst];
    if (!step) { throw new Error("unknown datum pair " + src + " -> " + dst); }
    return step(lon, lat);
  }

  root.NxDatum = {
    convert: convert, inChina: inChina,
    wgs84ToGcj02: wgs84ToGcj02, gcj02ToWgs84: gcj02ToWgs84,
    gcj02ToBd09: gcj02ToBd09, bd09ToGcj02: bd09ToGcj02
  };
})(window);
