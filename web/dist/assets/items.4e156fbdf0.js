// The item views: my items (/users/{me}/items) and the team's (/items), with the day and
// done filters, add, toggle, inline edit, delete with undo and "Load more" paging.

import { ApiError, call, describe, newKey, query } from './api.0e42747cb6.js';
import { clearErrors, field, formError, h, showError, toast, uid } from './dom.02ddd9605a.js';
import { created, toApiDate, todayJst } from './time.ee3d1da3ff.js';
import * as undo from './undo.4d1cb06bcd.js';

export const PAGE_SIZE = 20;

/** ETags seen in single-item answers, by item id (only those carry one). */
const etags = new Map();

/**
 * ctx: {me, params (URLSearchParams), setParams(params), users() -> Promise<Map|null>,
 * refresh()}. kind: 'mine' or 'team'.
 */
export function itemsView(ctx, kind) {
  const me = ctx.me;
  const team = kind === 'team';
  const state = {
    base: team ? '/items' : `/users/${me.id}/items`,
    fallback: false,
    next: null,
    // Items that left the listed set since the last page (deleted, or toggled out of the
    // done filter): the next page starts that much earlier, so nothing is skipped.
    left: 0,
    entries: new Map(), // id -> {item, li}
    users: null,
    loading: 0,
  };
  const filters = { date: ctx.params.get('date') ?? '', done: ctx.params.get('done') ?? '' };
  if (!['', 'true', 'false'].includes(filters.done)) filters.done = '';

  const heading = h('h1', { tabindex: '-1', text: team ? "Team's items" : 'My items' });
  const notice = h('p', { class: 'notice', role: 'status', hidden: true });

  // Filters.
  const date = field('Day (JST)', 'input', { type: 'date', name: 'date', value: filters.date });
  const done = field('Status', 'select', { name: 'done' }, [
    h('option', { value: '', text: 'All' }),
    h('option', { value: 'false', text: 'Open' }),
    h('option', { value: 'true', text: 'Done' }),
  ]);
  done.control.value = filters.done;
  const filterForm = h('form', { class: 'filters panel', 'aria-label': 'Filter items', onsubmit: (e) => e.preventDefault() },
    date.wrap,
    h('div', { class: 'row' },
      h('button', { type: 'button', text: 'Today', onclick: () => { date.control.value = todayJst(); applyFilters(); } }),
      h('button', { type: 'button', text: 'Any day', onclick: () => { date.control.value = ''; applyFilters(); } })),
    done.wrap);
  date.control.addEventListener('change', applyFilters);
  done.control.addEventListener('change', applyFilters);

  // Add.
  const title = field('Title', 'input', { type: 'text', name: 'title', autocomplete: 'off' });
  const description = field('Description (optional)', 'textarea', { name: 'description', rows: '2' });
  const owner = team ? field('Assign to', 'select', { name: 'owner' }, [h('option', { value: String(me.id), text: `Me (${me.email})` })]) : null;
  const addStatus = h('p', { class: 'hint', role: 'status' });
  const addForm = h('form', { class: 'panel', 'aria-labelledby': 'add-heading', novalidate: true, onsubmit: (e) => { e.preventDefault(); add(); } },
    h('h2', { id: 'add-heading', text: 'Add an item' }),
    title.wrap, description.wrap, owner?.wrap,
    h('div', { class: 'row' }, h('button', { class: 'primary', text: 'Add item' })),
    addStatus);
  let addAttempt = null; // {key, body}: the key is reused when the same add is retried

  // The list.
  const count = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'items', 'aria-labelledby': 'list-heading' });
  const empty = h('p', { class: 'empty', hidden: true, text: 'No items here yet.' });
  const listError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'more', hidden: true, text: 'Load more', onclick: loadMore });

  const root = h('div', {}, heading, notice, filterForm, addForm,
    h('div', { class: 'list-head' }, h('h2', { id: 'list-heading', text: 'Items' }), count),
    listError, list, empty, more);

  if (team) {
    ctx.users().then((users) => {
      state.users = users;
      if (users) {
        for (const u of users.values()) {
          if (u.id !== me.id) owner.control.append(h('option', { value: String(u.id), text: u.email }));
        }
        for (const entry of state.entries.values()) {
          if (!entry.li.hidden && !entry.li.querySelector('form')) update(entry.item);
        }
      }
    });
  }
  load();
  return root;

  function itemUrl(item) {
    return `/users/${item.owner_id}/items/${item.id}`;
  }

  function ownerName(id) {
    if (id === me.id) return 'me';
    const u = state.users?.get(id);
    return u ? u.email : `user #${id}`;
  }

  function applyFilters() {
    filters.date = date.control.value;
    filters.done = done.control.value;
    const params = new URLSearchParams();
    if (filters.date) params.set('date', filters.date);
    if (filters.done) params.set('done', filters.done);
    ctx.setParams(params);
    load();
  }

  function listQuery() {
    return query(state.base, { date: toApiDate(filters.date), done: filters.done, limit: PAGE_SIZE });
  }

  async function load() {
    const ticket = ++state.loading;
    clearErrors(filterForm);
    listError.hidden = true;
    list.setAttribute('aria-busy', 'true');
    count.textContent = 'Loading…';
    let answer;
    try {
      answer = await call('GET', listQuery());
    } catch (error) {
      if (ticket !== state.loading) return;
      if (team && !state.fallback && error instanceof ApiError && error.status === 403) {
        // AUTHZ=strict: only admins list everyone's items.
        state.fallback = true;
        state.base = `/users/${me.id}/items`;
        notice.textContent = "This server lets only admins see the team's items. Showing your own items.";
        notice.hidden = false;
        load();
        return;
      }
      showListError(error, filterForm);
      return;
    }
    if (ticket !== state.loading) return;
    list.removeAttribute('aria-busy');
    state.entries.clear();
    list.replaceChildren();
    for (const item of answer.data) addEntry(item, 'end');
    state.next = answer.next;
    state.left = 0;
    updateCount();
  }

  function nextPage() {
    const url = new URL(state.next, location.origin);
    const skip = Number(url.searchParams.get('skip'));
    if (state.left > 0 && Number.isInteger(skip)) url.searchParams.set('skip', String(Math.max(0, skip - state.left)));
    return url.pathname + url.search;
  }

  async function loadMore() {
    if (!state.next) return;
    more.disabled = true;
    const ticket = state.loading;
    try {
      const answer = await call('GET', nextPage());
      state.left = 0;
      if (ticket !== state.loading) return;
      const firstNew = answer.data.find((item) => !state.entries.has(item.id) && !undo.isPending(item.id));
      for (const item of answer.data) if (!state.entries.has(item.id)) addEntry(item, 'end');
      state.next = answer.next;
      updateCount();
      if (firstNew) state.entries.get(firstNew.id)?.li.querySelector('input')?.focus();
    } catch (error) {
      showListError(error);
    } finally {
      more.disabled = false;
    }
  }

  function showListError(error, form) {
    list.removeAttribute('aria-busy');
    count.textContent = '';
    if (form && error instanceof ApiError && error.status === 422) {
      showError(form, error);
      return;
    }
    listError.replaceChildren(h('p', { text: `Could not load the items. ${describe(error)}` }),
      h('button', { type: 'button', text: 'Try again', onclick: load }));
    listError.hidden = false;
  }

  function updateCount() {
    const shown = [...state.entries.values()].filter((e) => !e.li.hidden).length;
    count.textContent = `${shown} ${shown === 1 ? 'item' : 'items'} shown${state.next ? ', more available' : ''}`;
    empty.hidden = shown > 0;
    empty.textContent = filters.date || filters.done ? 'No items match these filters.' : 'No items here yet.';
    more.hidden = !state.next;
  }

  function addEntry(item, where) {
    if (undo.isPending(item.id)) return;
    const li = render(item);
    state.entries.set(item.id, { item, li });
    if (where === 'start') list.prepend(li);
    else list.append(li);
  }

  /** Puts a new rendering of `item` in place; focus stays on the same kind of control. */
  function update(item, { message = '', focus = null } = {}) {
    const entry = state.entries.get(item.id);
    if (!entry) return null;
    const old = entry.li;
    const focused = old.contains(document.activeElement) ? document.activeElement.dataset.role : null;
    const li = render(item, message);
    old.replaceWith(li);
    entry.item = item;
    entry.li = li;
    const role = focus ?? focused;
    if (role) li.querySelector(`[data-role="${role}"]`)?.focus();
    return li;
  }

  function forget(id) {
    const entry = state.entries.get(id);
    if (!entry) return;
    entry.li.remove();
    state.entries.delete(id);
    updateCount();
  }

  function render(item, message = '') {
    const box = uid('done');
    const when = created(item.created_at);
    const li = h('li', { class: `item${item.done ? ' done' : ''}`, 'data-id': String(item.id) });
    const meta = [`#${item.id}`];
    if (team || item.owner_id !== me.id) meta.push(`owner: ${ownerName(item.owner_id)}`);
    li.append(
      h('div', { class: 'item-row' },
        h('input', { type: 'checkbox', id: box, checked: item.done, 'data-role': 'done', onchange: (e) => toggle(item.id, e.target.checked) }),
        h('div', { class: 'item-body' },
          h('label', { for: box, class: 'item-title' }, item.title, h('span', { class: 'vh', text: item.done ? ' (done)' : ' (open)' })),
          item.description ? h('p', { class: 'item-desc', text: item.description }) : null,
          h('p', { class: 'meta' }, `${meta.join(' · ')} · added `, h('time', { datetime: when.iso, text: when.text }))),
        h('div', { class: 'actions' },
          h('button', { type: 'button', 'data-role': 'edit', onclick: () => startEdit(item.id) }, 'Edit', h('span', { class: 'vh', text: ` “${item.title}”` })),
          h('button', { type: 'button', 'data-role': 'delete', onclick: () => remove(item.id) }, 'Delete', h('span', { class: 'vh', text: ` “${item.title}”` })))),
      h('p', { class: 'item-msg', role: 'status', text: message }));
    return li;
  }

  async function add() {
    clearErrors(addForm);
    addStatus.textContent = '';
    const ownerId = owner ? Number(owner.control.value) : me.id;
    const text = description.control.value;
    const body = { title: title.control.value, description: text.trim() === '' ? null : text };
    const signature = JSON.stringify([ownerId, body]);
    if (!addAttempt || addAttempt.signature !== signature) addAttempt = { key: newKey(), signature };
    const { key } = addAttempt;
    // Optimistic: the item shows at once, the form is ready for the next one.
    const placeholder = h('li', { class: 'item pending' },
      h('div', { class: 'item-row' }, h('div', { class: 'item-body' },
        h('span', { class: 'item-title', text: body.title }),
        h('p', { class: 'meta', text: 'Adding…' }))));
    list.prepend(placeholder);
    empty.hidden = true;
    title.control.value = '';
    description.control.value = '';
    try {
      const answer = await call('POST', `/users/${ownerId}/items`, { body, idempotencyKey: key });
      addAttempt = null;
      placeholder.remove();
      if (answer.etag) etags.set(answer.data.id, answer.etag);
      if (state.entries.has(answer.data.id)) forget(answer.data.id);
      addEntry(answer.data, 'start');
      updateCount();
      addStatus.textContent = `Added “${answer.data.title}”${ownerId === me.id ? '' : ` for ${ownerName(ownerId)}`}.`;
    } catch (error) {
      placeholder.remove();
      updateCount();
      // Roll back: the input comes back, with the API's errors next to their fields.
      if (!title.control.value && !description.control.value) {
        title.control.value = body.title;
        description.control.value = text;
      }
      const retryable = !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
      if (!retryable) addAttempt = null;
      if (error instanceof ApiError && error.status === 401) return;
      showError(addForm, error, { aliases: { user_id: 'owner' } });
      if (retryable) formError(addForm, `${describe(error)} Nothing was added; press “Add item” again to retry (it will not be added twice).`);
    }
  }

  async function toggle(id, isDone) {
    const entry = state.entries.get(id);
    if (!entry) return;
    const before = entry.item;
    update({ ...before, done: isDone }, { message: '' });
    try {
      // Only `done` is sent (no If-Match): a concurrent edit of the title is not overwritten.
      const answer = await call('PATCH', itemUrl(before), { body: { done: isDone } });
      if (answer.etag) etags.set(id, answer.etag);
      if (filters.done) state.left += String(isDone) === filters.done ? -1 : 1;
      update(answer.data);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) {
        forget(id);
        toast(`“${before.title}” no longer exists (deleted elsewhere).`, { kind: 'error' });
        return;
      }
      update(before, { message: `Not marked ${isDone ? 'done' : 'open'}: ${describe(error)} The change was undone.` });
    }
  }

  async function startEdit(id) {
    const entry = state.entries.get(id);
    if (!entry) return;
    const button = entry.li.querySelector('[data-role="edit"]');
    button.disabled = true;
    button.firstChild.textContent = 'Loading…';
    let answer;
    try {
      // The list carries no ETags: the item itself does, and its newest version.
      answer = await call('GET', itemUrl(entry.item));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) {
        forget(id);
        toast(`“${entry.item.title}” no longer exists (deleted elsewhere).`, { kind: 'error' });
        return;
      }
      update(entry.item, { message: `Cannot edit now: ${describe(error)}`, focus: 'edit' });
      return;
    }
    const changed = JSON.stringify(answer.data) !== JSON.stringify(entry.item);
    entry.item = answer.data;
    etags.set(id, answer.etag);
    openEditor(answer.data, answer.etag, {
      values: answer.data,
      message: changed ? 'This item had changed since the list was loaded: its newest version is shown.' : '',
    });
  }

  function openEditor(item, etag, { values, message = '', error = null }) {
    const entry = state.entries.get(item.id);
    const t = field('Title', 'input', { type: 'text', name: 'title', value: values.title ?? '', autocomplete: 'off' });
    const d = field('Description', 'textarea', { name: 'description', rows: '3' });
    d.control.value = values.description ?? '';
    const cancel = () => update(state.entries.get(item.id).item, { focus: 'edit' });
    const form = h('form', { class: 'edit', novalidate: true, 'aria-label': `Edit item #${item.id}`,
      onsubmit: (e) => { e.preventDefault(); save(item, etag, form); },
      onkeydown: (e) => { if (e.key === 'Escape') { e.preventDefault(); cancel(); } } },
      message ? h('p', { class: 'item-msg', role: 'status', text: message }) : null,
      t.wrap, d.wrap,
      h('div', { class: 'row' },
        h('button', { class: 'primary', text: 'Save' }),
        h('button', { type: 'button', text: 'Cancel', onclick: cancel })));
    const li = h('li', { class: `item${item.done ? ' done' : ''}`, 'data-id': String(item.id) }, form);
    entry.li.replaceWith(li);
    entry.li = li;
    if (error) showError(form, error);
    else t.control.focus();
  }

  async function save(item, etag, form) {
    const values = { title: form.elements.title.value, description: form.elements.description.value };
    // null would leave the description as it is: an emptied one is sent as "".
    const body = { title: values.title, description: values.description };
    const entry = state.entries.get(item.id);
    const before = entry.item;
    // Optimistic: the new text shows at once.
    const li = update({ ...before, ...body, description: body.description || null }, { focus: 'edit' });
    li?.classList.add('pending');
    try {
      const answer = await call('PATCH', itemUrl(before), { body, ifMatch: etag });
      if (answer.etag) etags.set(item.id, answer.etag);
      update(answer.data, { message: 'Saved.' });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 412) {
        // Someone changed it since it was opened: show theirs, keep nothing of ours silently.
        try {
          const fresh = await call('GET', itemUrl(before));
          etags.set(item.id, fresh.etag);
          update(fresh.data, {
            message: `Not saved: someone else changed this item after you opened it. Its newer version is shown; your title was “${values.title}”. Edit again to apply your change.`,
            focus: 'edit',
          });
        } catch (again) {
          if (again instanceof ApiError && again.status === 404) {
            forget(item.id);
            toast(`Not saved: “${before.title}” was deleted by someone else.`, { kind: 'error' });
          } else {
            update(before, { message: `Not saved: the item changed meanwhile, and reloading it failed: ${describe(again)}`, focus: 'edit' });
          }
        }
        return;
      }
      if (error instanceof ApiError && error.status === 404) {
        forget(item.id);
        toast(`Not saved: “${before.title}” was deleted by someone else.`, { kind: 'error' });
        return;
      }
      // Roll back and reopen the editor with the person's text and the reason.
      update(before);
      openEditor(before, etag, { values, error });
    }
  }

  function remove(id) {
    const entry = state.entries.get(id);
    if (!entry) return;
    entry.li.hidden = true;
    updateCount();
    undo.schedule(entry.item, {
      restored: () => {
        const current = state.entries.get(id);
        if (current && current.li.isConnected) {
          current.li.hidden = false;
          updateCount();
          current.li.querySelector('[data-role="delete"]')?.focus();
        } else {
          ctx.refresh();
        }
      },
      deleted: () => {
        state.left += 1;
        forget(id);
      },
      failed: (error) => {
        if (error instanceof ApiError && error.status === 401) return;
        const current = state.entries.get(id);
        if (current && current.li.isConnected) {
          current.li.hidden = false;
          update(current.item, { message: `Not deleted: ${describe(error)}` });
          updateCount();
        } else {
          toast(`“${entry.item.title}” was not deleted: ${describe(error)}`, { kind: 'error' });
        }
      },
    });
  }
}
