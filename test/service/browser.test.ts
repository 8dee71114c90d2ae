// Two real browser pages, each connected to a different instance, chat with
// each other through Redis. Debian's Chromium, driven by playwright-core.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';

const ARTIFACTS = join(process.cwd(), 'test-results');
let redis: RedisServer;
let instances: Instance[] = [];
let browser: Browser;

before(async () => {
  redis = await startRedis();
  instances = await Promise.all(['page-a', 'page-b'].map((id) => startInstance({ instanceId: id, redisUrl: redis.url, env: { DRAIN_SECONDS: '0' } })));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // No network beyond loopback here: keep Chromium from reaching out. (Playwright gives it a fresh profile.)
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await Promise.allSettled(instances.map((instance) => instance.stop('SIGKILL')));
  await redis?.stop();
});

async function open(instance: Instance, name: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => assert.fail(`page error on ${name}: ${error.message}`));
  await page.goto(`${instance.url}/`);
  await page.fill('#room', 'browsers');
  await page.fill('#name', name);
  await page.click('#join button');
  await page.waitForFunction((id) => document.querySelector('#status')?.textContent === `connected to ${id}`, instance.id);
  return page;
}

it('two pages on two instances chat with each other, rendering text as text', async () => {
  const alice = await open(instances[0], 'Alice');
  const bob = await open(instances[1], 'Bob');
  await alice.waitForFunction(() => document.querySelector('#members')?.textContent === '2');

  await alice.fill('#text', 'Hello <b>Bob</b> & co');
  await alice.click('#compose button');
  await bob.fill('#text', 'Hi Alice');
  await bob.click('#compose button');

  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 2);
    const rows = await page.$$eval('#messages li', (items) =>
      items.map((li) => ({
        name: li.querySelector('.name')?.textContent,
        text: li.querySelector('.text')?.textContent,
        meta: li.querySelector('.meta')?.textContent,
        bold: li.querySelector('b') !== null,
      })),
    );
    assert.deepEqual(rows.map((r) => [r.name, r.text, r.bold]), [
      ['Alice', 'Hello <b>Bob</b> & co', false],
      ['Bob', 'Hi Alice', false],
    ]);
    assert.match(rows[0].meta ?? '', /via page-a$/);
    assert.match(rows[1].meta ?? '', /via page-b$/);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  await bob.screenshot({ path: join(ARTIFACTS, 'browser-chat.png') });
  await alice.screenshot({ path: join(ARTIFACTS, 'browser-chat-alice.png') });

  // Bob's instance dies; Alice keeps talking; Bob's page reconnects with `since` and misses nothing.
  instances[1].kill();
  await instances[1].exited;
  await bob.waitForFunction(() => document.querySelector('#status')?.textContent === 'reconnecting…');
  await alice.fill('#text', 'while you were away');
  await alice.click('#compose button');
  instances[1] = await startInstance({ instanceId: 'page-b', port: instances[1].port, redisUrl: redis.url, env: { DRAIN_SECONDS: '0' } });
  await bob.waitForFunction(() => document.querySelector('#status')?.textContent === 'connected to page-b', undefined, { timeout: 20_000 });
  await bob.waitForFunction(() => document.querySelectorAll('#messages li').length === 3);
  await bob.waitForTimeout(300);
  const texts = await bob.$$eval('#messages li .text', (items) => items.map((item) => item.textContent));
  assert.deepEqual(texts, ['Hello <b>Bob</b> & co', 'Hi Alice', 'while you were away']);
});
