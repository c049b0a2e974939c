// Whether the keyboard focus is on the element, inside it, or on an element around it (a tab list
// whose tab has the focus): a Press that names a place moves the focus there only when it is not.
(el) => {
  let a = el.ownerDocument.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  const d = el.ownerDocument;
  return !!a && a !== d.body && a !== d.documentElement && (a === el || el.contains(a) || a.contains(el));
}
