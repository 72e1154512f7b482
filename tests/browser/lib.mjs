// Shared by the browser tests: the real todo-api binary on port 0 with a temp SQLite file,
// headless Debian Chromium through playwright-core, and the checks every page gets (no
// request leaves the origin, no console errors, zero axe-core violations).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.resolve(ROOT, process.env.TODO_API_BIN ?? 'target/debug/todo-api');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(ROOT, process.env.BROWSER_ARTIFACTS ?? 'target/browser');

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The binary, ready: {origin, api(method, path, options), stop()}. */
export async function startServer(env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-browser-'));
  const child = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_ENABLED: 'false',
      LOG_FORMAT: 'json',
      RUST_LOG: 'info',
      DATABASE_URL: `sqlite://${dir}/todo.db`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  child.stderr.on('data', (chunk) => logs.push(chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`todo-api did not say "listening" within 30 s:\n${logs.join('')}`)), 30_000);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`todo-api exited (${code ?? signal}) before listening:\n${logs.join('')}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      logs.push(`${line}\n`);
      try {
        const entry = JSON.parse(line);
        if (entry.message === 'listening' && entry.address) {
          clearTimeout(timer);
          resolve(entry.address);
        }
      } catch {
        // not JSON: kept in the logs
      }
    });
  });
  const origin = `http://${address}`;
  return {
    origin,
    logs,
    /** A plain API call from the test (not the browser). */
    async api(method, urlPath, { token, body, headers = {} } = {}) {
      const response = await fetch(origin + urlPath, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(token ? { 'X-API-TOKEN': token } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : null };
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A user made through the API: {id, email, token, password}. */
export async function makeUser(server, email, password = 'correct-horse-battery') {
  const answer = await server.api('POST', '/users', { body: { email, password } });
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  return { ...answer.json, password };
}

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A fresh context and page on `origin`, watched: requests to any other origin are aborted
 * and recorded; console errors and uncaught exceptions are recorded. `clean()` asserts none.
 * The only console errors allowed are Chromium's own "Failed to load resource" lines for API
 * answers the page asked for and handles (a 401 for a wrong token, a 412, a connection
 * reset by a test's route, ...): the tests
 * check what the page shows for each. Such a line for anything else (the page, an asset,
 * a favicon) fails.
 */
export async function open(browser, origin, options = {}) {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1100, height: 850 },
    colorScheme: options.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  });
  const seen = { offOrigin: [], console: [], errors: [], requests: [] };
  await context.route((url) => url.origin !== origin, (route) => {
    seen.offOrigin.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) seen.offOrigin.push(url);
    seen.requests.push(request);
  });
  const page = await context.newPage();
  watch(page, origin, seen);
  return {
    context,
    page,
    seen,
    /** Another tab of the same context (shares nothing but cookies, of which there are none). */
    async newPage() {
      const other = await context.newPage();
      watch(other, origin, seen);
      return other;
    },
    clean() {
      assert.deepEqual(seen.offOrigin, [], 'requests left the origin');
      assert.deepEqual(seen.errors, [], 'uncaught exceptions in the page');
      assert.deepEqual(seen.console, [], 'console errors');
    },
  };
}

function watch(page, origin, seen) {
  page.on('pageerror', (error) => seen.errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const where = message.location()?.url ?? '';
    const resourcePath = where.startsWith(origin) ? new URL(where).pathname : null;
    const apiAnswer = /^Failed to load resource: (the server responded with a status of \d{3}|net::ERR_CONNECTION_RESET)/.test(text)
      && /^\/(me|users|items)(\/|$)/.test(resourcePath ?? '');
    if (!apiAnswer) seen.console.push(`${text} (${where})`);
  });
}

/** Zero axe-core violations on what the page shows now. */
export async function axe(page, screen) {
  const result = await new AxeBuilder({ page }).analyze();
  const problems = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
  assert.deepEqual(problems, [], `axe-core violations on "${screen}"`);
}

/** The texts an element's aria-describedby points at (its hint and its error). */
export function described(locator) {
  return locator.evaluate((el) => (el.getAttribute('aria-describedby') ?? '')
    .split(' ').filter(Boolean).map((id) => document.getElementById(id)?.textContent ?? '').join(' | '));
}

/** Signs in by pasting a token on the token screen. */
export async function pasteToken(page, origin, token) {
  await page.goto(`${origin}/`);
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: 'My items' }).waitFor();
}

/** The visible item rows of the list, as their titles. */
export async function titles(page) {
  await page.locator('ul.items[aria-busy]').waitFor({ state: 'detached' }).catch(() => {});
  return page.locator('ul.items > li.item:not([hidden]) .item-title').evaluateAll((els) => els.map((el) => el.firstChild.textContent));
}

export function item(page, title) {
  return page.locator('ul.items > li.item:not([hidden])').filter({ has: page.locator('.item-title', { hasText: new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((open|done)\\)$`) }) });
}

export function artifact(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
