// The page with AUTH_MODE=jwt: each tab fetches a development token for a user
// of its own and connects with it, and the tabs chat under the names their
// tokens carry. Debian's Chromium, driven by playwright-core.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { localAuth, localAuthEnv } from '../../scripts/local/auth.js';

let redis: RedisServer;
let instance: Instance;
let browser: Browser;

before(async () => {
  redis = await startRedis();
  instance = await startInstance({ instanceId: 'page-jwt', redisUrl: redis.url, env: { DRAIN_SECONDS: '0', ...localAuthEnv(localAuth()) } });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await instance?.stop('SIGKILL');
  await redis?.stop();
});

/** A tab; in `context` when given (tabs of one browser profile), else in a browser of its own. */
async function open(name: string, room = 'tokens', context?: BrowserContext): Promise<{ page: Page; sockets: string[] }> {
  const page = await (context ?? browser).newPage();
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (error) => assert.fail(`page error on ${name}: ${error.message}`));
  await page.goto(`${instance.url}/`);
  await page.fill('#room', room);
  await page.fill('#name', name);
  await page.click('#join button');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'connected to page-jwt');
  return { page, sockets };
}

it('each tab connects with a token of its own user and chats under its name', async () => {
  const ann = await open('Ann');
  const ben = await open('Ben');
  await ann.page.waitForFunction(() => document.querySelector('#members')?.textContent === '2' && document.querySelector('#users')?.textContent === '2');
  const subOf = (url: string) => {
    const token = new URL(url).searchParams.get('token')!;
    return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string }).sub;
  };
  assert.equal(ann.sockets.length, 1);
  assert.notEqual(subOf(ann.sockets[0]), subOf(ben.sockets[0]), 'one user per tab');

  await ann.page.fill('#text', 'hello from a token');
  await ann.page.click('#compose button');
  await ben.page.waitForFunction(() => document.querySelectorAll('#messages li').length === 1);
  assert.equal(await ben.page.$eval('#messages li .name', (el) => el.textContent), 'Ann');
});

it('two tabs of one browser are one user: the page shows two connections and one user', async () => {
  const context = await browser.newContext();
  try {
    const first = await open('Cy', 'one-user', context);
    const second = await open('Cy', 'one-user', context);
    await first.page.waitForFunction(() => document.querySelector('#members')?.textContent === '2');
    await first.page.waitForFunction(() => document.querySelector('#users')?.textContent === '1');
    assert.equal(await second.page.$eval('#users', (el) => el.textContent), '1');
  } finally {
    await context.close();
  }
});
