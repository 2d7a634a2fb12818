// A worker's page against real processes: the reply streaming in, cancel mid-turn, the busy choice, stop, a
// dropped event stream resumed without duplicated text, cursor_expired, "load earlier" and a narrow screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, assertNoSidewaysScroll, useSystemWithDev, withPage } from './support.mjs';

let system;
let browser;

useSystemWithDev((ready) => ({ system, browser } = ready));

// A refused input (409 worker_busy) is logged by Chromium as a failed resource load; that is the API working.
const FAILED_LOAD = /Failed to load resource: the server responded with a status of 4\d\d/;
const page = (body, options) => withPage(browser, system.backend.url, body, options);

/** Words enough for a reply that streams for a few seconds with the slow echo profile (150 ms a word). */
function words(count, stem = 'word') {
  return Array.from({ length: count }, (_, i) => `${stem}${i + 1}`).join(' ');
}

/** Opens the page of `worker` and waits until it follows the worker's events. */
async function openWorker(p, worker) {
  await p.goto(`/#/workers/${worker.runtime_id}/${worker.worker_id}`);
  await p.locator('[data-testid="connection-status"][data-state="live"]').waitFor();
}

async function send(p, text) {
  await p.getByTestId('composer-input').fill(text);
  await p.getByTestId('composer-input').press('Enter');
}

/** Waits until `fn()` is truthy, polling every 50 ms, or fails after `ms`. */
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a reply streams in delta by delta, then shows what produced it', async () => {
  const worker = await system.api.createWorker('dev', { title: 'Streaming', profile: 'slow-echo' });
  await page(async (p) => {
    await openWorker(p, worker);
    assert.equal(await p.getByTestId('worker-executor').getAttribute('data-executor'), 'echo');
    assert.match(await p.getByTestId('worker-executor').textContent(), /Echo \(not a model\)/);

    // Shift+Enter is a new line, not a send.
    const input = p.getByTestId('composer-input');
    await input.fill('first line');
    await input.press('Shift+Enter');
    await input.type('second line');
    assert.equal(await input.inputValue(), 'first line\nsecond line');
    assert.equal(await p.locator('[data-role="user"]').count(), 0, 'nothing was sent');

    const content = words(20);
    await send(p, content);
    const streaming = p.getByTestId('streaming-text');
    await streaming.waitFor();
    await p.locator('[data-testid="worker-state"][data-state="busy"]').waitFor();
    // Part of the reply is on screen while the rest is still to come.
    const partial = await until(async () => {
      const text = await streaming.textContent().catch(() => '');
      return text.length > 10 ? text : null;
    }, 5_000, 'a partial reply');
    const expected = `[echo] ${content}`;
    assert.ok(expected.startsWith(partial), `"${partial}" begins the reply`);
    assert.ok(partial.length < expected.length, 'the reply is not all there yet');
    assert.equal(await p.getByTestId('worker-cancel').isVisible(), true, 'Cancel is offered while busy');

    const reply = p.locator('[data-role="assistant"]');
    await reply.waitFor({ timeout: 10_000 });
    assert.equal(await reply.getByTestId('entry-text').textContent(), expected);
    assert.equal(await p.getByTestId('streaming').count(), 0, 'the streaming copy is gone');
    const facts = await reply.getByTestId('entry-facts').textContent();
    assert.match(facts, /echo \(not a model\)/);
    assert.match(facts, /First token/);
    assert.match(facts, /Took/);
    await p.locator('[data-testid="worker-state"][data-state="idle"]').waitFor();
    assert.equal(await p.getByTestId('worker-cancel').isHidden(), true);
    await assertAccessible(p, 'the worker page');
  });
});

test('cancel mid-turn keeps the partial reply, marked cancelled', async () => {
  const worker = await system.api.createWorker('dev', { title: 'Cancel me', profile: 'slow-echo' });
  await page(async (p) => {
    await openWorker(p, worker);
    await send(p, words(40));
    await until(async () => (await p.getByTestId('streaming-text').textContent().catch(() => '')).length > 15, 5_000, 'some text');
    await p.getByTestId('worker-cancel').click();
    await p.locator('[data-testid="worker-state"][data-state="idle"]').waitFor();
    assert.match(await p.getByTestId('action-status').textContent(), /cancelled/);

    const reply = p.locator('[data-role="assistant"][data-outcome="cancelled"]');
    await reply.waitFor();
    assert.equal(await reply.getByTestId('entry-outcome').textContent(), 'Cancelled');
    const text = await reply.getByTestId('entry-text').textContent();
    assert.ok(`[echo] ${words(40)}`.startsWith(text) && text.length < 100, `a partial reply: "${text}"`);
    await p.locator('[data-role="notice"]').first().waitFor();
    assert.equal(await p.getByTestId('streaming').count(), 0);
  });
});

test('the busy choice: refuse says so, wait in line queues, interrupt cuts the running reply', async () => {
  const worker = await system.api.createWorker('dev', { title: 'Busy', profile: 'slow-echo' });
  await page(async (p) => {
    await openWorker(p, worker);
    const fieldset = p.getByTestId('busy-choice');
    assert.deepEqual(await fieldset.getByRole('radio').evaluateAll((els) => els.map((e) => e.labels[0].textContent)),
      ['Refuse while busy', 'Wait in line', 'Interrupt']);

    await send(p, words(30, 'a'));
    await p.locator('[data-testid="worker-state"][data-state="busy"]').waitFor();
    await send(p, 'refused one');
    await p.getByTestId('composer-error').waitFor();
    assert.match(await p.getByTestId('composer-error').textContent(), /still running/);
    assert.equal(await p.getByTestId('composer-input').inputValue(), 'refused one', 'the text is kept');

    await p.getByLabel('Wait in line').check();
    await send(p, 'queued one');
    await until(async () => /waits in line/.test(await p.getByTestId('composer-status').textContent()), 5_000, 'the queued note');

    await p.getByLabel('Interrupt').check();
    await send(p, 'interrupting one');
    await p.locator('[data-role="assistant"][data-outcome="interrupted"]').waitFor();
    await until(async () => (await p.locator('[data-role="assistant"]').allTextContents())
      .some((t) => t.includes('[echo] interrupting one')), 10_000, 'the interrupting reply');
    const texts = await p.locator('[data-role="user"]').allTextContents();
    assert.ok(!texts.some((t) => t.includes('refused one')), 'the refused message was never sent');
  }, { allow: FAILED_LOAD });
});

test('stop asks first, then the worker takes no more messages', async () => {
  const worker = await system.api.createWorker('backend-internal', { title: 'Stop me' });
  await page(async (p) => {
    await openWorker(p, worker);
    await p.getByTestId('worker-stop').click();
    const dialog = p.getByTestId('stop-dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /Stop Stop me\?/);
    await assertAccessible(p, 'the stop dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await p.locator('[data-testid="worker-state"][data-state="idle"]').waitFor();

    await p.getByTestId('worker-stop').click();
    await dialog.getByRole('button', { name: 'Stop worker' }).click();
    await p.locator('[data-testid="worker-state"][data-state="stopped"]').waitFor();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await p.getByTestId('composer-input').isDisabled(), true);
    assert.match(await p.getByTestId('composer-closed').textContent(), /stopped/);
    assert.equal(await p.getByTestId('worker-stop').isHidden(), true);
  });
});

test('a dropped event stream shows reconnecting, resumes after the last seq, and the reply has no duplicated or missing text', async () => {
  const worker = await system.api.createWorker('dev', { title: 'Dropped', profile: 'slow-echo' });
  await page(async (p) => {
    const urls = [];
    let deltas = 0;
    let dropped = false;
    await p.routeWebSocket(/\/api\/runtimes\/[^/]+\/events/, (ws) => {
      urls.push(ws.url());
      const server = ws.connectToServer();
      server.onMessage((message) => {
        if (dropped || urls.length > 1) return ws.send(message);
        ws.send(message);
        if (JSON.parse(message).event?.kind === 'turn_delta' && ++deltas === 4) {
          // The link dies mid-reply, as a network would drop it.
          dropped = true;
          ws.close({ code: 4000, reason: 'dropped' });
          server.close();
        }
      });
    });
    await openWorker(p, worker);
    const content = words(24);
    await send(p, content);
    await until(() => dropped, 10_000, 'the drop');
    await p.locator('[data-testid="connection-status"][data-state="reconnecting"]').waitFor();
    assert.match(await p.getByTestId('connection-status').textContent(), /Reconnecting/);
    await p.locator('[data-testid="connection-status"][data-state="live"]').waitFor();
    assert.equal(urls.length, 2, urls.join('\n'));
    assert.doesNotMatch(urls[0], /after=/);
    const after = Number(new URL(urls[1]).searchParams.get('after'));
    assert.ok(after > 0, `the second stream resumes after a seq: ${urls[1]}`);

    const reply = p.locator('[data-role="assistant"]');
    await reply.waitFor({ timeout: 10_000 });
    assert.equal(await reply.count(), 1, 'one reply');
    assert.equal(await reply.getByTestId('entry-text').textContent(), `[echo] ${content}`);
    assert.equal(await p.getByTestId('streaming').count(), 0);
    assert.equal(await p.locator('[data-role="user"]').count(), 1, 'the input is shown once');
  });
});

test('a stream closed with cursor_expired is opened afresh and the transcript read again', async () => {
  const worker = await system.api.createWorker('backend-internal', { title: 'Expired' });
  await page(async (p) => {
    const urls = [];
    await p.routeWebSocket(/\/api\/runtimes\/[^/]+\/events/, (ws) => {
      urls.push(ws.url());
      const server = ws.connectToServer();
      if (urls.length === 1) {
        server.onMessage((message) => {
          ws.send(message);
          if (JSON.parse(message).type === 'snapshot') {
            ws.send(JSON.stringify({ type: 'closed', reason: 'cursor_expired', message: 'the cursor expired', earliest_seq: 1 }));
            ws.close();
            server.close();
          }
        });
      }
    });
    const transcripts = [];
    p.on('request', (r) => { if (r.url().includes('/transcript')) transcripts.push(r.url()); });
    await system.api.call('POST', `/api/runtimes/backend-internal/workers/${worker.worker_id}/input`, { content: 'before' });
    await until(async () => (await system.api.call('GET', `/api/runtimes/backend-internal/workers/${worker.worker_id}`)).body.state === 'idle', 5_000, 'idle');
    await p.goto(`/#/workers/backend-internal/${worker.worker_id}`);
    await until(() => urls.length >= 2, 5_000, 'a second stream');
    await p.locator('[data-testid="connection-status"][data-state="live"]').waitFor();
    assert.doesNotMatch(urls[1], /after=/, 'the expired cursor is not sent again');
    await p.locator('[data-role="assistant"]').waitFor();
    assert.equal(await p.locator('[data-role="user"]').count(), 1, 'the transcript is shown once');
    // Read from the start once on opening and once more after the cursor expired.
    assert.ok(transcripts.filter((u) => /[?&]after=0\b/.test(u)).length >= 2, transcripts.join('\n'));
  });
});

test('"load earlier" pages the transcript back to its first message', async () => {
  const worker = await system.api.createWorker('backend-internal', { title: 'Long talk' });
  const base = `/api/runtimes/backend-internal/workers/${worker.worker_id}`;
  for (let i = 1; i <= 30; i += 1) {
    await system.api.call('POST', `${base}/input`, { content: `message ${i}` });
    await until(async () => (await system.api.call('GET', base)).body.state === 'idle', 5_000, 'idle');
  }
  await page(async (p) => {
    await openWorker(p, worker);
    await p.getByTestId('entry-60').waitFor();
    assert.equal(await p.getByTestId('entry-1').count(), 0, 'the first page is the newest one');
    const earlier = p.getByTestId('load-earlier');
    await earlier.click();
    await p.getByTestId('entry-1').waitFor();
    assert.equal(await earlier.isHidden(), true, 'nothing is left to load');
    const seqs = await p.locator('[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
    assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1), 'every entry once, in order');
  });
});

test('at 375 px the worker page fits, and a message can be sent and read', async () => {
  const worker = await system.api.createWorker('dev', { title: 'A worker with a rather long title for a phone screen' });
  await page(async (p) => {
    await openWorker(p, worker);
    await send(p, 'a-very-long-word-without-any-space-'.repeat(6));
    await p.locator('[data-role="assistant"]').waitFor();
    await assertNoSidewaysScroll(p, 'the worker page');
    const box = await p.getByTestId('composer-send').boundingBox();
    assert.ok(box && box.x + box.width <= 375, 'Send is on screen');
    await assertAccessible(p, 'the worker page at 375 px');
    await p.goto('/#/workers');
    await p.getByTestId('workers-table').waitFor();
    await assertNoSidewaysScroll(p, 'the workers page');
  }, { viewport: { width: 375, height: 740 } });
});

test('a model reply shows its model, tokens, finish reason and first token; a failed one is marked with the reason', async () => {
  const worker = await system.api.createWorker('backend-internal', { title: 'Model facts' });
  const at = new Date().toISOString();
  const entries = [
    { seq: 1, role: 'user', content: 'hi', at, turn_id: 1 },
    { seq: 2, role: 'assistant', content: 'Hello!', at, turn_id: 1, outcome: 'completed', executor: 'openai', model: 'qwen2.5:0.5b',
      finish_reason: 'stop', usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }, first_token_ms: 120, duration_ms: 900 },
    { seq: 3, role: 'user', content: 'and now?', at, turn_id: 2 },
    { seq: 4, role: 'assistant', content: 'Let me', at, turn_id: 2, outcome: 'failed', executor: 'openai', model: 'qwen2.5:0.5b' },
    { seq: 5, role: 'notice', content: 'turn 2 failed: provider_timeout: no first token within `request_timeout_s`', at, turn_id: 2 },
  ];
  await page(async (p) => {
    await p.route('**/transcript?*', (route) => {
      const after = Number(new URL(route.request().url()).searchParams.get('after') ?? 0);
      return route.fulfill({ json: { worker_id: worker.worker_id, entries: entries.filter((e) => e.seq > after), limit: 50, last_seq: 5 } });
    });
    await openWorker(p, worker);
    const reply = p.getByTestId('entry-2');
    await reply.waitFor();
    const facts = await reply.getByTestId('entry-facts').textContent();
    assert.match(facts, /Model\s*qwen2\.5:0\.5b/);
    assert.match(facts, /Tokens\s*15 \(12 prompt, 3 reply\)/);
    assert.match(facts, /Finish\s*stop/);
    assert.match(facts, /First token\s*120 ms/);
    const failed = p.getByTestId('entry-4');
    assert.equal(await failed.getAttribute('data-outcome'), 'failed');
    assert.equal(await failed.getByTestId('entry-outcome').textContent(), 'Failed');
    const notice = p.getByTestId('entry-5');
    assert.match(await notice.textContent(), /Turn 2 failed: provider_timeout/);
    assert.equal(await notice.locator('code').textContent(), 'request_timeout_s');
    await assertAccessible(p, 'a transcript with model replies');
  });
});
