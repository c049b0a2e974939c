// The first shown descendant of an element whose whole text is the quote, else null: "Click 'Item 6'"
// when the element list only has the list around it. Called with the quote.
(e, quote) => {
  const norm = s => String(s || '').replace(/\s+/g, ' ').trim().toLowerCase();
  const want = norm(quote);
  for (const d of e.querySelectorAll('*')) {
    if (norm(d.innerText) !== want) continue;
    const r = d.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) return d;
  }
  return null;
}
