// The Playwright-side element scan (iwrbench/perception/page_scan.py): the page's interactive elements
// over the whole document, described as browser-use describes them, and short visible texts with their
// boxes. Called with [limit, hints].
([limit, hints]) => {
  const sel = 'a[href],button,input:not([type=hidden]),select,textarea,summary,label,[role],[onclick],' +
              '[tabindex]:not([tabindex="-1"]),[contenteditable]:not([contenteditable=false]),img[alt],svg[aria-label]';
  const all = Array.from(document.querySelectorAll(sel));
  let checked = 0;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (++checked > 5000) break;
    if (!el.matches(sel) && getComputedStyle(el).cursor === 'pointer' &&
        !(el.parentElement && getComputedStyle(el.parentElement).cursor === 'pointer')) all.push(el);
  }
  // On a huge page the cap bites: elements whose text holds a phrase of the description come first,
  // then what is on screen, then the rest in document order.
  const low = hints.map(h => h.toLowerCase()).filter(h => h);
  const label = el => ((el.getAttribute('aria-label') || '') + ' ' + (el.getAttribute('placeholder') || '') + ' ' +
                       (el.getAttribute('title') || '') + ' ' + (el.textContent || '').slice(0, 300)).toLowerCase();
  const onScreen = el => { const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; };
  const first = [], second = [], rest = [];
  for (const el of all) {
    if (low.length && low.some(h => label(el).includes(h))) first.push(el);
    else if (second.length < limit && onScreen(el)) second.push(el);
    else if (rest.length < limit) rest.push(el);
  }
  const found = first.concat(second, rest);
  const txt = (el, cap) => ((el.innerText !== undefined ? el.innerText : el.textContent) || '')
      .replace(/\s+/g, ' ').trim().slice(0, cap);
  const landmarks = {HEADER:'header', NAV:'nav', FOOTER:'footer', ASIDE:'aside', MAIN:'main', FORM:'form', DIALOG:'dialog'};
  const roles = {banner:'header', navigation:'nav', contentinfo:'footer', complementary:'aside', main:'main',
                 form:'form', dialog:'dialog', alertdialog:'dialog', search:'form'};
  const keep = ['id','class','name','type','placeholder','title','alt','value','href','src','role','aria-label',
                'aria-selected','aria-expanded','aria-checked','aria-pressed','aria-current','contenteditable',
                'for','tabindex','onclick','data-testid'];
  const out = []; const els = [];
  for (const el of found) {
    if (out.length >= limit) break;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none' || Number(cs.opacity) === 0) continue;
    const attrs = {};
    for (const k of keep) { const v = el.getAttribute(k); if (v !== null) attrs[k] = String(v).slice(0, 200); }
    if ((el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.value) attrs.value = String(el.value).slice(0, 200);
    let name = el.getAttribute('aria-label') || '';
    if (!name && el.labels && el.labels.length) name = txt(el.labels[0], 200);
    if (!name) name = el.getAttribute('alt') || el.getAttribute('title') || '';
    const own = txt(el, 300);
    if (!name && ['BUTTON','A','SUMMARY','OPTION','LABEL'].includes(el.tagName)) name = own.slice(0, 200);
    let context = '', p = el.parentElement;
    for (let i = 0; i < 4 && p; i++, p = p.parentElement) {
      const t = txt(p, 400);
      if (t.length > own.length) { context = t.length > 300 ? '' : t; break; }
    }
    let landmark = '';
    for (let a = el.parentElement, i = 0; a && i < 40; a = a.parentElement, i++) {
      if (landmarks[a.tagName]) { landmark = landmarks[a.tagName]; break; }
      const ro = (a.getAttribute('role') || '').toLowerCase();
      if (roles[ro]) { landmark = roles[ro]; break; }
    }
    const scrollable = (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(cs.overflowY)) ||
                       (el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(cs.overflowX));
    out.push({tag: el.tagName.toLowerCase(), role: (el.getAttribute('role') || ''), name, text: own, attrs,
              bbox: [r.left + scrollX, r.top + scrollY, r.width, r.height], editable: !!el.isContentEditable,
              context, landmark, scrollable});
    els.push(el);
  }
  const anchors = [];
  let walked = 0;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (++walked > 20000 || anchors.length >= 4000) break;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(el.tagName)) continue;
    let own = '';
    for (const c of el.childNodes) if (c.nodeType === 3) own += c.nodeValue;
    own = own.replace(/\s+/g, ' ').trim();
    if (!own || own.length > 80) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    anchors.push([own, r.left + scrollX, r.top + scrollY, r.width, r.height]);
  }
  return {out, els, anchors};
}
