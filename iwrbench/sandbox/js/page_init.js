// Runs in every document of a task's page before the page's own scripts (Playwright init script).
//
// 1. Math.random is a seeded xorshift32, so a page that draws random content renders the same on
//    every run of the harness.
// 2. The page's requestAnimationFrame callbacks and its one-shot timers are counted, so settling can
//    wait for what an action started (a debounced search, a library animation, a script that renders
//    in the next frame) instead of for the clock: window.__iwrSettle(capMs) resolves once the page has
//    nothing due: no frame callback pending (but those of a chain of frames begun long before, as a
//    game's loop), no finite CSS/Web animation running, no one-shot timer due within the cap (timers
//    re-armed from timers, as pollers and carousels do, are not waited for unless they are a few ms
//    apart, as work done in chunks is; intervals never are), no script the page inserted still
//    loading, and no form submission or followed link about to replace the document.
// 3. Everything settling calls was saved here, before the page could replace it: a page that
//    overwrites setTimeout, Promise or getAnimations does not break the harness.
//
// window.__iwrRaf {frame, pending} and window.__iwrSettle are read-only and not enumerable.
(() => {
  const W = window;
  let seed = 20250314 >>> 0;
  const rnd = function () {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };
  try { Object.defineProperty(Math, 'random', { value: rnd, writable: true, configurable: true }); } catch (e) {}

  const hide = (name, value) => {
    try { Object.defineProperty(W, name, { value, writable: false, configurable: false, enumerable: false }); }
    catch (e) {}
  };
  const define = (name, value) => {
    if (name in W) {
      try { Object.defineProperty(W, name, { value, writable: true, configurable: true }); } catch (e) {}
    }
  };

  const perf = W.performance;
  const now = perf && perf.now ? perf.now.bind(perf) : Date.now;
  const raf = W.requestAnimationFrame, caf = W.cancelAnimationFrame;
  const setT = W.setTimeout, clearT = W.clearTimeout, clearI = W.clearInterval;
  const PromiseC = W.Promise, all = PromiseC.all.bind(PromiseC);
  const getAnimations = W.Document && W.Document.prototype.getAnimations;
  const doc = W.document;
  if (typeof raf !== 'function' || typeof setT !== 'function') return;

  // ---- frames: pending callbacks, each with when its chain began (a callback that requests the next
  // frame continues its chain; a request from anywhere else starts a new one)
  const frames = new Map();  // id -> start of its chain
  let chain = -1;  // start of the chain whose callback is running, -1 outside any
  const request = function requestAnimationFrame(cb) {
    if (typeof cb !== 'function') return raf.call(W, cb);  // the native TypeError
    const began = chain >= 0 ? chain : now();
    const id = raf.call(W, function (t) {
      frames.delete(id);
      const outer = chain;
      chain = began;
      try { return cb.call(this, t); } finally { chain = outer; }
    });
    frames.set(id, began);
    return id;
  };
  const cancel = function cancelAnimationFrame(id) {
    frames.delete(id);
    return caf.call(W, id);
  };
  for (const [name, value] of [['requestAnimationFrame', request], ['cancelAnimationFrame', cancel],
      ['webkitRequestAnimationFrame', request], ['webkitCancelAnimationFrame', cancel]]) define(name, value);

  // ---- one-shot timers: due time, and how many timer generations led to them
  const HORIZON = 10000;  // ms; a timer further out is never waited for
  const timers = new Map();  // id -> {due, depth}
  let running = -1;  // depth of the timer callback on the stack, -1 outside any
  const schedule = function setTimeout(handler, delay, ...args) {
    if (typeof handler !== 'function') return setT.call(W, handler, delay, ...args);
    const wait = Math.max(0, Number(delay) || 0);
    const depth = running + 1;
    let id;
    const run = function () {
      timers.delete(id);
      const outer = running;
      running = depth;
      try { return handler.apply(this, arguments); } finally { running = outer; }
    };
    id = setT.call(W, run, delay, ...args);
    if (wait <= HORIZON) timers.set(id, { due: now() + wait, depth, wait });
    return id;
  };
  const unschedule = function clearTimeout(id) { timers.delete(id); return clearT.call(W, id); };
  const unscheduleInterval = function clearInterval(id) { timers.delete(id); return clearI.call(W, id); };
  define('setTimeout', schedule);
  define('clearTimeout', unschedule);
  define('clearInterval', unscheduleInterval);

  hide('__iwrRaf', Object.freeze({ frame: cb => raf.call(W, cb), pending: () => frames.size }));

  // ---- leaving: a link, a form or a script started replacing this document (its request may not
  // have reached the harness yet). Settling says so instead of reporting a quiet page that is going away.
  let leftAt = -Infinity;
  try { W.addEventListener('beforeunload', () => { leftAt = now(); }, true); } catch (e) {}
  // A form submission or a followed link starts its navigation in a task of its own, which a busy
  // machine may run after settling has looked: the submit or click event itself, when it reaches the
  // window not cancelled by the page's handlers, already says the document is leaving.
  const selfTarget = el => { const t = (el.getAttribute && el.getAttribute('target')) || ''; return !t || t === '_self'; };
  const leavesDocument = href => {
    try {
      const to = new URL(href, doc.baseURI), here = new URL(W.location.href);
      if (!/^https?:$/.test(to.protocol)) return false;
      const withHash = /#/.test(href);
      to.hash = ''; here.hash = '';
      return to.href !== here.href || !withHash;
    } catch (e) { return false; }
  };
  try {
    W.addEventListener('submit', e => {
      const form = e.target;
      if (!e.defaultPrevented && form && (form.method || '').toLowerCase() !== 'dialog' && selfTarget(form)) leftAt = now();
    });
    W.addEventListener('click', e => {
      const a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
      if (!a || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || a.hasAttribute('download')) return;
      if (selfTarget(a) && leavesDocument(a.getAttribute('href'))) leftAt = now();
    });
  } catch (e) {}
  const LEAVING_MS = 2000;  // a navigation that has not replaced the page by then was cancelled (blocked)

  // ---- scripts a page inserts (a loader, a deferred bundle): from insertion until their load or
  // error, settling waits for them, since their request may not have reached the harness yet.
  const loading = new Set(), seen = new WeakSet();
  const SCRIPT_MS = 5000;  // a script still loading after this long is not waited for
  const track = el => {
    if (!el.src || seen.has(el)) return;
    seen.add(el);
    const entry = { el, at: now() };
    loading.add(entry);
    const end = () => loading.delete(entry);
    el.addEventListener('load', end, { once: true });
    el.addEventListener('error', end, { once: true });
  };
  try {
    const MO = W.MutationObserver;
    new MO(records => {
      for (const r of records) for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.nodeName === 'SCRIPT') track(n);
        else if (n.firstElementChild) for (const s of n.getElementsByTagName('script')) track(s);
      }
    }).observe(doc, { childList: true, subtree: true });
  } catch (e) {}
  const scriptsLoading = () => {
    for (const e of loading) {
      if (!e.el.isConnected || now() - e.at > SCRIPT_MS) loading.delete(e);
    }
    return loading.size > 0;
  };

  const LOOP_MS = 1000;  // a chain of frames begun this long before settling began is a loop (a game)
  // A timer set from a timer set from a timer is a poller (not waited for) unless it is short: work done
  // in chunks (a search listing its results a few at a time) re-arms a timer of a few milliseconds.
  const CHAIN = 2, CHUNK_MS = 50;

  const runningAnimations = () => {
    try {
      return getAnimations.call(doc).filter(a => a.playState === 'running' && a.effect &&
        Number.isFinite(a.effect.getComputedTiming().endTime));
    } catch (e) { return []; }
  };

  // Resolves with why it stopped: 'settled', 'cap', or 'navigating' (the document is being replaced).
  const settle = (capMs) => new PromiseC(resolve => {
    const start = now(), deadline = start + Math.max(0, Number(capMs) || 0);
    let done = false;
    const finish = why => { if (!done) { done = true; resolve(why); } };
    setT.call(W, () => finish('cap'), Math.max(0, deadline - start));
    const frame = cb => raf.call(W, cb);
    const fresh = () => { for (const began of frames.values()) if (start - began <= LOOP_MS) return true; return false; };
    const nextTimer = () => {
      let best = Infinity;
      for (const t of timers.values()) {
        if ((t.depth < CHAIN || t.wait <= CHUNK_MS) && t.due <= deadline && t.due < best) best = t.due;
      }
      return best;
    };
    const check = () => {
      if (done) return;
      if (now() - leftAt < LEAVING_MS) { finish('navigating'); return; }
      if (fresh()) { frame(check); return; }
      if (scriptsLoading()) { setT.call(W, () => frame(check), 10); return; }
      const anims = runningAnimations();
      if (anims.length) { all(anims.map(a => a.finished.catch(() => null))).then(() => frame(check)); return; }
      const due = nextTimer();
      if (due !== Infinity) { setT.call(W, () => frame(check), Math.max(0, due - now()) + 1); return; }
      finish('settled');
    };
    // One frame lets the page paint what the action did; more while a chain it started goes on.
    frame(check);
  });
  hide('__iwrSettle', settle);
})();
