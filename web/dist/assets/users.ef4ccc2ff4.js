// The users view: who owns what, and deleting a user (its items go to the active user with
// the smallest id other than it, which the confirmation names).

import { ApiError, call, describe, query } from './api.0e42747cb6.js';
import { confirmDialog, h, toast } from './dom.02ddd9605a.js';

const PAGE_SIZE = 100;

/** ctx: {me, signOut(message), usersChanged()} */
export function usersView(ctx) {
  const me = ctx.me;
  const state = { users: [], next: null, restricted: false };
  const heading = h('h1', { tabindex: '-1', text: 'Users' });
  const intro = h('p', { text: 'Who owns what. Deleting a user deactivates it and hands all its items to the active user with the smallest id other than it.' });
  const notice = h('p', { class: 'notice', role: 'status', hidden: true });
  const count = h('p', { class: 'hint', role: 'status' });
  const list = h('ul', { class: 'users', 'aria-label': 'Active users' });
  const listError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'more', hidden: true, text: 'Load more users', onclick: () => load(state.next) });
  const root = h('div', {}, heading, intro, notice, count, listError, list, more);
  load(null);
  return root;

  async function load(next) {
    listError.hidden = true;
    count.textContent = 'Loading…';
    let answer;
    try {
      answer = await call('GET', next ?? query('/users', { limit: PAGE_SIZE }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && !next) {
        // AUTHZ=strict: a non-admin sees only itself.
        state.restricted = true;
        notice.textContent = 'This server lets only admins list the users. Showing your own account.';
        notice.hidden = false;
        try {
          answer = { data: [(await call('GET', '/me')).data], next: null };
        } catch (again) {
          return fail(again);
        }
      } else {
        return fail(error);
      }
    }
    if (!next) {
      state.users = [];
      list.replaceChildren();
    }
    const known = new Set(state.users.map((u) => u.id));
    for (const user of answer.data) {
      if (known.has(user.id)) continue;
      state.users.push(user);
      list.append(render(user));
    }
    state.next = answer.next;
    more.hidden = !state.next;
    count.textContent = `${state.users.length} active ${state.users.length === 1 ? 'user' : 'users'}${state.next ? ' shown, more available' : ''}`;
  }

  function fail(error) {
    count.textContent = '';
    listError.replaceChildren(h('p', { text: `Could not load the users. ${describe(error)}` }),
      h('button', { type: 'button', text: 'Try again', onclick: () => load(null) }));
    listError.hidden = false;
  }

  function render(user) {
    const items = user.items ?? [];
    const open = items.filter((i) => !i.done).length;
    const isMe = user.id === me.id;
    const headingId = `user-${user.id}`;
    return h('li', { class: 'user', 'aria-labelledby': headingId },
      h('div', { class: 'user-head' },
        h('div', {},
          h('h2', { id: headingId }, user.email, isMe ? h('span', { class: 'badge', text: 'you' }) : null),
          h('p', { class: 'meta', text: `#${user.id} · ${items.length} ${items.length === 1 ? 'item' : 'items'}: ${open} open, ${items.length - open} done` })),
        h('button', { type: 'button', class: 'danger', onclick: () => remove(user) },
          'Delete user', h('span', { class: 'vh', text: ` ${user.email}` }))),
      items.length
        ? h('details', {},
          h('summary', {}, `Items of ${user.email}`),
          h('ul', {}, items.map((i) => h('li', { class: i.done ? 'done' : '' }, `#${i.id} ${i.title}`, i.done ? h('span', { class: 'vh', text: ' (done)' }) : null))))
        : null);
  }

  /** The server's rule: the active user with the smallest id other than `user`. */
  function heir(user) {
    return state.users.filter((u) => u.id !== user.id).sort((a, b) => a.id - b.id)[0] ?? null;
  }

  async function remove(user) {
    const items = user.items?.length ?? 0;
    const to = heir(user);
    if (!to && !state.restricted) {
      toast(`${user.email} is the last active user: the server refuses to delete it.`, { kind: 'error' });
      return;
    }
    const body = [];
    if (items === 0) body.push(`${user.email} owns no items.`);
    else if (to) body.push(`Its ${items} ${items === 1 ? 'item goes' : 'items go'} to ${to.email} (#${to.id}), the active user with the smallest id.`);
    else body.push(`Its ${items} ${items === 1 ? 'item goes' : 'items go'} to the active user with the smallest id other than it.`);
    body.push('Its token stops working at once. This page cannot undo it.');
    if (user.id === me.id) body.push('This is your own account: you will be signed out.');
    const ok = await confirmDialog({
      title: `Delete user ${user.email}?`,
      body,
      confirmLabel: `Delete ${user.email}`,
    });
    if (!ok) return;
    try {
      await call('DELETE', `/users/${user.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 409) {
        toast(`${user.email} is the last active user: the server refuses to delete it.`, { kind: 'error' });
      } else if (error instanceof ApiError && error.status === 404) {
        toast(`${user.email} was already deleted.`, { kind: 'error' });
        ctx.usersChanged();
        load(null);
      } else {
        toast(`${user.email} was not deleted: ${describe(error)}`, { kind: 'error' });
      }
      return;
    }
    ctx.usersChanged();
    if (user.id === me.id) {
      ctx.signOut('Your account was deleted.');
      return;
    }
    toast(`Deleted ${user.email}${items && to ? `; its items now belong to ${to.email}` : ''}.`);
    await load(null);
    heading.focus();
  }
}
