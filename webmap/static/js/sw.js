/* 暖心驿站 service worker (served at /sw.js, scope /).
 *
 * Release __RELEASE__: the app shell and the vendored assets are precached in a cache named
 * after the release; activating a new release deletes the old caches (the station snapshot's
 * data cache survives). Everything is same-origin; nothing is fetched from elsewhere.
 *
 *   /static/...              cache first (versioned with the release)
 *   /  (the worker page)     the cached copy at once, refreshed in the background
 *   /stations/<id>           network first, the last copy when offline
 *   /offline/stations.json   network first, the last snapshot when offline
 *   /api/..., /union/...     network only (the page answers from its snapshot offline)
 */
"use strict";
var RELEASE = "__RELEASE__";
var SHELL = "nx-shell-" + RELEASE;
var PAGES = "nx-pages";
var DATA = "nx-data";
var PRECACHE = __PRECACHE__;
var SNAPSHOT_KEY = "/offline/stations.json";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(PRECACHE.map(function (u) { return new Request(u, {cache: "reload"}); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("nx-shell-") === 0 && n !== SHELL;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function put(cacheName, key, response) {
  if (!response || !response.ok) { return response; }
  var copy = response.clone();
  caches.open(cacheName).then(function (c) { return c.put(key, copy); });
  return response;
}

function cacheFirst(request) {
  return caches.match(request, {ignoreSearch: false}).then(function (hit) {
    return hit || fetch(request).then(function (r) { return put(SHELL, request, r); });
  });
}

function shell(request) {
  // the worker page: answer from the cache at once, refresh the copy for next time
  return caches.open(SHELL).then(function (cache) {
    return cache.match("/").then(function (hit) {
      var fresh = fetch(request).then(function (r) {
        if (r.ok && new URL(request.url).search === "") { cache.put("/", r.clone()); }
        return r;
      });
      if (hit) { fresh.catch(function () { return null; }); return hit; }
      return fresh;
    });
  });
}

function networkFirst(request, cacheName, key) {
  return fetch(request).then(function (r) { return put(cacheName, key || request, r); })
    .catch(function () {
      return caches.match(key || request).then(function (hit) {
        if (hit) { return hit; }
        if (request.mode === "navigate") { return caches.match("/"); }
        return Response.error();
      });
    });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var path = url.pathname;
  if (path.indexOf("/static/") === 0) { event.respondWith(cacheFirst(request)); return; }
  if (path === "/" && request.mode === "navigate") { event.respondWith(shell(request)); return; }
  if (path === SNAPSHOT_KEY) { event.respondWith(networkFirst(request, DATA, SNAPSHOT_KEY)); return; }
  if (path === "/manifest.webmanifest") { event.respondWith(networkFirst(request, SHELL)); return; }
  if (/^\/stations\/\d+$/.test(path)) { event.respondWith(networkFirst(request, PAGES)); return; }
  // everything else (the API, the union's dashboard): the network, as if no worker were here
});
