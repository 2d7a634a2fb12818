// Checks of the static files themselves, without a browser: every module the page imports is embedded in the
// binary, and nothing needs what the Content-Security-Policy forbids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const staticDir = `${root}static/`;

/** The `"path" => "file"` pairs of the `assets!` list in src/lib.rs. */
async function embedded() {
  const lib = await readFile(`${root}src/lib.rs`, 'utf8');
  const pairs = [...lib.matchAll(/^\s*"(\/[^"]*)"\s*=>\s*"([^"]+)",/gm)].map(([, path, file]) => ({ path, file }));
  assert.ok(pairs.length > 0, 'the assets! list was found');
  return pairs;
}

test('every static file is embedded, at its own name', async () => {
  const pairs = await embedded();
  const files = (await readdir(staticDir)).filter((f) => !f.startsWith('.'));
  for (const file of files) {
    assert.ok(pairs.some((p) => p.file === file), `${file} is missing from the assets! list in src/lib.rs`);
  }
  for (const { path, file } of pairs) {
    assert.ok(files.includes(file), `${file} is listed but does not exist`);
    if (path !== '/') assert.equal(path, `/${file}`);
  }
});

test('every module import resolves to an embedded file', async () => {
  const served = new Set((await embedded()).map((p) => p.path));
  for (const file of (await readdir(staticDir)).filter((f) => f.endsWith('.js'))) {
    const text = await readFile(staticDir + file, 'utf8');
    for (const [, specifier] of text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      assert.match(specifier, /^\.\/[\w-]+\.js$/, `${file} imports ${specifier}: only sibling modules exist`);
      assert.ok(served.has(specifier.slice(1)), `${file} imports ${specifier}, which the backend does not serve`);
    }
  }
});

test('nothing relies on inline script, inline style or markup built from strings', async () => {
  const html = await readFile(`${staticDir}index.html`, 'utf8');
  assert.doesNotMatch(html, /<style/i, 'no <style> block');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style attribute');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  for (const [, attrs, body] of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(attrs, /\ssrc=/, 'every script is a file');
    assert.equal(body.trim(), '', 'no inline script');
  }
  assert.doesNotMatch(html, /(src|href)=["']https?:/i, 'no external resource');
  for (const file of (await readdir(staticDir)).filter((f) => f.endsWith('.js'))) {
    const text = await readFile(staticDir + file, 'utf8');
    assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, `${file} builds markup from strings`);
    assert.doesNotMatch(text, /\beval\(|new Function\(/, `${file} evaluates strings`);
    assert.doesNotMatch(text, /\.style\.|setAttribute\(\s*['"]style/, `${file} sets inline styles`);
  }
});
