/* The service worker: precaches the versioned app shell and serves it offline,
 * never caches the API, sends the diary outbox by Background Sync, and shows
 * reminder notifications. */
/* global DiaryOutbox */
'use strict';

// Replaced when served (diary/pages.py) by a hash of the shell's files, so any
// change to the shell installs a new worker and a new cache.
const VERSION = '__SHELL_VERSION__';
const CACHE = `diary-shell-${VERSION}`;
// Filled when served, from the same files the version hashes: every file of the app.
const SHELL = [/* __SHELL_FILES__ */];

importScripts('/static/js/outbox.js');

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith('diary-shell-') && key !== CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // The API always goes to the network: diary data is never kept in the cache.
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    if (url.pathname === '/') event.respondWith(fromShell('/', request));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(fromShell(url.pathname, request));
});

async function fromShell(path, request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(path)) || fetch(request);
}

async function tellPages(message) {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  pages.forEach((page) => page.postMessage(message));
}

self.addEventListener('sync', (event) => {
  if (event.tag !== 'diary-outbox') return;
  event.waitUntil(DiaryOutbox.flush().then((result) => {
    // The flush's result (not the entries themselves), so that an open page tells the
    // participant, retries and signs out as if it had flushed the outbox itself.
    const summary = { ...result };
    delete summary.entries;
    if (result.sent || result.refused || result.questionnaires) tellPages({ type: 'outbox-sent', result: summary });
    // Still offline: fail, so that the browser tries again later.
    if (result.offline) throw new Error('offline');
  }));
});

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data.text() };
  }
  event.waitUntil(self.registration.showNotification(data.title || 'Pain Diary', {
    body: data.body || "Time for today's pain diary.",
    icon: '/static/icons/icon-192.png',
    badge: '/static/icons/icon-192.png',
    tag: data.tag || 'diary-reminder',
    data: { url: data.url || '/#/today' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/#/today', self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((pages) => {
    const page = pages.find((p) => new URL(p.url).pathname === target.pathname);
    if (page) return page.navigate(target.href).then((p) => (p || page).focus());
    return self.clients.openWindow(target.href);
  }));
});
