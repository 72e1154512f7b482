#!/usr/bin/env node
// For working on the page without rebuilding the binary: serves web/dist as the binary does
// (/, /assets/<file>, the page's CSP, gzip) and forwards every other request to a running
// todo-api. Rebuild with `node web/build.mjs` and reload. Not used by the tests.
//
//   node web/dev.mjs [--api http://127.0.0.1:8000] [--port 8080]

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const api = new URL(arg('--api', 'http://127.0.0.1:8000'));
const port = Number(arg('--port', '8080'));
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

function page(req, res) {
  const url = new URL(req.url, 'http://x');
  const file = url.pathname === '/' ? 'index.html' : url.pathname.startsWith('/assets/') ? url.pathname.slice(1) : null;
  if (!file) return false;
  const full = path.join(dist, file);
  if (file.includes('..') || !fs.existsSync(full)) {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"detail":"Not Found"}');
    return true;
  }
  let body = fs.readFileSync(full);
  const headers = {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': CSP,
    'Cache-Control': file === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
    Vary: 'Accept-Encoding',
    ETag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`,
  };
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
    body = zlib.gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  res.writeHead(200, headers).end(body);
  return true;
}

http.createServer((req, res) => {
  if (req.method === 'GET' && page(req, res)) return;
  const upstream = http.request({ host: api.hostname, port: api.port, path: req.url, method: req.method, headers: { ...req.headers, host: api.host } }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (err) => res.writeHead(502, { 'Content-Type': 'application/json' }).end(JSON.stringify({ detail: String(err) })));
  req.pipe(upstream);
}).listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}/ -> ${api.origin}`));
