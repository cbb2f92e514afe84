// The staff console: session, role, hash routing (#/flags, #/flags/{id},
// #/participants, #/participants/{id}, #/enroll, #/exports, #/audit, #/access,
// #/signatures, #/serious-events), the SAE countdowns and the
// idle timeout. A session that ends sends staff to sign-in and back to the
// same screen afterwards; half-written forms wait in sessionStorage (drafts.js).
import { ApiError, Offline, get, getSession, send, whenSignedOut } from '../../js/api.js';
import { announce, clear } from '../../js/dom.js';
import * as drafts from './drafts.js';
import { useProtocol } from './labels.js';
import signin from './screens/signin.js';
import flags from './screens/flags.js';
import flag from './screens/flag.js';
import participants from './screens/participants.js';
import participant from './screens/participant.js';
import enroll from './screens/enroll.js';
import exportsScreen from './screens/exports.js';
import audit from './screens/audit.js';
import access from './screens/access.js';
import account from './screens/account.js';
import accounts from './screens/accounts.js';
import forgot from './screens/forgot.js';
import password from './screens/password.js';
import signatures from './screens/signatures.js';
import serious from './screens/serious.js';
import { refreshCountdowns } from './signoff.js';

const RETURN_KEY = 'console.return';

const main = document.getElementById('main');
let current = null;
let lastActivity = Date.now();

const ctx = {
  user: null,
  sites: [],
  flash: null,
  announce,
  /** What the signed-in role may do, as the server's session says (auth/roles.py). */
  can(permission) {
    return Boolean(ctx.user) && (ctx.user.permissions || []).includes(permission);
  },
  navigate(route, { replace = false } = {}) {
    const hash = `#/${route}`;
    if (location.hash === hash) render();
    else if (replace) location.replace(hash);
    else location.hash = hash;
  },
  async signedIn(user) {
    await getSession(); // the session and its CSRF token changed
    ctx.user = user;
    lastActivity = Date.now();
    await loadSites();
    let back = null;
    try {
      back = sessionStorage.getItem(RETURN_KEY);
      sessionStorage.removeItem(RETURN_KEY);
    } catch {
      // no storage: start at the inbox
    }
    announce(`Signed in as ${user.email}.`);
    ctx.navigate(back && !back.startsWith('signin') ? back : 'flags', { replace: true });
  },
  async signOut() {
    try {
      await send('POST', '/staff/logout');
    } catch (error) {
      if (!(error instanceof ApiError || error instanceof Offline)) throw error;
    }
    drafts.dropAll(); // signing out on purpose: nothing of this tab should stay behind
    signedOut('You are signed out.', { keepRoute: false });
  },
  /** Reload the site list (the participant list stands in until /staff/sites answers). */
  loadSites,
};

async function loadSites() {
  try {
    useProtocol(await get('/staff/protocol'));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    // the screens show codes until the protocol can be read
  }
  try {
    ctx.sites = (await get('/staff/sites')).sites;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    try {
      const { participants: rows } = await get('/staff/participants?limit=200');
      const codes = [...new Set(rows.map((p) => p.site))].sort();
      ctx.sites = codes.map((code) => ({ code, name: code, timezone: null }));
    } catch {
      ctx.sites = [];
    }
  }
}

function signedOut(message, { keepRoute = true } = {}) {
  const was = ctx.user;
  ctx.user = null;
  ctx.sites = [];
  if (keepRoute && was) remember(route().path);
  if (!was && route().name === 'signin') return;
  ctx.flash = message;
  announce(message);
  ctx.navigate('signin', { replace: true });
}

/** The screen to return to after signing in. */
function remember(path) {
  try {
    if (path && !path.startsWith('signin')) sessionStorage.setItem(RETURN_KEY, path);
  } catch {
    // no storage: after sign-in the inbox opens
  }
}

const SCREENS = {
  signin, flags, flag, participants, participant, enroll, exports: exportsScreen, audit, access, signatures, 'serious-events': serious,
  account, accounts, forgot, password,
};

function route() {
  const match = location.hash.match(/^#\/([a-z-]+)(?:\/([^?]+))?(?:\?(.*))?$/);
  const section = match ? match[1] : '';
  const id = match && match[2] ? decodeURIComponent(match[2]) : null;
  let name = section;
  if (section === 'flags' && id) name = 'flag';
  if (section === 'participants' && id) name = 'participant';
  return {
    name: SCREENS[name] ? name : '',
    section,
    id,
    params: new URLSearchParams((match && match[3]) || ''),
    path: match ? location.hash.slice(2) : '',
  };
}

function render() {
  const { name, section, id, params, path } = route();
  let target = name;
  if (!ctx.user) {
    // Signed out: only sign-in, a forgotten password and a password link open.
    if (!name || !SCREENS[name].public) {
      target = 'signin';
      if (name && name !== 'signin') remember(path);
    }
  }
  // A role that must use a second factor sets it up before anything else opens.
  else if (ctx.user.second_factor_setup_required) target = name === 'password' ? name : 'account';
  else if (!name || name === 'signin' || name === 'forgot' || (name === 'audit' && !ctx.can('audit.read'))
    || (name === 'access' && !ctx.can('access_log.read'))
    || (name === 'accounts' && !ctx.can('staff.manage'))) target = 'flags';
  if (target !== name) {
    ctx.navigate(target, { replace: true });
    return;
  }
  if (current && current.view && current.view.leave) current.view.leave();
  const screen = SCREENS[name];
  document.title = `${screen.title} – Staff console – Pain Diary`;
  document.body.dataset.screen = name;
  const nav = document.getElementById('nav');
  nav.hidden = !ctx.user || ctx.user.second_factor_setup_required;
  nav.querySelector('[data-route="audit"]').hidden = !ctx.can('audit.read');
  nav.querySelector('[data-route="access"]').hidden = !ctx.can('access_log.read');
  nav.querySelector('[data-route="accounts"]').hidden = !ctx.can('staff.manage');
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.route === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const who = document.getElementById('who');
  who.textContent = ctx.user ? `${ctx.user.full_name || ctx.user.email} · ${ctx.user.role}` : '';

  document.getElementById('signout').hidden = !ctx.user;
  clear(main);
  current = { name, view: screen.render(main, ctx, { id, params }) || {} };
  const heading = main.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function watchIdle() {
  const touch = () => { lastActivity = Date.now(); };
  for (const type of ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart']) {
    window.addEventListener(type, touch, { passive: true, capture: true });
  }
  setInterval(async () => {
    // The server's staff idle timeout (SPEC §9), as the session gave it; the server
    // enforces it anyway, this only leaves the screen in time.
    const idle = ctx.user && ctx.user.idle_timeout_seconds;
    if (!idle || Date.now() - lastActivity < idle * 1000) return;
    // Leave the screen first, so that nothing more is shown while the server is told.
    const minutes = Math.round(idle / 60);
    signedOut(`You were signed out after ${minutes} minute${minutes === 1 ? '' : 's'} without activity. Sign in again to carry on; unsaved notes are kept.`);
    try {
      await send('POST', '/staff/logout');
    } catch {
      // the server has ended the session already, or is unreachable
    }
  }, 30 * 1000);
}

async function start() {
  whenSignedOut(async () => {
    // Ask whether the session really ended before leaving the screen (a 401 whose
    // session is alive must not throw away what is on it).
    try {
      const session = await getSession();
      if (session.user && session.user.kind === 'staff') return;
    } catch {
      // the server cannot say: treat the session as ended
    }
    signedOut('Your session has ended. Sign in again to carry on; unsaved notes are kept.');
  });
  setInterval(() => refreshCountdowns(main), 30 * 1000);
  window.addEventListener('hashchange', render);
  document.getElementById('signout').addEventListener('click', () => ctx.signOut());
  watchIdle();
  let session = null;
  try {
    session = await getSession();
  } catch (error) {
    if (!(error instanceof Offline || error instanceof ApiError)) throw error;
    ctx.flash = 'The diary server cannot be reached. Try again in a moment.';
  }
  const user = session && session.user && session.user.kind === 'staff' ? session.user : null;
  if (user) {
    ctx.user = user;
    try {
      await loadSites();
    } catch {
      ctx.user = null;
    }
  }
  render();
}

start();
