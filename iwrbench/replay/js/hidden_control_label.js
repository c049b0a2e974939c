// The label drawn for a control the page hides from sight (clipped, a pixel or two, or transparent),
// else null: a styled radio or checkbox is pointed at through its label, as a user would.
e => {
  const r = e.getBoundingClientRect(), st = getComputedStyle(e);
  const hidden = r.width <= 2 || r.height <= 2 || st.opacity === '0' || st.visibility === 'hidden' ||
    /rect\(0(px)?,? 0(px)?,? 0(px)?,? 0(px)?\)/.test(st.clip || '') || (st.clipPath || '').startsWith('inset(50%');
  if (!hidden || !e.labels) return null;
  for (const l of e.labels) { const b = l.getBoundingClientRect(); if (b.width > 2 && b.height > 2) return l; }
  return null;
}
