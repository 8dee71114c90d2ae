// The chat page. No build step: it imports the protocol modules the server
// itself is built from, served under /protocol/. Message text is only ever
// set as textContent, never parsed as HTML.
import { ChatSession } from '/protocol/session.js';

const $ = (id) => document.getElementById(id);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
let session;
let room;
let sent = 0;
// AUTH_MODE=jwt on the local cluster: this browser is one user (its tabs share
// the id, so presence shows one user with several connections), with tokens
// from the local development endpoint. Elsewhere that endpoint answers 404 and
// the page connects without a token (AUTH_MODE=none).
const user = localStorage.getItem('chat-user') ?? crypto.randomUUID();
localStorage.setItem('chat-user', user);
let token;

async function mintToken(name) {
  try {
    const response = await fetch(`/dev/token?name=${encodeURIComponent(name)}&sub=${user}`);
    return response.ok ? (await response.json()).token : undefined;
  } catch {
    return undefined;
  }
}

const socketUrl = () => (token === undefined ? wsUrl : `${wsUrl}?token=${encodeURIComponent(token)}`);

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function render(message) {
  const item = document.createElement('li');
  item.dataset.id = message.id;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${new Date(message.ts).toLocaleTimeString()} via ${message.origin}`;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = message.name;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  item.append(meta, name, text);
  const list = $('messages');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** Connections in the room, and the distinct users behind them. */
function showPresence(frame) {
  $('members').textContent = String(frame.members);
  $('users').textContent = String(frame.users ?? frame.members);
}

function onFrame(frame) {
  switch (frame.type) {
    case 'joined':
      showPresence(frame);
      if (!frame.recovered) $('notice').textContent = 'Some older messages were missed while disconnected.';
      break;
    case 'gap':
      // ChatSession joins the room again by itself; its `joined` says recovered:false.
      $('notice').textContent = 'Some messages were lost on the server; rejoining the room.';
      break;
    case 'presence':
      showPresence(frame);
      break;
    case 'error':
      $('notice').textContent = `${frame.code}: ${frame.message}`;
      break;
    case 'token_expiring':
      void mintToken($('name').value.trim()).then((fresh) => {
        token = fresh;
        if (fresh !== undefined) session?.refresh(fresh);
      });
      break;
    default:
      break;
  }
}

$('join').addEventListener('submit', async (event) => {
  event.preventDefault();
  room = $('room').value.trim();
  const name = $('name').value.trim();
  token = await mintToken(name);
  session?.close();
  $('messages').replaceChildren();
  session = new ChatSession({
    connect: () => new WebSocket(socketUrl()),
    name,
    onFrame,
    onMessage: (message, arrival) => {
      if (arrival === 'new') render(message);
    },
    onState: (state, detail) => {
      if (state === 'open') setStatus('open', `connected to ${detail?.instance}`);
      else if (state === 'reconnecting') setStatus('reconnecting', 'reconnecting…');
      else if (state === 'connecting') setStatus('connecting', 'connecting…');
    },
  });
  session.join(room);
  $('room-title').textContent = room;
  $('chat').hidden = false;
  $('text').focus();
});

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value;
  if (!text || !session) return;
  if (session.send(room, text, `m${++sent}`)) {
    $('text').value = '';
    $('notice').textContent = '';
  } else {
    $('notice').textContent = 'Not connected; the message was not sent.';
  }
});

setStatus('idle', 'not connected');
