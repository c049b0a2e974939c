// The page's state after an action, as the replay records it and the offline judge reads it:
//   text      innerText of the body, then of every same-origin iframe's body (an editor in a frame)
//   inputs    every form field and editable region, keyed by its label: value, checked state, the
//             chosen option; a password field's value is masked, and marked when it holds the text
//             the action typed ("•••• [typed]"), so a judge can tell the typing arrived without the
//             password ever being written
//   screen    the text a reader sees in the viewport, in document order (iframes included, clipped
//             to the frame): text nodes with a box on screen inside every clipping ancestor, plus
//             what form fields show. The offline judge compares it with the recording's OCR before
//             it pays for OCR of the page's screenshots.
//   focused   the element that has the keyboard focus (followed into same-origin iframes)
//   scroll, size, viewport, url, title, elements (count)
// Called with [cap, typed]: the most characters of text to return, and the text the action typed ('').
// Runs in the page's main world, or in an isolated world when the page has broken the DOM methods it uses.
([cap, typed]) => {
  const top = document;
  const TYPED_MARK = '[typed]';
  const frameDoc = (f) => { try { return f.contentDocument || null; } catch (e) { return null; } };
  // Documents to read: the page, then its same-origin iframes (depth-first, a few levels), each with
  // its viewport box [left, top, right, bottom] in the top document's viewport.
  const docs = [];
  // `origin` is where the document's own viewport starts in the top viewport; `clip` is the part of the
  // top viewport it can show in.
  const visit = (d, origin, clip, depth) => {
    docs.push({ d, origin, clip });
    if (depth >= 3) return;
    for (const f of d.querySelectorAll('iframe, frame')) {
      const inner = frameDoc(f);
      if (!inner || !inner.documentElement) continue;
      const r = f.getBoundingClientRect();
      const o = [origin[0] + r.left + f.clientLeft, origin[1] + r.top + f.clientTop];
      const c = [Math.max(clip[0], origin[0] + r.left), Math.max(clip[1], origin[1] + r.top),
                 Math.min(clip[2], origin[0] + r.right), Math.min(clip[3], origin[1] + r.bottom)];
      visit(inner, o, c, depth + 1);
    }
  };
  visit(top, [0, 0], [0, 0, innerWidth, innerHeight], 0);

  const screenText = (d, origin, clip, budget) => {
    const win = d.defaultView || window, root = d.body || d.documentElement;
    if (!root || clip[0] >= clip[2] || clip[1] >= clip[3]) return [];
    // Boxes in a frame are in the frame's own viewport: the clip, moved there.
    const base = [clip[0] - origin[0], clip[1] - origin[1], clip[2] - origin[0], clip[3] - origin[1]];
    const styles = new Map(), boxes = new Map();
    const style = el => { let s = styles.get(el); if (!s) { s = win.getComputedStyle(el); styles.set(el, s); } return s; };
    const box = el => {  // the part of the viewport where el's content can show, or null when it cannot
      const chain = [];
      for (let a = el; a && a.nodeType === 1 && !boxes.has(a); a = a.parentElement) chain.push(a);
      const up = chain.length && chain[chain.length - 1].parentElement;
      let b = up && boxes.has(up) ? boxes.get(up) : base;
      for (let i = chain.length - 1; i >= 0; i--) {
        const a = chain[i], s = style(a);
        if (b && (s.display === 'none' || Number(s.opacity) === 0)) b = null;
        if (b && s.position === 'fixed') b = base;
        if (b && (s.overflowX !== 'visible' || s.overflowY !== 'visible') && a !== d.documentElement && a !== d.body) {
          const r = a.getBoundingClientRect();
          b = [Math.max(b[0], r.left), Math.max(b[1], r.top), Math.min(b[2], r.right), Math.min(b[3], r.bottom)];
          if (b[0] >= b[2] || b[1] >= b[3]) b = null;
        }
        boxes.set(a, b);
      }
      return boxes.get(el);
    };
    const shows = (rects, b) => { for (const r of rects)
      if (r.width > 0 && r.height > 0 && r.right > b[0] && r.left < b[2] && r.bottom > b[1] && r.top < b[3]) return true;
      return false; };
    const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'TEXTAREA', 'OPTION', 'SELECT', 'TITLE']);
    const out = []; let size = 0, seen = 0;
    const walker = d.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */), range = d.createRange();
    for (let n = walker.nextNode(); n && size < budget && seen < 30000; n = walker.nextNode()) {
      seen++;
      const t = n.nodeValue.trim(), p = n.parentElement;
      if (!t || !p || skip.has(p.tagName)) continue;
      const b = box(p);
      if (!b || style(p).visibility !== 'visible') continue;
      range.selectNodeContents(n);
      if (shows(range.getClientRects(), b)) { out.push(t); size += t.length + 1; }
    }
    const noText = ['hidden', 'checkbox', 'radio', 'file', 'image', 'range', 'color'];
    let fields = 0;
    for (const el of d.querySelectorAll('input, textarea, select')) {
      if (++fields > 500 || size >= budget) break;
      if (el.tagName === 'INPUT' && noText.includes((el.type || '').toLowerCase())) continue;
      const b = el.parentElement ? box(el.parentElement) : base;
      if (!b || style(el).visibility !== 'visible' || Number(style(el).opacity) === 0 ||
          !shows([el.getBoundingClientRect()], b)) continue;
      let v = el.tagName === 'SELECT' ? Array.from(el.selectedOptions).map(o => o.text).join(' ')
            : String(el.value == null ? '' : el.value);
      if ((el.type || '').toLowerCase() === 'password') v = '';
      v = v.trim() || (el.getAttribute('placeholder') || '').trim();
      if (v) { out.push(v); size += v.length + 1; }
    }
    return out;
  };

  const texts = [], inputs = {}, shown = [];
  let n = 0, elements = 0, truncated = false, size = 0, screenRead = true;
  const skipTypes = ['hidden', 'submit', 'button', 'reset', 'image', 'file'];
  docs.forEach(({ d, origin, clip }, k) => {
    const b = d.body || d.documentElement;
    let t = '';
    try { t = b ? b.innerText || '' : ''; } catch (e) {}
    if (size + t.length > cap) { truncated = true; t = t.slice(0, Math.max(0, cap - size)); }
    if (t) { texts.push(t); size += t.length + 1; }
    elements += d.getElementsByTagName('*').length;
    for (const el of d.querySelectorAll('input, textarea, select, [contenteditable]:not([contenteditable=false])')) {
      if (n >= 200) break;
      const type = (el.getAttribute('type') || '').toLowerCase();
      if (el.tagName === 'INPUT' && skipTypes.includes(type)) continue;
      if (el.isContentEditable && el.parentElement && el.parentElement.isContentEditable) continue;  // its root says it
      n++;
      let key = '';
      if (el.labels && el.labels.length) key = (el.labels[0].innerText || '').trim();
      key = key || el.getAttribute('aria-label') || el.getAttribute('name') || el.getAttribute('placeholder') ||
            el.id || (el.tagName.toLowerCase() + ' ' + n);
      if (k > 0) key = 'frame ' + k + ': ' + key;
      key = String(key).replace(/\s+/g, ' ').trim().slice(0, 80);
      if (type === 'radio') key += ' = ' + String(el.value || '').slice(0, 40);
      let value;
      if (el.tagName !== 'INPUT' && el.tagName !== 'TEXTAREA' && el.tagName !== 'SELECT') value = el.innerText || '';
      else if (type === 'checkbox' || type === 'radio') value = el.checked ? 'checked' : 'unchecked';
      else if (el.tagName === 'SELECT') value = Array.from(el.selectedOptions).map(o => o.text).join(', ');
      else value = String(el.value == null ? '' : el.value);
      if (type === 'password') {
        value = '\u2022'.repeat(value.length) + (typed && value.includes(typed) ? ' ' + TYPED_MARK : '');
      }
      let key2 = key, i = 2;
      while (Object.prototype.hasOwnProperty.call(inputs, key2)) key2 = key + ' (' + (i++) + ')';
      inputs[key2] = String(value).slice(0, 2000);
    }
    try { shown.push(...screenText(d, origin, clip, Math.max(0, cap - shown.join('\n').length))); }
    catch (e) { if (k === 0) screenRead = false; }
  });

  // The focus, followed into same-origin frames.
  let a = top.activeElement, focusDoc = top;
  for (let i = 0; i < 4 && a && (a.tagName === 'IFRAME' || a.tagName === 'FRAME'); i++) {
    const inner = frameDoc(a);
    if (!inner) break;
    focusDoc = inner;
    a = inner.activeElement;
  }
  let focused = '', editable = false;
  if (a && a !== focusDoc.body && a !== focusDoc.documentElement) {
    const label = a.getAttribute('aria-label') || a.getAttribute('placeholder') || a.getAttribute('name') ||
                  (a.innerText || '').trim().slice(0, 60);
    focused = (focusDoc !== top ? 'frame: ' : '') + '<' + a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + '>' +
              (label ? ' ' + label : '');
    const t = (a.getAttribute('type') || '').toLowerCase();
    editable = a.isContentEditable || a.tagName === 'TEXTAREA' ||
               (a.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color',
                                           'file', 'image', 'hidden'].includes(t));
  } else if (focusDoc !== top && focusDoc.body && focusDoc.body.isContentEditable) {
    focused = 'frame: <body contenteditable>';
    editable = true;
  }
  const de = top.documentElement;
  return { text: texts.join('\n'), truncated, inputs, url: location.href, title: top.title,
           screen: screenRead ? shown.join('\n').slice(0, cap) : null,
           scroll: [scrollX, scrollY], size: [de ? de.scrollWidth : 0, de ? de.scrollHeight : 0],
           viewport: [innerWidth, innerHeight], focused, focused_editable: editable, elements };
}
