/* The candidate page's pin (issue 12): a draggable marker on the small map. The map's tiles are
 * in their own datum (GCJ-02 for Amap), so the pin is drawn in that datum and its position is
 * converted back to WGS84 (NxDatum, as the worker map does) into the form's lon/lat fields.
 * Without JavaScript the same form takes typed coordinates.
 */
(function () {
  "use strict";
  var box = document.getElementById("pin-map");
  var form = document.getElementById("pin-form");
  if (!box || !form || !window.NxDatum || !window.L) { return; }
  var map = window[box.dataset.map];
  var datum = box.dataset.datum;
  if (!map) { return; }
  var start = [Number(box.dataset.lon), Number(box.dataset.lat)];  // in the tiles' datum
  var lonField = form.querySelector("input[name=lon]");
  var latField = form.querySelector("input[name=lat]");
  var crsField = form.querySelector("select[name=crs]");
  var pin = L.marker([start[1], start[0]], {draggable: true, autoPan: true,
    title: "拖动到单位的实际位置", alt: "拖动到单位的实际位置"}).addTo(map);
  pin.getElement().classList.add("nx-candidate-pin");

  function fill(ll) {
    var w = NxDatum.convert(ll.lng, ll.lat, datum, "wgs84");  // the tiles' datum -> WGS84
    lonField.value = w[0].toFixed(7);
    latField.value = w[1].toFixed(7);
    if (crsField) { crsField.value = "wgs84"; }
    form.dataset.moved = "1";
  }
  pin.on("dragend", function () { fill(pin.getLatLng()); });
  map.on("click", function (e) { pin.setLatLng(e.latlng); fill(e.latlng); });
  window.NxPin = {pin: pin, map: map, fill: fill};
})();
