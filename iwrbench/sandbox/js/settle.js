// Settling inside the page, called with the cap in ms: page_init.js's window.__iwrSettle, or, in a
// document that script did not reach, two frames and then the finite animations. Resolves with how the
// wait ended: 'settled', 'cap' (still busy at the cap) or, from __iwrSettle, 'navigating'.
(cap) => (typeof window.__iwrSettle === 'function') ? window.__iwrSettle(cap) : new Promise(resolve => {
  let finished = false;
  const done = (why) => { if (!finished) { finished = true; resolve(why); } };
  setTimeout(() => done('cap'), cap);
  const check = () => {
    let anims = [];
    try {
      anims = document.getAnimations().filter(a => a.playState === 'running' &&
        Number.isFinite(a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming().endTime : Infinity));
    } catch (e) {}
    if (!anims.length) return done('settled');
    Promise.all(anims.map(a => a.finished.catch(() => null))).then(() => requestAnimationFrame(() => done('settled')));
  };
  requestAnimationFrame(() => requestAnimationFrame(check));
})
