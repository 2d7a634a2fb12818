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
import { createRequire } from 'node:module';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

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
 * Starts `bin` with `args` and waits for its stdout line `listening on http://HOST:PORT`.
 * The child gets this process's environment without any `YOI_*` variable (those configure the binaries), plus
 * `env`. Returns `{ url, child, stderr(), nextLine(), stop() }`; `nextLine()` is the next stdout line after it.
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

  const later = [];
  const waiting = [];
  const nextLine = () => (later.length > 0 ? Promise.resolve(later.shift()) : new Promise((resolve) => waiting.push(resolve)));
  let listening = false;
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
      if (listening) {
        if (waiting.length > 0) waiting.shift()(line);
        else later.push(line);
      } else if (match) {
        listening = true;
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
  return { url, child, stderr, nextLine, stop };
}

/** The access token of each backend the tests started, by its URL: pages opened on it sign in with it. */
const ACCESS_TOKENS = new Map();

/** Reads the backend's sign-in line (`sign in at URL/?token=…`) and returns `{ signInUrl, token }`. */
async function readSignIn(backend) {
  const line = await backend.nextLine();
  const match = line.match(/^sign in at (http:\/\/\S+\/\?token=([0-9a-f]+))$/);
  if (!match) throw new Error(`expected the sign-in line after "listening on", got ${JSON.stringify(line)}`);
  ACCESS_TOKENS.set(backend.url, match[2]);
  return { signInUrl: match[1], token: match[2] };
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
 * Profiles of both runtimes in the tests: the echo executor, quick by default, and a slow one whose reply
 * streams visibly word by word.
 */
export const PROFILES = `[[profiles]]
name = "default"
executor = "echo"
chunk_delay_ms = 10

[[profiles]]
name = "slow-echo"
executor = "echo"
chunk_delay_ms = 150
description = "Echo that streams slowly"
`;

/**
 * The whole system of one test file: a worker-runtime `dev` that wants a token, and a backend on a fresh
 * workspace that can read that token as `env:YOI_RUNTIME_TOKEN_DEV`; both run the echo profiles of
 * `PROFILES`. `restartRuntime()` kills the runtime (SIGKILL, as a crash would) and starts it again on its
 * port; `stop()` ends both and removes the workspace.
 */
export async function startSystem() {
  const token = randomBytes(24).toString('hex');
  const workspace = await makeWorkspace();
  await writeFile(path.join(workspace.dir, '.yoi', 'profiles.toml'), PROFILES);
  const profilesFile = path.join(workspace.dir, 'runtime-profiles.toml');
  await writeFile(profilesFile, PROFILES);
  const started = [];
  const runtimeArgs = (bind) => ['--bind', bind, '--runtime-id', 'dev', '--display-name', 'Dev runtime',
    '--token-env', 'YOI_TEST_RUNTIME_SECRET', '--profiles', profilesFile, '--heartbeat-ms', '2000'];
  const startRuntime = (bind) => startProcess('worker-runtime', RUNTIME_BIN, runtimeArgs(bind), { YOI_TEST_RUNTIME_SECRET: token });
  try {
    const runtime = await startRuntime('127.0.0.1:0');
    started.push(runtime);
    const backend = await startProcess('workspace-backend', BACKEND_BIN,
      ['--workspace', workspace.dir, '--bind', '127.0.0.1:0'],
      { YOI_RUNTIME_TOKEN_DEV: token });
    started.push(backend);
    const { signInUrl, token: accessToken } = await readSignIn(backend);
    const system = {
      token,
      workspace,
      runtime,
      backend,
      /** The link the backend printed, and the access token it carries. */
      signInUrl,
      accessToken,
      api: apiClient(backend.url, accessToken),
      /**
       * Starts another worker-runtime `id` that wants the same token, which the backend can read from
       * `file:.yoi/secrets/<id>`; it is stopped with the system.
       */
      async startExtraRuntime(id) {
        await mkdir(path.join(workspace.dir, '.yoi', 'secrets'), { recursive: true });
        await writeFile(path.join(workspace.dir, '.yoi', 'secrets', id), token);
        const extra = await startProcess(`worker-runtime ${id}`, RUNTIME_BIN,
          ['--bind', '127.0.0.1:0', '--runtime-id', id, '--display-name', id, '--token-env', 'YOI_TEST_RUNTIME_SECRET',
            '--profiles', profilesFile], { YOI_TEST_RUNTIME_SECRET: token });
        started.push(extra);
        return extra;
      },
      /** Kills the runtime at once, as a crash would. */
      async killRuntime() {
        const { child } = system.runtime;
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      /** Starts the runtime again on the port it had. */
      async restartRuntime() {
        await system.killRuntime();
        const bind = new URL(system.runtime.url).host;
        system.runtime = await startRuntime(bind);
        started.push(system.runtime);
      },
      async stop() {
        await Promise.all(started.map((p) => p.stop()));
        await workspace.remove();
      },
    };
    return system;
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    await workspace.remove();
    throw error;
  }
}

/** The connection of the `dev` runtime, as the tests add it. */
export function devConnection(system, extra = {}) {
  return { id: 'dev', display_name: 'Dev runtime', endpoint: system.runtime.url, token_ref: 'env:YOI_RUNTIME_TOKEN_DEV', ...extra };
}

/**
 * The set-up of a test file that drives a browser against the system: before its tests, starts the system and
 * a headless Chromium, adds `devConnection(system)` when `withDev`, and hands both to
 * `onReady({ system, browser })`; after them, closes the browser and stops the system.
 */
export function useSystem(onReady, { withDev = false } = {}) {
  let system;
  let browser;
  before(async () => {
    system = await startSystem();
    browser = await launchBrowser();
    if (withDev) await system.api.ensureConnection(devConnection(system));
    onReady({ system, browser });
  });
  after(async () => {
    await browser?.close();
    await system?.stop();
  });
}

/** [`useSystem`] with the `dev` connection added. */
export function useSystemWithDev(onReady) {
  useSystem(onReady, { withDev: true });
}

let axeSource = null;

/**
 * Runs axe-core on the page as it is now and fails with every violation, named with its nodes. axe is put in
 * through the debugging protocol, which the page's CSP does not govern.
 */
export async function assertAccessible(page, what) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const violations = result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary}`).join('\n')}`);
  if (violations.length > 0) throw new Error(`axe found ${violations.length} violation(s) on ${what}:\n${violations.join('\n')}`);
}

/** Opens a page, runs `body(page)`, and fails on any console error unless `allow` matches it. */
export async function withPage(browser, baseURL, body, { allow = null, ...options } = {}) {
  const { context, page, problems } = await openPage(browser, baseURL, options);
  try {
    await body(page, context);
    const unexpected = problems.filter((p) => !(allow && allow.test(p)));
    if (unexpected.length > 0) throw new Error(`console errors:\n${unexpected.join('\n')}`);
  } finally {
    await context.close();
  }
}

/** Whether nothing on the page scrolls sideways. */
export async function assertNoSidewaysScroll(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  if (scroll > client) throw new Error(`${what}: scrollWidth ${scroll} > clientWidth ${client}`);
}

/**
 * Calls the backend's API directly, for setting up a test; like a script, it sends no Origin and signs its
 * requests with `Authorization: Bearer` when given the access token.
 */
export function apiClient(base, token = null) {
  async function call(method, route, body) {
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(base + route, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }
  return {
    call,
    connections: async () => (await call('GET', '/api/settings/runtime-connections')).body.connections,
    /** Adds a connection unless one with its id exists. */
    /** Creates a worker and returns its detail. */
    async createWorker(runtimeId, body = {}) {
      const answer = await call('POST', `/api/runtimes/${runtimeId}/workers`, body);
      if (answer.status !== 201) throw new Error(`could not create a worker: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    },
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
 * A new context and page on `baseURL`, signed in as a person would be (the token exchanged for the backend's
 * cookie) unless `signedIn: false`. `problems` collects console errors and uncaught page errors, which no test
 * expects.
 */
export async function openPage(browser, baseURL, { signedIn = true, ...options } = {}) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(10_000);
  const token = ACCESS_TOKENS.get(baseURL);
  if (signedIn && token) {
    // The context's request client shares its cookies with its pages.
    const answer = await context.request.post('/api/session', { data: { token }, headers: { Origin: baseURL } });
    if (!answer.ok()) throw new Error(`could not sign in: ${answer.status()} ${await answer.text()}`);
  }
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
