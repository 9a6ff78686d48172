// A strategy config as form fields, built from get_strategy_types: each
// field with its default (or an example for a required one) and meaning;
// read back as the config object; an engine error naming a field shown
// at that field. Used by the strategy and backtest forms alike.

import { el } from '../ui.js';

/** One labelled form slot, findable by `key` for its error. */
export function field(label, input, key, wide = false, help = '') {
  return el(`div${wide ? '.wide' : ''}`, { dataset: { field: key } },
    el('label', {}, label, input),
    help ? el('div.field-help', {}, help) : null,
    el('div.field-error'));
}

/** The fields of a strategy type's config. */
export function configFields(type) {
  return type.fields.map((f) => {
    let input;
    const example = f.example ?? null;
    const def = f.default ?? null;
    if (f.kind === 'boolean') {
      input = el('input', { type: 'checkbox', name: `cfg.${f.name}`, checked: def === true });
    } else if (f.name === 'side') {
      input = el('select', { name: `cfg.${f.name}` }, el('option', { value: 'buy' }, 'buy'), el('option', { value: 'sell' }, 'sell'));
      if (def) input.value = def;
    } else {
      input = el('input', {
        name: `cfg.${f.name}`,
        inputmode: f.kind === 'string' ? 'text' : 'decimal',
        placeholder: def !== null ? `${def} (default)` : example !== null ? `e.g. ${example}` : 'optional',
        required: f.required,
      });
    }
    input.dataset.kind = f.kind;
    return field(`${f.name}${f.required ? ' *' : ''}`, input, `config.${f.name}`, true, f.doc);
  });
}

/** The config object: every field given (decimals as their exact text). */
export function readConfig(form) {
  const config = {};
  for (const input of form.querySelectorAll('[name^="cfg."]')) {
    const name = input.name.slice(4);
    if (input.type === 'checkbox') {
      config[name] = input.checked;
    } else if (input.value.trim() !== '') {
      const v = input.value.trim();
      config[name] = input.dataset.kind === 'integer' || input.dataset.kind === 'number' ? Number(v) : v;
    }
  }
  return config;
}

/** Clears earlier errors; shows `message` at the field it names (`invalid `x`: …`). */
export function showFieldError(form, message, prefix = '') {
  for (const n of form.querySelectorAll('.field-error')) n.textContent = '';
  for (const n of form.querySelectorAll('.invalid')) n.classList.remove('invalid');
  const at = /invalid `([^`]+)`/.exec(message ?? '');
  if (!at) return;
  const key = prefix && at[1].startsWith(prefix) ? `config.${at[1].slice(prefix.length)}` : at[1];
  const slot = form.querySelector(`[data-field="${CSS.escape(key)}"]`);
  if (!slot) return;
  slot.querySelector('.field-error').textContent = message.replace(/^invalid `[^`]+`: /, '');
  slot.querySelector('input, select')?.classList.add('invalid');
}
