// Start-up, routing (#/activate, #/today, #/history, #/questionnaires,
// #/questionnaire?id=N, #/settings) and the state
// the screens share. The first screen renders from what the phone already
// holds; the network only refreshes it.
import './outbox.js';
import { ApiError, Offline, get, getSession, send, whenSignedOut } from './api.js';
import { initAlerts, showAlerts } from './alert.js';
import { announce, clear } from './dom.js';
import * as store from './store.js';
import activate from './screens/activate.js';
import history from './screens/history.js';
import questionnaire from './screens/questionnaire.js';
import questionnaires, { refreshQuestionnaires } from './screens/questionnaires.js';
import settings from './screens/settings.js';
import today from './screens/today.js';

const SCREENS = { activate, today, history, questionnaires, questionnaire, settings };
const main = document.getElementById('main');
let current = null;

const ctx = {
  user: store.load('user'),
  profile: store.load('profile'),
  protocol: store.load('protocol'),
  outbox: globalThis.DiaryOutbox,
  online: navigator.onLine,
  flash: null,
  announce,
  showAlerts,
  navigate(route, { replace = false } = {}) {
    if (replace) location.replace(`#/${route}`);
    else location.hash = `#/${route}`;
  },
  async signedIn(profile) {
    const session = await getSession(); // the session (and its CSRF token) changed
    ctx.user = session.user;
    store.save('user', ctx.user);
    setProfile(profile);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    await refresh();
    sync();
  },
  async signOut() {
    try {
      await send('POST', '/logout');
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    }
    signedOut('You are signed out.');
  },
  setProfile,
  sync,
  refresh,
  backgroundSync() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.ready
      .then((reg) => reg.sync && reg.sync.register('diary-outbox'))
      .catch(() => {}); // not offered by this browser: 'online' and start-up still send
  },
};

function setProfile(profile) {
  if (!profile) return;
  ctx.profile = profile;
  store.save('profile', profile);
}

function signedOut(message) {
  if (!ctx.user) return;
  ctx.user = null;
  ctx.profile = null;
  ctx.protocol = null;
  store.forgetUser(); // unsent entries stay in IndexedDB for this study ID
  ctx.flash = message;
  announce(message);
  ctx.navigate('activate', { replace: true });
}

function route() {
  const match = location.hash.match(/^#\/([a-z]+)(?:\?(.*))?$/);
  const name = match && SCREENS[match[1]] ? match[1] : '';
  return { name, params: new URLSearchParams((match && match[2]) || '') };
}

function render() {
  const { name, params } = route();
  let target = name;
  if (!ctx.user) target = 'activate';
  else if (!name || (name === 'activate' && !params.get('code'))) target = 'today';
  if (target !== name) {
    ctx.navigate(target, { replace: true });
    return;
  }
  if (current && current.view && current.view.leave) current.view.leave();
  const screen = SCREENS[name];
  document.title = `${screen.title} – Pain Diary`;
  document.getElementById('nav').hidden = !ctx.user;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.route === name || (name === 'questionnaire' && link.dataset.route === 'questionnaires')) {
      link.setAttribute('aria-current', 'page');
    } else link.removeAttribute('aria-current');
  }
  document.getElementById('who').textContent = ctx.user ? ctx.user.study_id : '';
  clear(main);
  current = { name, view: screen.render(main, ctx, params) || {} };
  const heading = main.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function update() {
  if (current && current.view.update) current.view.update();
}

async function refresh() {
  if (!ctx.user) return;
  try {
    const [profile, protocol] = await Promise.all([get('/me'), get('/protocol')]);
    setProfile(profile);
    ctx.protocol = protocol;
    store.save('protocol', protocol);
    update();
    // Keep the questionnaires on the phone too, so they can be answered without signal.
    refreshQuestionnaires(ctx).then(() => {
      if (current && current.view.questionnairesChanged) current.view.questionnairesChanged();
    }, () => {});
  } catch (error) {
    if (!(error instanceof Offline || error instanceof ApiError)) throw error;
    if (error instanceof ApiError && error.status !== 401) {
      // e.g. the protocol is not served yet: keep what the phone has.
      ctx.loadError = error.message;
      update();
    }
  }
}

let queue = Promise.resolve();
/** Send the outbox now (after any send already under way); show red-flag advice that came back. */
function sync() {
  if (!ctx.user) return Promise.resolve(null);
  const run = queue.then(() => ctx.outbox.flush()).then(afterSync);
  queue = run.catch(() => null);
  return run;
}

let retryDelay = 0;
let retryTimer = null;

/** The network said "online" but the server could not be reached: try again
 * soon, then less and less often, while entries wait and the app is open. */
function retryLater(result) {
  clearTimeout(retryTimer);
  if (!result || !result.offline || !result.waiting) {
    retryDelay = 0;
    return;
  }
  retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2000, 60000);
  retryTimer = setTimeout(() => { if (navigator.onLine) sync(); else retryDelay = 0; }, retryDelay);
}

async function afterSync(result) {
  if (!ctx.user) return result;
  if (result) retryLater(result);
  if (result && result.closed && ctx.profile && !ctx.profile.diary_closed) refresh();
  if (result && result.signedOut) signedOut('You are signed out. Your unsent entries stay on this phone; ask your study team for a new code to send them.');
  const alerts = await ctx.outbox.takeAlerts(ctx.user.study_id);
  if (alerts.length) showAlerts(alerts);
  if (result && result.sent) {
    announce(result.sent === 1 ? 'Your diary entry was sent.' : `${result.sent} diary entries were sent.`);
  }
  if (result && result.questionnaires) announce('Your questionnaire answers were sent.');
  if (result && result.refused) announce('The server did not accept something you saved. See History and Questionnaires.');
  update();
  return result;
}

function setOnline(online) {
  ctx.online = online;
  document.getElementById('net').hidden = online;
  if (online) {
    refresh();
    sync();
  } else {
    update();
  }
}

async function start() {
  initAlerts();
  whenSignedOut(() => signedOut('You are signed out. Ask your study team for a new code.'));
  window.addEventListener('hashchange', render);
  window.addEventListener('online', () => setOnline(true));
  window.addEventListener('offline', () => setOnline(false));
  document.getElementById('net').hidden = navigator.onLine;
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
    navigator.serviceWorker.addEventListener('message', (event) => {
      const data = event.data || {};
      // (a worker installed before it passed its result sends none: nothing to announce)
      if (data.type === 'outbox-sent') afterSync(data.result || null);
    });
  }
  render();
  if (ctx.user && navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().catch(() => {}); // keep unsent entries through storage pressure
  }
  let session;
  try {
    session = await getSession();
  } catch (error) {
    if (error instanceof Offline || error instanceof ApiError) return; // work from the phone's copy
    throw error;
  }
  const user = session.user && session.user.kind === 'participant' ? session.user : null;
  if (!user) {
    if (ctx.user) signedOut('You are signed out. Ask your study team for a new code.');
    return;
  }
  if (!ctx.user || ctx.user.study_id !== user.study_id) {
    ctx.user = user;
    store.save('user', user);
    render();
  }
  await refresh();
  sync();
}

start();
