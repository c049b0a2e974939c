// How many elements in the body have a box (it stops counting at the first): 0 means an empty page,
// nothing there to press a key on.
() => {
  let n = 0;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'META', 'LINK'].includes(el.tagName)) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && ++n > 0) return n;
  }
  return n;
}
