// Small DOM helpers: elements, keyed table rows updated in place, a
// confirmation dialog, toasts, and the frame scheduler.

/** `el('td.num', {title}, 'text')`: a tag with optional classes. */
export function el(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && k !== 'list') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Sets text only when it changed (no layout work for equal values). */
export function setText(node, text) {
  const t = text ?? '';
  if (node.textContent !== t) node.textContent = t;
}

export function setClass(node, cls) {
  if (node.className !== cls) node.className = cls;
}

/**
 * A table body whose rows are keyed: `update(items)` reuses the row of
 * each key, writes only changed cells, and moves rows only when the order
 * changed. `columns`: [{cls, text(item), title?(item), render?(td, item)}].
 */
export class KeyedRows {
  constructor(tbody, columns, key, { onRow } = {}) {
    this.tbody = tbody;
    this.columns = columns;
    this.key = key;
    this.onRow = onRow;
    this.rows = new Map();
  }

  update(items) {
    const seen = new Set();
    let prev = null;
    for (const item of items) {
      const k = this.key(item);
      seen.add(k);
      let tr = this.rows.get(k);
      if (!tr) {
        tr = el('tr', { dataset: { key: k } });
        for (const c of this.columns) tr.append(el(`td${c.cls ? `.${c.cls.split(' ').join('.')}` : ''}`));
        this.onRow?.(tr, item);
        this.rows.set(k, tr);
      }
      tr.item = item;
      this.columns.forEach((c, i) => {
        const td = tr.children[i];
        if (c.render) c.render(td, item, tr);
        else setText(td, c.text(item));
        if (c.title) {
          const t = c.title(item) ?? '';
          if (td.title !== t) td.title = t;
        }
        if (c.cellClass) setClass(td, `${c.cls ?? ''} ${c.cellClass(item) ?? ''}`.trim());
      });
      const want = prev ? prev.nextSibling : this.tbody.firstChild;
      if (want !== tr) this.tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const [k, tr] of this.rows) {
      if (!seen.has(k)) {
        tr.remove();
        this.rows.delete(k);
      }
    }
  }
}

/** A table with a header and keyed rows, in a scrolling box. */
export function grid(columns, key, opts) {
  const thead = el('thead', {}, el('tr', {}, columns.map((c) => el(`th${c.cls && c.cls.includes('num') ? '.num' : ''}`, { title: c.help ?? '' }, c.head))));
  const tbody = el('tbody');
  const table = el('table.grid', {}, thead, tbody);
  const empty = el('div.empty', {}, opts?.empty ?? 'Nothing yet');
  const box = el('div.scroll', {}, table, empty);
  const rows = new KeyedRows(tbody, columns, key, opts);
  return {
    box,
    rows,
    update(items) {
      rows.update(items);
      empty.hidden = items.length > 0;
    },
  };
}

/** Asks for confirmation; resolves with the form's values or null. */
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false, fields = [] }) {
  const dialog = document.getElementById('dialog');
  dialog.replaceChildren();
  const form = el('form', { method: 'dialog' });
  form.append(el('h3', {}, title));
  if (body) form.append(el('div', {}, body));
  for (const f of fields) {
    const input = el(f.type === 'textarea' ? 'textarea' : 'input', {
      name: f.name,
      type: f.type === 'textarea' ? undefined : f.type ?? 'text',
      placeholder: f.placeholder ?? '',
      value: f.value ?? '',
      autocomplete: 'off',
      required: f.required,
    });
    form.append(el('label', {}, f.label, input));
  }
  const ok = el(`button${danger ? '.danger' : '.primary'}`, { type: 'submit', value: 'ok' }, confirm);
  const cancel = el('button', { type: 'button', onclick: () => dialog.close('') }, 'Cancel');
  form.append(el('div.buttons', {}, cancel, ok));
  dialog.append(form);
  return new Promise((resolve) => {
    dialog.onclose = () => {
      if (dialog.returnValue !== 'ok') return resolve(null);
      const values = {};
      for (const f of fields) values[f.name] = form.elements[f.name].value;
      resolve(values);
    };
    dialog.returnValue = '';
    dialog.showModal();
    (form.querySelector('input, textarea') ?? ok).focus();
  });
}

export function toast(text, level = 'info', ms = 5000) {
  const t = el(`div.toast.${level}`, {}, text);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), ms);
}

/** Runs `draw` at most once per animation frame, after any `request()`. */
export class FrameScheduler {
  constructor(draw) {
    this.draw = draw;
    this.pending = false;
    this.frame = () => {
      this.pending = false;
      this.draw();
    };
  }

  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(this.frame);
  }
}

/** "1d 2h", "3h 04m", "5m 06s". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(s % 60)}s`;
}

/** An ISO timestamp as local HH:MM:SS (with the date when not today). */
export function clock(iso) {
  if (!iso) return '';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  const time = t.toLocaleTimeString([], { hour12: false });
  const today = new Date().toDateString() === t.toDateString();
  return today ? time : `${t.toLocaleDateString()} ${time}`;
}

/** Disables a control the connection's scope does not allow, saying why. */
export function guard(node, allowed, why) {
  node.disabled = !allowed;
  if (!allowed) node.title = why;
}
