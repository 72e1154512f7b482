// At 375 px wide, with the keyboard only (no clicks): the main flow, with visible focus at
// every stop, no horizontal scrolling, and zero axe-core violations; and dark mode.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, item, launch, makeUser, open, pasteToken, startServer, titles } from './lib.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launch()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PHONE = { width: 375, height: 740 };

/** Tab (or Shift+Tab) until `target` has the focus; every stop must show a focus ring. */
async function tabTo(page, target, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i += 1) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return 'body';
      const style = getComputedStyle(el);
      return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 ? 'ok' : `${el.tagName} ${el.className} outline ${style.outlineStyle} ${style.outlineWidth}`;
    });
    assert.ok(ring === 'ok' || ring === 'body', `focus is not visible on ${ring}`);
  }
  assert.fail(`could not reach ${target} with the keyboard`);
}

async function fits(page, screen) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${screen}: the page is ${width} px wide at ${PHONE.width} px`);
}

test('keyboard only, at 375 px: sign up, add, complete, edit, delete and undo, filter, users', async () => {
  const { context, page, clean } = await open(browser, server.origin, { viewport: PHONE });
  const kb = page.keyboard;
  await page.goto(`${server.origin}/`);
  await page.getByRole('heading', { name: 'Sign in to the ToDo board' }).waitFor();
  await fits(page, 'token screen');
  await axe(page, 'token screen, 375 px');

  await tabTo(page, page.getByLabel('Email'));
  await kb.type('keys@example.com');
  await tabTo(page, page.getByLabel('Password'));
  await kb.type('only-the-keyboard');
  await kb.press('Enter');
  await page.getByRole('heading', { name: 'Account created' }).waitFor();
  await fits(page, 'token shown');
  await axe(page, 'token shown, 375 px');
  await tabTo(page, page.getByRole('button', { name: 'Continue to my items' }));
  await kb.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();

  for (const title of ['First by keyboard', 'Second by keyboard', 'Third by keyboard']) {
    await tabTo(page, page.getByLabel('Title', { exact: true }));
    await kb.type(title);
    await kb.press('Enter');
    await page.getByText(`Added “${title}”.`).waitFor();
  }
  assert.deepEqual(await titles(page), ['Third by keyboard', 'Second by keyboard', 'First by keyboard']);
  await fits(page, 'my items');
  await axe(page, 'my items, 375 px');

  // Complete one with Space.
  await tabTo(page, item(page, 'First by keyboard').getByRole('checkbox'));
  await kb.press('Space');
  await item(page, 'First by keyboard').and(page.locator('.done')).waitFor();
  await page.waitForFunction(() => !document.querySelector('li.item.pending'));

  // Edit one: Enter on Edit, the title gets the focus, Enter saves; Escape cancels.
  await tabTo(page, item(page, 'Second by keyboard').getByRole('button', { name: /^Edit/ }));
  await kb.press('Enter');
  const editor = page.getByRole('form', { name: /^Edit item/ });
  await page.waitForFunction(() => document.activeElement?.name === 'title');
  await fits(page, 'inline editor');
  await axe(page, 'inline editor, 375 px');
  await kb.press('Escape');
  await editor.waitFor({ state: 'detached' });
  assert.equal(await item(page, 'Second by keyboard').getByRole('button', { name: /^Edit/ }).evaluate((el) => el === document.activeElement), true, 'focus back on Edit');
  await kb.press('Enter');
  await page.waitForFunction(() => document.activeElement?.name === 'title');
  await kb.press('Control+A');
  await kb.type('Second, edited');
  await kb.press('Enter');
  await item(page, 'Second, edited').getByText('Saved.').waitFor();

  // Delete one: the focus goes to Undo; Enter undoes and the focus returns to Delete.
  await tabTo(page, item(page, 'Third by keyboard').getByRole('button', { name: /^Delete/ }));
  await kb.press('Enter');
  const undoButton = page.getByRole('button', { name: 'Undo deleting “Third by keyboard”' });
  await undoButton.waitFor();
  assert.equal(await undoButton.evaluate((el) => el === document.activeElement), true, 'focus on Undo');
  await fits(page, 'undo offered');
  await axe(page, 'undo offered, 375 px');
  await kb.press('Enter');
  await page.getByText('Restored “Third by keyboard”.').waitFor();
  assert.deepEqual(await titles(page), ['Third by keyboard', 'Second, edited', 'First by keyboard']);
  assert.equal(await item(page, 'Third by keyboard').getByRole('button', { name: /^Delete/ }).evaluate((el) => el === document.activeElement), true, 'focus back on Delete');

  // Filter with the keyboard: the Status select, arrow keys.
  await tabTo(page, page.getByLabel('Status'), { back: true });
  await kb.press('ArrowDown'); // Open
  await page.waitForFunction(() => location.hash.includes('done=false'));
  assert.deepEqual(await titles(page), ['Third by keyboard', 'Second, edited']);
  await kb.press('ArrowDown'); // Done
  await page.waitForFunction(() => location.hash.includes('done=true'));
  assert.deepEqual(await titles(page), ['First by keyboard']);
  await tabTo(page, page.getByRole('button', { name: 'Today' }), { back: true });
  await kb.press('Enter');
  await page.waitForFunction(() => location.hash.includes('date='));
  assert.deepEqual(await titles(page), ['First by keyboard']);
  await fits(page, 'filtered');

  // The users view, and the confirmation dialog, with the keyboard.
  const other = await makeUser(server, 'other@example.com');
  await tabTo(page, page.getByRole('link', { name: 'Users' }), { back: true });
  await kb.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await page.getByText('2 active users').waitFor();
  await fits(page, 'users');
  await axe(page, 'users, 375 px');
  await tabTo(page, page.getByRole('button', { name: `Delete user ${other.email}` }));
  await kb.press('Enter');
  const dialog = page.getByRole('dialog', { name: `Delete user ${other.email}?` });
  await dialog.waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement), true, 'Cancel has the focus');
  await fits(page, 'confirmation');
  await axe(page, 'delete-user confirmation, 375 px');
  await kb.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await kb.press('Enter'); // focus is back on the Delete button
  await dialog.waitFor();
  await tabTo(page, dialog.getByRole('button', { name: `Delete ${other.email}` }), { back: true, max: 3 });
  await kb.press('Enter');
  await page.getByText(`Deleted ${other.email}.`).waitFor();
  await page.getByText('1 active user').waitFor();

  await page.screenshot({ path: artifact('phone.png'), fullPage: true });
  clean();
  await context.close();
});

test('dark mode: readable (axe colour contrast), main screen and token screen', async () => {
  const user = await makeUser(server, 'night@example.com');
  await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: 'Done at night', description: 'quietly' } });
  await server.api('POST', `/users/${user.id}/items`, { token: user.token, body: { title: 'Open at night' } });
  const first = await server.api('GET', `/users/${user.id}/items`, { token: user.token });
  const done = first.json.find((i) => i.title === 'Done at night');
  await server.api('PATCH', `/users/${user.id}/items/${done.id}`, { token: user.token, body: { done: true } });
  const { context, page, clean } = await open(browser, server.origin, { colorScheme: 'dark' });
  await page.goto(`${server.origin}/`);
  await page.getByRole('heading', { name: 'Sign in to the ToDo board' }).waitFor();
  await axe(page, 'token screen, dark');
  await pasteToken(page, server.origin, user.token);
  await page.getByText('2 items shown').waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(15, 18, 22)', 'the dark palette applies');
  await axe(page, 'my items, dark');
  await page.screenshot({ path: artifact('dark.png'), fullPage: true });
  clean();
  await context.close();
});
