// When the API says no: a wrong token, a revoked one, a stale edit from a second browser, a
// busy server, refused input, a reload during the undo window, sign-up closed, AUTHZ=strict.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { axe, described, item, launch, makeUser, open, pasteToken, startServer, titles } from './lib.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launch()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a wrong token gets a clear message next to the field', async () => {
  const { context, page, clean } = await open(browser, server.origin);
  await page.goto(`${server.origin}/`);
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.match(await described(page.getByLabel('API token', { exact: true })), /Paste your API token first/);
  await page.getByLabel('API token', { exact: true }).fill('tdo_not_a_real_token');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('The server did not accept this token').waitFor();
  assert.match(await described(page.getByLabel('API token', { exact: true })), /did not accept this token/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('todo.token')), null);
  await axe(page, 'wrong token');
  clean();
  await context.close();
});

test('a token revoked meanwhile (401) goes back to the token screen', async () => {
  const user = await makeUser(server, 'rotated@example.com');
  const { context, page, clean } = await open(browser, server.origin);
  await pasteToken(page, server.origin, user.token);
  const rotated = await server.api('POST', `/users/${user.id}/token`, { token: user.token, body: { password: user.password } });
  assert.equal(rotated.status, 200);
  await page.getByLabel('Title', { exact: true }).fill('Too late');
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in to the ToDo board' }).waitFor();
  await page.getByText('The server no longer accepts your token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('todo.token')), null);
  await axe(page, 'token revoked');
  clean();
  await context.close();
});

test('a stale edit from a second browser context shows the newer version', async () => {
  const user = await makeUser(server, 'stale@example.com');
  await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: 'Original title', description: 'v1' } });
  const one = await open(browser, server.origin);
  const two = await open(browser, server.origin);
  await pasteToken(one.page, server.origin, user.token);
  await pasteToken(two.page, server.origin, user.token);
  // The first opens the editor (and so gets the ETag) ...
  await item(one.page, 'Original title').getByRole('button', { name: /^Edit/ }).click();
  const editor = one.page.getByRole('form', { name: /^Edit item/ });
  await editor.getByLabel('Title').fill('Title from the first');
  // ... the second edits and saves meanwhile ...
  await item(two.page, 'Original title').getByRole('button', { name: /^Edit/ }).click();
  const other = two.page.getByRole('form', { name: /^Edit item/ });
  await other.getByLabel('Title').fill('Title from the second');
  await other.getByLabel('Description').fill('v2');
  await other.getByRole('button', { name: 'Save' }).click();
  await item(two.page, 'Title from the second').getByText('Saved.').waitFor();
  // ... so the first's save is refused (412) and the newer version is shown.
  const refused = one.page.waitForResponse((r) => r.request().method() === 'PATCH');
  await editor.getByRole('button', { name: 'Save' }).click();
  assert.equal((await refused).status(), 412);
  const newer = item(one.page, 'Title from the second');
  await newer.getByText(/^Not saved: someone else changed this item/).waitFor();
  await newer.getByText('v2').waitFor();
  assert.deepEqual(await titles(one.page), ['Title from the second']);
  await axe(one.page, 'stale edit refused');
  // Editing again works, with the new ETag.
  await newer.getByRole('button', { name: /^Edit/ }).click();
  await editor.getByLabel('Title').fill('Title from the first');
  await editor.getByRole('button', { name: 'Save' }).click();
  await item(one.page, 'Title from the first').getByText('Saved.').waitFor();
  one.clean();
  two.clean();
  await one.context.close();
  await two.context.close();
});

test('refused input (422) is shown next to its field and the item rolls back', async () => {
  const user = await makeUser(server, 'invalid@example.com');
  await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: 'Keep me' } });
  const { context, page, clean } = await open(browser, server.origin);
  await pasteToken(page, server.origin, user.token);
  // Add with an empty title.
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.locator('.field-error').first().waitFor();
  assert.match(await described(page.getByLabel('Title', { exact: true })), /at least 1 character/);
  assert.deepEqual(await titles(page), ['Keep me']);
  // Edit with a title that is too long.
  await item(page, 'Keep me').getByRole('button', { name: /^Edit/ }).click();
  const editor = page.getByRole('form', { name: /^Edit item/ });
  await editor.getByLabel('Title').fill('x'.repeat(201));
  await editor.getByRole('button', { name: 'Save' }).click();
  await editor.locator('.field-error').waitFor();
  assert.match(await described(editor.getByLabel('Title')), /at most 200 characters/);
  assert.equal(await editor.getByLabel('Title').inputValue(), 'x'.repeat(201), 'the input is kept');
  await axe(page, 'edit refused');
  await editor.getByRole('button', { name: 'Cancel' }).click();
  assert.deepEqual(await titles(page), ['Keep me']);
  clean();
  await context.close();
});

test('a busy server (503, 429 with Retry-After) is said and retried with the same Idempotency-Key', async () => {
  const user = await makeUser(server, 'busy@example.com');
  const { context, page, seen, clean } = await open(browser, server.origin);
  await pasteToken(page, server.origin, user.token);
  let refusals = 0;
  await page.route('**/users/*/items', async (route) => {
    if (route.request().method() === 'POST' && refusals < 2) {
      refusals += 1;
      await route.fulfill({
        status: refusals === 1 ? 503 : 429,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '1' },
        body: JSON.stringify({ detail: refusals === 1 ? 'Service Unavailable' : 'Too Many Requests' }),
      });
      return;
    }
    await route.fallback();
  });
  await page.getByLabel('Title', { exact: true }).fill('Retried once');
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.getByText('The server is busy (HTTP 503). Retrying in 1 s…').waitFor();
  await page.getByText('Added “Retried once”.').waitFor({ timeout: 15_000 });
  const keys = seen.requests.filter((r) => r.method() === 'POST' && /\/items$/.test(r.url())).map((r) => r.headers()['idempotency-key']);
  assert.equal(keys.length, 3);
  assert.equal(new Set(keys).size, 1, 'the retries reuse the key');
  const stored = await server.api('GET', `/users/${user.id}/items`, { token: user.token });
  assert.deepEqual(stored.json.map((i) => i.title), ['Retried once']);
  // A toggle the server keeps refusing rolls back, with a message.
  await page.route('**/users/*/items/*', (route) => (route.request().method() === 'PATCH'
    ? route.fulfill({ status: 503, headers: { 'Content-Type': 'application/json', 'Retry-After': '1' }, body: '{"detail":"Service Unavailable"}' })
    : route.fallback()));
  await item(page, 'Retried once').getByRole('checkbox').check();
  await item(page, 'Retried once').getByText(/^Not marked done: The server is busy/).waitFor({ timeout: 20_000 });
  assert.ok(!(await item(page, 'Retried once').getByRole('checkbox').isChecked()), 'rolled back');
  clean();
  await context.close();
});

test('an add whose answer was lost, added again, creates one item (Idempotency-Key)', async () => {
  const user = await makeUser(server, 'lost@example.com');
  const { context, page, seen, clean } = await open(browser, server.origin);
  await pasteToken(page, server.origin, user.token);
  let lost = false;
  await page.route('**/users/*/items', async (route) => {
    if (route.request().method() === 'POST' && !lost) {
      lost = true;
      await route.fetch(); // the server gets it and creates the item ...
      await route.abort('connectionreset'); // ... but the answer never reaches the page
      return;
    }
    await route.fallback();
  });
  await page.getByLabel('Title', { exact: true }).fill('Only once');
  await page.getByLabel('Description (optional)').fill('even if sent twice');
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.getByText(/Cannot reach the server.*press “Add item” again to retry/).waitFor();
  assert.deepEqual(await titles(page), [], 'rolled back');
  assert.equal(await page.getByLabel('Title', { exact: true }).inputValue(), 'Only once', 'the input is back');
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.getByText('Added “Only once”.').waitFor();
  const keys = seen.requests.filter((r) => r.method() === 'POST' && /\/items$/.test(r.url())).map((r) => r.headers()['idempotency-key']);
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1], 'the retry reuses the key');
  const stored = await server.api('GET', `/users/${user.id}/items`, { token: user.token });
  assert.deepEqual(stored.json.map((i) => i.title), ['Only once'], 'one item on the server');
  assert.deepEqual(await titles(page), ['Only once']);
  clean();
  await context.close();
});

test('leaving the page during the undo window still deletes the item', async () => {
  const user = await makeUser(server, 'leaver@example.com');
  for (const title of ['Stays', 'Goes']) {
    await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title } });
  }
  const { context, page, clean } = await open(browser, server.origin);
  await pasteToken(page, server.origin, user.token);
  await item(page, 'Goes').getByRole('button', { name: /^Delete/ }).click();
  await page.getByRole('button', { name: 'Undo deleting “Goes”' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();
  assert.deepEqual(await titles(page), ['Stays']);
  const stored = await server.api('GET', `/users/${user.id}/items`, { token: user.token });
  assert.deepEqual(stored.json.map((i) => i.title), ['Stays']);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('todo.pendingDeletes')), null);
  clean();
  await context.close();
});

test('sign-up closed (SIGNUP=false) says to ask an admin', async () => {
  const closed = await startServer({ SIGNUP: 'false' });
  try {
    const { context, page, clean } = await open(browser, closed.origin);
    await page.goto(`${closed.origin}/`);
    await page.getByLabel('Email').fill('newcomer@example.com');
    await page.getByLabel('Password').fill('long-enough-password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText(/^Sign-up is closed on this server\. Ask an admin/).waitFor();
    await axe(page, 'sign-up closed');
    clean();
    await context.close();
  } finally {
    await closed.stop();
  }
});

test('AUTHZ=strict: my items only, with a message, in the team and users views', async () => {
  const strict = await startServer({ AUTHZ: 'strict' });
  try {
    const first = await makeUser(strict, 'first@example.com');
    const me = await makeUser(strict, 'me@example.com');
    await strict.api('POST', `/users/${first.id}/items`, { token: first.token, body: { title: 'Not mine' } });
    await strict.api('POST', `/users/${me.id}/items`, { token: me.token, body: { title: 'Mine' } });
    const { context, page, clean } = await open(browser, strict.origin);
    await pasteToken(page, strict.origin, me.token);
    await page.getByRole('link', { name: "Team's items" }).click();
    await page.getByText("This server lets only admins see the team's items. Showing your own items.").waitFor();
    assert.deepEqual(await titles(page), ['Mine']);
    await axe(page, "team's items, strict");
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByText('This server lets only admins list the users. Showing your own account.').waitFor();
    await page.getByRole('heading', { name: /^me@example\.com/ }).waitFor();
    await axe(page, 'users, strict');
    clean();
    await context.close();
  } finally {
    await strict.stop();
  }
});
