// The main flow in a desktop-sized window, the headers the page is served with, and the size
// of the first load.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { artifact, axe, CSP, described, item, launch, makeUser, open, startServer, titles } from './lib.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launch()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A GET with exactly these request headers (Node's fetch would add and undo gzip). */
function raw(path, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(`${server.origin}${path}`, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the page and its assets: CSP, caching, gzip, hashed names, 404 JSON', async () => {
  const plain = await raw('/', { 'Accept-Encoding': 'identity' });
  assert.equal(plain.status, 200);
  assert.match(plain.headers['content-type'], /^text\/html/);
  assert.equal(plain.headers['content-security-policy'], CSP);
  assert.equal(plain.headers['cache-control'], 'no-cache');
  assert.ok(plain.headers.etag, 'an ETag on /');
  assert.equal(plain.headers['content-encoding'], undefined);
  const again = await raw('/', { 'If-None-Match': plain.headers.etag });
  assert.equal(again.status, 304, 'revalidated');
  assert.equal(again.body.length, 0);
  const html = plain.body.toString('utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /\sstyle=/, 'no inline style');

  const gz = await raw('/', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(gz.headers.vary ?? '', /accept-encoding/i);
  assert.equal(zlib.gunzipSync(gz.body).toString('utf8'), html);

  const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 3, 'the page loads its assets from /assets/');
  for (const asset of new Set(assets)) {
    assert.match(asset, /^\/assets\/[a-z0-9_-]+\.[0-9a-f]{10}\.(js|css|svg)$/, 'content-hashed name');
    const a = await raw(asset, { 'Accept-Encoding': 'gzip' });
    assert.equal(a.status, 200, asset);
    assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable', asset);
    assert.equal(a.headers['content-security-policy'], CSP, asset);
    if (!asset.endsWith('.svg') || a.headers['content-encoding']) assert.equal(a.headers['content-encoding'], 'gzip', asset);
  }
  const missing = await raw('/assets/nothing.0123456789.js');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body.toString('utf8')), { detail: 'Not Found' });
});

test('main flow: sign up, add, complete, edit, delete and undo, filter, reload, users', async () => {
  const { context, page, seen, clean } = await open(browser, server.origin);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  const origin = server.origin;
  await page.goto(`${origin}/`);
  await page.getByRole('heading', { name: 'Sign in to the ToDo board' }).waitFor();
  await axe(page, 'token screen');

  // The API's 422 problems land next to their fields.
  await page.getByLabel('Email').fill('not-an-address');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('#' + (await page.getByLabel('Email').getAttribute('id')) + '-error').waitFor();
  assert.match(await described(page.getByLabel('Email')), /email/i);
  assert.match(await described(page.getByLabel('Password')), /at least 8 characters/i);
  assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  await axe(page, 'sign-up errors');

  // Sign up: the token is shown once, with a copy button.
  await page.getByLabel('Email').fill('deadpool@example.com');
  await page.getByLabel('Password').fill('chimichangas4life');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Account created' }).waitFor();
  const token = await page.getByLabel('Your API token', { exact: true }).inputValue();
  assert.match(token, /^tdo_/);
  await page.getByRole('button', { name: 'Copy token' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  await axe(page, 'token shown once');
  const signUp = seen.requests.find((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/users' && r.headers()['idempotency-key']);
  assert.ok(signUp, 'sign-up sends an Idempotency-Key');
  assert.equal(await page.evaluate(() => document.cookie), '');
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('todo.token')), token);
  await page.getByRole('button', { name: 'Continue to my items' }).click();
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();
  assert.ok(!page.url().includes(token));
  await page.getByText('No items here yet.').waitFor();

  // Add three items (each with its own Idempotency-Key).
  for (const [title, description] of [['Buy milk', '2 litres'], ['Write the report', ''], ['Call mom', 'Sunday']]) {
    await page.getByLabel('Title', { exact: true }).fill(title);
    await page.getByLabel('Description (optional)').fill(description);
    await page.getByRole('button', { name: 'Add item' }).click();
    await page.getByText(`Added “${title}”.`).waitFor();
  }
  assert.deepEqual(await titles(page), ['Call mom', 'Write the report', 'Buy milk']);
  const keys = seen.requests.filter((r) => r.method() === 'POST' && /\/items$/.test(r.url())).map((r) => r.headers()['idempotency-key']);
  assert.equal(keys.length, 3);
  assert.equal(new Set(keys).size, 3, 'a fresh key per add');
  await axe(page, 'my items');

  // Complete one.
  await item(page, 'Buy milk').getByRole('checkbox').check();
  await item(page, 'Buy milk').and(page.locator('.done')).waitFor();

  // Edit one inline: fetched first for its ETag, sent back in If-Match.
  await item(page, 'Write the report').getByRole('button', { name: /^Edit/ }).click();
  const editor = page.getByRole('form', { name: /^Edit item/ });
  await editor.getByLabel('Title').fill('Write the annual report');
  await editor.getByLabel('Description').fill('Due Friday');
  await axe(page, 'inline editor');
  await editor.getByRole('button', { name: 'Save' }).click();
  await item(page, 'Write the annual report').getByText('Saved.').waitFor();
  const patch = seen.requests.find((r) => r.method() === 'PATCH' && r.postDataJSON()?.title === 'Write the annual report');
  assert.match(patch.headers()['if-match'] ?? '', /^W\/"\d+-\d+"$/);

  // Delete one and undo: no DELETE is sent.
  const deletes = () => seen.requests.filter((r) => r.method() === 'DELETE').length;
  await item(page, 'Call mom').getByRole('button', { name: /^Delete/ }).click();
  await page.getByRole('button', { name: 'Undo deleting “Call mom”' }).waitFor();
  assert.deepEqual(await titles(page), ['Write the annual report', 'Buy milk']);
  await axe(page, 'undo offered');
  await page.getByRole('button', { name: 'Undo deleting “Call mom”' }).click();
  await page.getByText('Restored “Call mom”.').waitFor();
  assert.deepEqual(await titles(page), ['Call mom', 'Write the annual report', 'Buy milk']);
  assert.equal(deletes(), 0);
  // Delete it for real: the DELETE goes once the window has passed.
  await item(page, 'Call mom').getByRole('button', { name: /^Delete/ }).click();
  const sent = await page.waitForRequest((r) => r.method() === 'DELETE', { timeout: 10_000 });
  assert.match(new URL(sent.url()).pathname, /^\/users\/\d+\/items\/\d+$/);
  await page.waitForResponse((r) => r.request() === sent);
  assert.deepEqual(await titles(page), ['Write the annual report', 'Buy milk']);

  // Filters: done, and today's date in JST.
  await page.getByLabel('Status').selectOption('true');
  await page.waitForFunction(() => location.hash.includes('done=true'));
  assert.deepEqual(await titles(page), ['Buy milk']);
  await page.getByLabel('Status').selectOption('false');
  assert.deepEqual(await titles(page), ['Write the annual report']);
  await page.getByLabel('Status').selectOption('');
  await page.getByRole('button', { name: 'Today' }).click();
  await page.waitForFunction(() => location.hash.includes('date='));
  assert.deepEqual(await titles(page), ['Write the annual report', 'Buy milk']);
  const today = await page.getByLabel('Day (JST)').inputValue();
  const jst = new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
  assert.equal(today, jst);
  assert.ok(seen.requests.some((r) => r.url().includes(`date=${jst.replaceAll('-', '')}`)));
  await page.getByLabel('Day (JST)').fill('2001-01-01');
  await page.getByText('No items match these filters.').waitFor();
  await axe(page, 'filtered, empty');
  await page.getByRole('button', { name: 'Any day' }).click();
  assert.deepEqual(await titles(page), ['Write the annual report', 'Buy milk']);

  // Reload: the same state (the token stays in this tab).
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();
  assert.deepEqual(await titles(page), ['Write the annual report', 'Buy milk']);
  assert.ok(await item(page, 'Buy milk').getByRole('checkbox').isChecked());
  assert.ok(!(await item(page, 'Write the annual report').getByRole('checkbox').isChecked()));
  await item(page, 'Write the annual report').getByText('Due Friday').waitFor();

  // The team's items, with a second user's.
  const wade = await makeUser(server, 'wade@example.com');
  await server.api('POST', `/users/${wade.id}/items`, { token: wade.token, body: { title: 'Fix the car', description: null } });
  await server.api('POST', `/users/${wade.id}/items`, { token: wade.token, body: { title: 'Feed the cat', description: null } });
  await page.getByRole('link', { name: "Team's items" }).click();
  await page.getByRole('heading', { level: 1, name: "Team's items" }).waitFor();
  assert.deepEqual(await titles(page), ['Feed the cat', 'Fix the car', 'Write the annual report', 'Buy milk']);
  await item(page, 'Feed the cat').getByText('owner: wade@example.com').waitFor();
  await axe(page, "team's items");

  // The users view: who owns what; deleting wade names who receives its items.
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await page.getByText('2 active users').waitFor();
  const wadeCard = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'wade@example.com' }) });
  await wadeCard.getByText('2 items: 2 open, 0 done').waitFor();
  await axe(page, 'users');
  await wadeCard.getByRole('button', { name: 'Delete user wade@example.com' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete user wade@example.com?' });
  await dialog.getByText('Its 2 items go to deadpool@example.com (#1)').waitFor();
  await axe(page, 'delete-user confirmation');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await server.api('GET', `/users/${wade.id}`, { token })).status, 200);
  await wadeCard.getByRole('button', { name: 'Delete user wade@example.com' }).click();
  await dialog.getByRole('button', { name: 'Delete wade@example.com' }).click();
  await page.getByText('Deleted wade@example.com; its items now belong to deadpool@example.com.').waitFor();
  await page.getByText('1 active user').waitFor();
  assert.equal((await server.api('GET', `/users/${wade.id}`, { token })).status, 404);

  // My items now include wade's; the screenshot of the main screen.
  await page.getByRole('link', { name: 'My items' }).click();
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();
  assert.deepEqual(await titles(page), ['Feed the cat', 'Fix the car', 'Write the annual report', 'Buy milk']);
  await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  await page.mouse.move(0, 0);
  await page.screenshot({ path: artifact('main.png'), fullPage: true });
  clean();
  await context.close();
});

/** Bytes on the wire (headers and encoded bodies) of one cold load of `url`. */
async function transferred(context, page, url, ready) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  const files = [];
  const urls = new Map();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    files.push(`${urls.get(e.requestId)} ${e.encodedDataLength}`);
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  await ready();
  await cdp.detach();
  return { bytes, files };
}

test('first load of / is under 100 KB on the wire', async () => {
  const { context, page, clean } = await open(browser, server.origin);
  const cold = await transferred(context, page, `${server.origin}/`, () => page.getByRole('heading', { name: 'Sign in to the ToDo board' }).waitFor());
  console.log(`first load (token screen): ${cold.bytes} bytes in ${cold.files.length} responses`);
  assert.ok(cold.bytes < 100 * 1024, `${cold.bytes} bytes:\n${cold.files.join('\n')}`);
  // Signed in, with a few items: the page plus /me and the first page of items.
  const user = await makeUser(server, 'size@example.com');
  for (let i = 1; i <= 5; i += 1) {
    await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: `Item ${i}`, description: 'x'.repeat(200) } });
  }
  await page.evaluate((token) => sessionStorage.setItem('todo.token', token), user.token);
  await page.goto('about:blank');
  const signedIn = await transferred(context, page, `${server.origin}/#/mine`, () => page.getByText('5 items shown').waitFor());
  console.log(`first load (my items): ${signedIn.bytes} bytes in ${signedIn.files.length} responses`);
  assert.ok(signedIn.bytes < 100 * 1024, `${signedIn.bytes} bytes:\n${signedIn.files.join('\n')}`);
  clean();
  await context.close();
});

test('paging: "Load more" follows the Link header', async () => {
  const user = await makeUser(server, 'pager@example.com');
  for (let i = 1; i <= 23; i += 1) {
    await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: `Task ${String(i).padStart(2, '0')}` } });
  }
  const { context, page, seen, clean } = await open(browser, server.origin);
  await page.goto(`${server.origin}/`);
  await page.getByLabel('API token', { exact: true }).fill(user.token);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('20 items shown, more available').waitFor();
  assert.equal((await titles(page)).length, 20);
  // A delete on the first page shifts the rest up by one: the next page starts one earlier.
  await item(page, 'Task 23').getByRole('button', { name: /^Delete/ }).click();
  const gone = await page.waitForRequest((r) => r.method() === 'DELETE', { timeout: 10_000 });
  await page.waitForResponse((r) => r.request() === gone);
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.getByText('22 items shown').waitFor();
  const list = await titles(page);
  assert.equal(list.length, 22);
  assert.equal(new Set(list).size, 22);
  assert.equal(list[0], 'Task 22');
  assert.equal(list[21], 'Task 01');
  assert.ok(await page.getByRole('button', { name: 'Load more' }).isHidden());
  assert.ok(seen.requests.some((r) => /skip=19&limit=20/.test(r.url())), 'the next page is the Link target, one earlier');
  clean();
  await context.close();
});
