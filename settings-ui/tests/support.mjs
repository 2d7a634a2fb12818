// Helpers of the browser tests: real workspace-backend and worker-runtime processes, a throwaway workspace and
// a headless Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BACKEND_BIN = process.env.YOI_BACKEND_BIN || path.join(REPO, 'target/debug/workspace-backend');
export const RUNTIME_BIN = process.env.YOI_RUNTIME_BIN || path.join(REPO, 'target/debug/worker-runtime');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** What a fresh workspace's local config file starts with; every edit must keep it. */
export const SEEDED_COMMENT = '# my own note: keep me';
export const SEEDED_CONFIG = `${SEEDED_COMMENT}
[embedded]
# the embedded runtime keeps its workers in memory
store = "memory"   # trailing note
`;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Starts `bin` with `args` and waits for its one stdout line `listening on http://HOST:PORT`.
 * The child gets this process's environment without any `YOI_*` variable (those configure the binaries), plus
 * `env`. Returns `{ url, child, stderr(), stop() }`.
 */
export async function startProcess(name, bin, args, env = {}) {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('YOI_')));
  Object.assign(childEnv, { RUST_BACKTRACE: '1' }, env);
  const child = spawn(bin, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrLines = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    stderrLines.push(line);
    if (stderrLines.length > 200) stderrLines.shift();
    if (process.env.YOI_TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stderr = () => stderrLines.join('\n');

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print "listening on" within ${START_TIMEOUT_MS} ms\n${stderr()}`));
    }, START_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not be started (${bin}): ${error.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening\n${stderr()}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/^listening on (http:\/\/\S+)$/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      } else if (process.env.YOI_TEST_VERBOSE) {
        process.stderr.write(`[${name} stdout] ${line}\n`);
      }
    });
  });

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  return { url, child, stderr, stop };
}

/** A fresh workspace directory whose `.yoi/workspace-backend.local.toml` holds `SEEDED_CONFIG`. */
export async function makeWorkspace() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yoi-settings-ui-'));
  await mkdir(path.join(dir, '.yoi'));
  const configFile = path.join(dir, '.yoi', 'workspace-backend.local.toml');
  await writeFile(configFile, SEEDED_CONFIG);
  return {
    dir,
    configFile,
    readConfig: () => readFile(configFile, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The whole system of one test file: a worker-runtime `dev` that wants a token, and a backend on a fresh
 * workspace that can read that token as `env:YOI_RUNTIME_TOKEN_DEV`. `stop()` ends both and removes the workspace.
 */
export async function startSystem() {
  const token = randomBytes(24).toString('hex');
  const workspace = await makeWorkspace();
  const started = [];
  try {
    const runtime = await startProcess('worker-runtime', RUNTIME_BIN,
      ['--bind', '127.0.0.1:0', '--runtime-id', 'dev', '--display-name', 'Dev runtime', '--token-env', 'YOI_TEST_RUNTIME_SECRET'],
      { YOI_TEST_RUNTIME_SECRET: token });
    started.push(runtime);
    const backend = await startProcess('workspace-backend', BACKEND_BIN,
      ['--workspace', workspace.dir, '--bind', '127.0.0.1:0'],
      { YOI_RUNTIME_TOKEN_DEV: token });
    started.push(backend);
    return {
      token,
      workspace,
      runtime,
      backend,
      api: apiClient(backend.url),
      async stop() {
        await Promise.all(started.map((p) => p.stop()));
        await workspace.remove();
      },
    };
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    await workspace.remove();
    throw error;
  }
}

/** Calls the backend's API directly, for setting up a test; like a script, it sends no Origin. */
export function apiClient(base) {
  async function call(method, route, body) {
    const response = await fetch(base + route, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }
  return {
    call,
    connections: async () => (await call('GET', '/api/settings/runtime-connections')).body.connections,
    /** Adds a connection unless one with its id exists. */
    async ensureConnection(connection) {
      const answer = await call('POST', '/api/settings/runtime-connections', connection);
      if (answer.status !== 201 && !(answer.status === 409 && answer.body.error.code === 'duplicate_connection')) {
        throw new Error(`could not add ${connection.id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    },
  };
}

/** A local port nothing listens on: bound once, then released. */
export async function deadPort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A headless Chromium; one per test file. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new context and page on `baseURL`. `problems` collects console errors and uncaught page errors, which no
 * test expects.
 */
export async function openPage(browser, baseURL, options = {}) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  return { context, page, problems };
}

/** Opens the Runtime Connections page and waits until the list has loaded. */
export async function gotoConnections(page) {
  const response = await page.goto('/#/connections');
  await page.getByTestId('connection-backend-internal').waitFor();
  return response;
}

/** Fills the add form; `token_ref` is optional. */
export async function fillForm(page, { id, display_name, endpoint, token_ref }) {
  const form = page.getByTestId('add-form');
  await form.getByLabel('Id', { exact: true }).fill(id ?? '');
  await form.getByLabel('Display name').fill(display_name ?? '');
  await form.getByLabel('Endpoint').fill(endpoint ?? '');
  await form.getByLabel(/Token reference/).fill(token_ref ?? '');
  return form;
}
