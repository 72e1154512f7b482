// DOM helpers: elements from data (never HTML strings), field errors, toasts, the confirm dialog.

import { ApiError, describe } from './api.0e42747cb6.js';

/**
 * h('button', {class: 'primary', type: 'button', onclick}, 'Save'): properties starting with
 * "on" are listeners, `class`/`text`/`hidden`/`value`/`checked`/`disabled` are set as
 * properties, anything else is an attribute (false/null leave it out).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'text') {
      el.textContent = value;
    } else if (['hidden', 'value', 'checked', 'disabled', 'open'].includes(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let ids = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled control: {wrap, control}. `kind` is 'input', 'textarea' or 'select'. */
export function field(labelText, kind, props = {}, options = []) {
  const { hint, ...rest } = props;
  const id = rest.id ?? uid(rest.name ?? 'f');
  const hintId = hint ? `${id}-hint` : null;
  const control = h(kind, { ...rest, id, 'aria-describedby': hintId }, options);
  const wrap = h('div', { class: 'field' },
    h('label', { for: id, text: labelText }),
    control,
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null);
  return { wrap, control };
}

/** A form's error line (role=alert), created on first use at the end of the form. */
function formErrorLine(form) {
  let line = form.querySelector(':scope > .form-error');
  if (!line) {
    line = h('p', { class: 'form-error', role: 'alert', id: uid('form-error') });
    const buttons = form.querySelector(':scope > .row');
    form.insertBefore(line, buttons);
  }
  return line;
}

/** Shows a message for the whole form. */
export function formError(form, message) {
  const line = formErrorLine(form);
  line.textContent = message;
  return line;
}

/** Marks one control invalid with a message right below it. */
export function setFieldError(control, message) {
  const id = `${control.id}-error`;
  let line = document.getElementById(id);
  if (!line) {
    line = h('p', { class: 'field-error', id });
    control.insertAdjacentElement('afterend', line);
  }
  line.textContent = message;
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  if (!described.includes(id)) control.setAttribute('aria-describedby', [...described, id].join(' '));
}

export function clearErrors(form) {
  for (const line of form.querySelectorAll('.field-error')) {
    const control = form.querySelector(`[aria-describedby~="${line.id}"]`);
    if (control) {
      control.removeAttribute('aria-invalid');
      const rest = control.getAttribute('aria-describedby').split(' ').filter((x) => x !== line.id);
      if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    line.remove();
  }
  const line = form.querySelector(':scope > .form-error');
  if (line) line.textContent = '';
}

/**
 * Shows an API error on a form: each 422 problem next to the control its `loc` names (by the
 * control's `name`, or `aliases` {apiField: controlName}); the rest, and other errors, on the
 * form's line. `fieldFor(error)` may map a non-422 error to a control name (400 email taken).
 * Focuses the first invalid control, or the form's line.
 */
export function showError(form, error, { aliases = {}, fieldFor } = {}) {
  clearErrors(form);
  const general = [];
  let first = null;
  const controlFor = (name) => (name ? form.elements.namedItem(aliases[name] ?? name) : null);
  if (error instanceof ApiError && error.status === 422 && error.problems.length) {
    for (const problem of error.problems) {
      const control = controlFor(problem.field);
      if (control instanceof Element) {
        setFieldError(control, problem.msg);
        first ??= control;
      } else {
        general.push(problem.field ? `${problem.field}: ${problem.msg}` : problem.msg);
      }
    }
  } else {
    const control = fieldFor ? controlFor(fieldFor(error)) : null;
    if (control instanceof Element) {
      setFieldError(control, describe(error));
      first = control;
    } else {
      general.push(describe(error));
    }
  }
  let line = null;
  if (general.length) line = formError(form, general.join(' '));
  if (first) first.focus();
  else if (line) {
    line.tabIndex = -1;
    line.focus();
  }
}

const toasts = () => document.getElementById('toasts');

/**
 * A message at the bottom of the screen. `action` {label, run} adds a button; `timeout` (ms)
 * removes it (0: stays until dismissed). Returns {el, close}.
 */
export function toast(message, { kind = 'info', action = null, timeout = 6000 } = {}) {
  const text = h('p', { text: message });
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : null }, text);
  let timer = null;
  const close = () => {
    clearTimeout(timer);
    const hadFocus = el.contains(document.activeElement);
    el.remove();
    if (hadFocus) document.getElementById('main')?.focus();
  };
  if (action) {
    el.append(h('button', { type: 'button', text: action.label, onclick: () => { close(); action.run(); } }));
  }
  if (kind === 'error' || timeout === 0) {
    el.append(h('button', { type: 'button', text: 'Dismiss', 'aria-label': 'Dismiss message', onclick: close }));
  }
  if (timeout > 0 && kind !== 'error') timer = setTimeout(close, timeout);
  toasts().append(el);
  return { el, text, close };
}

/**
 * The confirmation dialog. `body` is a list of paragraphs (strings or nodes). Resolves true
 * when the person confirms; focus goes back where it was.
 */
export function confirmDialog({ title, body, confirmLabel }) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  const bodyEl = document.getElementById('confirm-body');
  bodyEl.replaceChildren(...body.map((p) => (p instanceof Node ? p : h('p', { text: p }))));
  document.getElementById('confirm-ok').textContent = confirmLabel;
  const back = document.activeElement;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (back instanceof HTMLElement && back.isConnected) back.focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
  });
}
