#!/usr/bin/env node
// Builds web/dist from web/src, byte for byte reproducibly (no timestamps, no dependencies):
//
//   node web/build.mjs           writes web/dist (index.html and assets/<name>.<hash>.<ext>)
//   node web/build.mjs --check   exits 1 when web/dist is not what a fresh build writes
//
// Every file of web/src but index.html is an asset, renamed with the first 10 hex digits of
// the SHA-256 of its (rewritten) content. ES module imports between assets ("./api.js") are
// rewritten to the hashed names, so a module's hash covers the modules it imports; cycles
// are refused. index.html references assets as /assets/<name> and gets the hashed names,
// plus a modulepreload link for every module, so the browser fetches them all at once.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'src');
const dist = path.join(here, 'dist');

const IMPORT = /(\bimport\s*(?:[^'";]*?\bfrom\s*)?|\bexport\s*[^'";]*?\bfrom\s*|\bimport\s*\(\s*)(['"])\.\/([A-Za-z0-9_.-]+)\2/g;

function hashed(name, content) {
  const digest = createHash('sha256').update(content).digest('hex').slice(0, 10);
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)}.${digest}${ext}`;
}

/** {relative path: Buffer} of the built site. */
export function build() {
  const names = fs.readdirSync(src).filter((n) => n !== 'index.html' && !n.startsWith('.')).sort();
  for (const n of names) {
    if (!fs.statSync(path.join(src, n)).isFile()) throw new Error(`web/src/${n}: only files, no folders`);
  }
  const raw = new Map(names.map((n) => [n, fs.readFileSync(path.join(src, n))]));
  const out = new Map(); // source name -> {file, content}
  const visiting = new Set();

  const resolve = (name, from) => {
    if (!raw.has(name)) throw new Error(`web/src/${from} imports ./${name}, which is not in web/src`);
    if (out.has(name)) return out.get(name).file;
    if (visiting.has(name)) throw new Error(`import cycle through web/src/${name}`);
    visiting.add(name);
    let content = raw.get(name);
    if (name.endsWith('.js')) {
      const text = content.toString('utf8').replace(IMPORT, (_, lead, quote, dep) => `${lead}${quote}./${resolve(dep, name)}${quote}`);
      content = Buffer.from(text, 'utf8');
    }
    visiting.delete(name);
    const file = hashed(name, content);
    out.set(name, { file, content });
    return file;
  };
  for (const n of names) resolve(n, n);

  let html = fs.readFileSync(path.join(src, 'index.html'), 'utf8');
  const entry = /<script type="module" src="\/assets\/([^"]+)"><\/script>/.exec(html)?.[1];
  if (!entry || !out.has(entry)) throw new Error('web/src/index.html must load one module from /assets/');
  html = html.replace(/\/assets\/([A-Za-z0-9_.-]+)/g, (whole, n) => {
    if (!out.has(n)) throw new Error(`web/src/index.html references /assets/${n}, which is not in web/src`);
    return `/assets/${out.get(n).file}`;
  });
  const preload = [...out.keys()]
    .filter((n) => n.endsWith('.js') && n !== entry)
    .map((n) => `<link rel="modulepreload" href="/assets/${out.get(n).file}">`)
    .join('\n');
  if (!html.includes('<!-- modulepreload -->')) throw new Error('web/src/index.html lacks <!-- modulepreload -->');
  html = html.replace('<!-- modulepreload -->', preload);

  const site = new Map([['index.html', Buffer.from(html, 'utf8')]]);
  for (const { file, content } of out.values()) site.set(`assets/${file}`, content);
  return site;
}

function listDist(dir = dist, prefix = '') {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? listDist(path.join(dir, e.name), `${prefix}${e.name}/`)
    : [`${prefix}${e.name}`]));
}

function main() {
  const site = build();
  if (process.argv.includes('--check')) {
    const problems = [];
    const present = new Set(listDist());
    for (const [file, content] of site) {
      if (!present.has(file)) problems.push(`missing: web/dist/${file}`);
      else if (!fs.readFileSync(path.join(dist, file)).equals(content)) problems.push(`differs: web/dist/${file}`);
      present.delete(file);
    }
    for (const file of present) problems.push(`not built from web/src: web/dist/${file}`);
    if (problems.length) {
      console.error(`web/dist is not a fresh build of web/src (run: node web/build.mjs):\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`web/dist matches a fresh build of web/src (${site.size} files)`);
    return;
  }
  fs.rmSync(dist, { recursive: true, force: true });
  fs.mkdirSync(path.join(dist, 'assets'), { recursive: true });
  for (const [file, content] of site) fs.writeFileSync(path.join(dist, file), content);
  console.log(`web/dist: ${[...site.keys()].join(', ')}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
