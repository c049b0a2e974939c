self.addEventListener("fetch", e => e.respondWith(fetch("__OUTSIDE__/sw-fetch")));
