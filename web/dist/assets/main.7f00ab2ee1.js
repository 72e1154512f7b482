// The ToDo board: start, routing (#/mine, #/team, #/users, filters after a "?"), sign-in state.

import { ApiError, call, configure, describe, query, session } from './api.0e42747cb6.js';
import { authView } from './auth.12bac2404a.js';
import { h, toast } from './dom.02ddd9605a.js';
import { itemsView } from './items.4e156fbdf0.js';
import * as undo from './undo.4d1cb06bcd.js';
import { usersView } from './users.ef4ccc2ff4.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const VIEWS = { mine: 'My items', team: "Team's items", users: 'Users' };

let me = null;
let usersPromise = null;

function route() {
  const m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(location.hash);
  const view = m && VIEWS[m[1]] ? m[1] : 'mine';
  return { view, params: new URLSearchParams(m?.[2] ?? '') };
}

function setParams(params) {
  const q = params.toString();
  history.replaceState(null, '', `#/${route().view}${q ? `?${q}` : ''}`);
}

/** Everyone's users by id (for owner names and "assign to"); null when not allowed. */
function users() {
  usersPromise ??= call('GET', query('/users', { limit: 1000 })).then(
    (answer) => new Map(answer.data.map((u) => [u.id, u])),
    () => null,
  );
  return usersPromise;
}

const ctx = {
  get me() {
    return me;
  },
  get params() {
    return route().params;
  },
  setParams,
  users,
  usersChanged() {
    usersPromise = null;
  },
  refresh() {
    render(false);
  },
  signedIn(user) {
    me = user;
    usersPromise = null;
    if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/mine');
    render(true);
  },
  async signOut(message) {
    await undo.commitAll();
    leave(message);
  },
};

/** Back to the token screen. */
function leave(message) {
  session.clear();
  me = null;
  usersPromise = null;
  nav.hidden = true;
  who.replaceChildren();
  document.title = 'Sign in · ToDo board';
  main.replaceChildren(authView(ctx, message));
  main.querySelector('h1')?.focus();
}

function render(moveFocus) {
  if (!me) {
    leave();
    return;
  }
  const { view } = route();
  nav.hidden = false;
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  who.replaceChildren(
    h('span', {}, 'Signed in as ', h('strong', { text: me.email }), ` (#${me.id})`),
    h('button', { type: 'button', text: 'Sign out', onclick: () => ctx.signOut('You signed out. Paste a token or sign up to come back.') }),
  );
  document.title = `${VIEWS[view]} · ToDo board`;
  main.replaceChildren(view === 'users' ? usersView(ctx) : itemsView(ctx, view));
  if (moveFocus) main.querySelector('h1')?.focus();
}

async function start() {
  configure({
    unauthorized: () => {
      if (me) leave('The server no longer accepts your token (it was rotated, or its user deleted). Paste a valid token or sign up.');
    },
    busy: ({ status, seconds }) => {
      toast(`The server is busy (HTTP ${status}). Retrying in ${seconds} s…`, { timeout: (seconds + 1) * 1000 });
    },
  });
  addEventListener('pagehide', () => undo.flushOnPagehide());
  addEventListener('hashchange', () => { if (me) render(true); });
  if (!session.token) {
    leave();
    return;
  }
  main.replaceChildren(h('h1', { text: 'ToDo board' }), h('p', { role: 'status', text: 'Loading…' }));
  await undo.flushStored();
  try {
    me = (await call('GET', '/me', { probe: true })).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      leave('The server no longer accepts the token this tab had (it was rotated, or its user deleted). Paste a valid token or sign up.');
      return;
    }
    main.replaceChildren(h('h1', { text: 'ToDo board' }),
      h('div', { class: 'form-error', role: 'alert' },
        h('p', { text: `Could not start. ${describe(error)}` }),
        h('button', { type: 'button', text: 'Try again', onclick: () => location.reload() })));
    return;
  }
  render(false);
}

start();
