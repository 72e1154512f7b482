// Delete with undo. The API has no undelete, so a delete is only sent once its undo window
// has passed. Leaving the page (reload, close, navigate away) during the window ends the
// window: the pending deletes are sent at once with `fetch(..., {keepalive: true})`, which
// outlives the page. They are also kept in sessionStorage until confirmed, and the next load
// of the page in this tab sends any that are still listed (a 404 then means done), so a
// delete the person asked for is never silently lost.

import { ApiError, call } from './api.js';
import { toast } from './dom.js';

export const WINDOW_MS = 5000;
const KEY = 'todo.pendingDeletes';

/** item id -> {item, timer, note, hooks} */
const pending = new Map();

function stored() {
  try {
    const list = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function store(list) {
  try {
    if (list.length) sessionStorage.setItem(KEY, JSON.stringify(list));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage full or disabled: the keepalive on pagehide still sends the deletes.
  }
}

const storedWithout = (id) => stored().filter((entry) => entry.id !== id);

const urlOf = (entry) => `/users/${entry.owner_id}/items/${entry.id}`;

export function isPending(id) {
  return pending.has(id);
}

/**
 * Hides nothing itself: the caller hides the item, then this shows the undo message and
 * sends the DELETE when the window has passed. hooks: restored(), deleted(), failed(error).
 */
export function schedule(item, hooks) {
  const entry = { id: item.id, owner_id: item.owner_id, title: item.title };
  store([...storedWithout(item.id), entry]);
  const seconds = Math.round(WINDOW_MS / 1000);
  const note = toast(`Deleted “${item.title}”. You can undo for ${seconds} s.`, {
    action: { label: 'Undo', run: () => restore(item.id) },
    timeout: 0,
  });
  note.el.querySelector('button:not([aria-label])')?.setAttribute('aria-label', `Undo deleting “${item.title}”`);
  const timer = setTimeout(() => commit(item.id), WINDOW_MS);
  pending.set(item.id, { entry, timer, note, hooks });
  note.el.querySelector('button')?.focus();
}

export function restore(id) {
  const p = pending.get(id);
  if (!p) return;
  clearTimeout(p.timer);
  pending.delete(id);
  store(storedWithout(id));
  p.note.close();
  toast(`Restored “${p.entry.title}”.`, { timeout: 4000 });
  p.hooks.restored();
}

async function commit(id) {
  const p = pending.get(id);
  if (!p) return;
  pending.delete(id);
  p.note.close();
  try {
    await call('DELETE', urlOf(p.entry));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      store(storedWithout(id));
      p.hooks.failed(error);
      return;
    }
  }
  store(storedWithout(id));
  p.hooks.deleted();
}

/** Now, not after the window (signing out). */
export async function commitAll() {
  await Promise.all([...pending.keys()].map((id) => {
    clearTimeout(pending.get(id).timer);
    return commit(id);
  }));
}

/** pagehide: the window ends with the page; keepalive requests outlive it. */
export function flushOnPagehide() {
  for (const [id, p] of pending) {
    clearTimeout(p.timer);
    call('DELETE', urlOf(p.entry), { keepalive: true, retries: 0 })
      .then(() => store(storedWithout(id)), () => {});
    p.note.close();
    p.hooks.deleted();
  }
  pending.clear();
}

/** At start: sends the deletes an earlier page of this tab left unconfirmed. */
export async function flushStored() {
  const list = stored();
  await Promise.all(list.map(async (entry) => {
    try {
      await call('DELETE', urlOf(entry), { probe: true, retries: 1 });
    } catch {
      // 404: the keepalive got there first. Anything else: the person sees the item again.
    }
  }));
  store([]);
}
