// The box of the first or last item of the list holding the element at (x, y): its nearest ancestor
// among siblings of its own kind. Called with [x, y, 'top' | 'bottom']; null when it is in no list.
([x, y, edge]) => {
  let el = document.elementFromPoint(x, y);
  const kin = e => e.parentElement ? Array.from(e.parentElement.children).filter(c => c.tagName === e.tagName &&
    c.getBoundingClientRect().height > 0) : [];
  while (el && el.parentElement && kin(el).length < 2) el = el.parentElement;
  if (!el || kin(el).length < 2) return null;
  const items = kin(el).filter(c => c !== el);
  const r = (edge === 'top' ? items[0] : items[items.length - 1]).getBoundingClientRect();
  return {x: r.left, y: r.top, width: r.width, height: r.height};
}
