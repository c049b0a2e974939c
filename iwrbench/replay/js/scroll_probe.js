// Scroll offsets of the window and of every element under the point [x, y]: changes iff the view
// moved (the page, or a panel under the wheel).
([x, y]) => {
  const out = [Math.round(scrollX), Math.round(scrollY)];
  let el = document.elementFromPoint(x, y);
  for (let i = 0; el && i < 60; i++, el = el.parentElement) out.push(Math.round(el.scrollLeft), Math.round(el.scrollTop));
  return out;
}
