// Settings: reminder time, notifications on this phone (Web Push), time zone,
// installing the app, signing out (with a warning while entries wait).
import { ApiError, Offline, send } from '../api.js';
import { phoneZone } from '../dates.js';
import { h, notice } from '../dom.js';

const ios = () => /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
const standalone = () => window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
let installPrompt = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installPrompt = event;
});

function render(root, ctx) {
  const profile = ctx.profile || {};
  const phone = phoneZone();
  const message = h('div');
  const time = h('input', { id: 'reminder', type: 'time', value: profile.reminder_time || profile.reminder_default || '20:00', 'aria-describedby': 'reminder-hint' });
  const notify = h('input', { id: 'notify', type: 'checkbox', role: 'switch', checked: !!profile.notifications_enabled, 'aria-describedby': 'notify-msg' });
  const notifyMsg = h('p', { id: 'notify-msg', class: 'hint', 'aria-live': 'polite' });
  const zones = supportedZones(profile.timezone, phone);
  const zone = h('select', { id: 'zone', 'aria-describedby': 'zone-hint' }, zones.map((z) => h('option', { value: z }, z.replace(/_/g, ' '))));
  zone.value = profile.timezone || phone;
  const save = h('button', { type: 'submit', class: 'btn primary wide' }, 'Save settings');
  const usePhone = phone !== zone.value
    ? h('button', { type: 'button', class: 'btn', onclick: () => { zone.value = phone; usePhone.hidden = true; } }, `Use my phone's time zone (${phone.replace(/_/g, ' ')})`)
    : null;

  root.append(
    h('h1', {}, 'Settings'),
    h('form', { class: 'card', novalidate: true, onsubmit: submit },
      h('h2', {}, 'Reminders'),
      h('label', { class: 'check switch' }, notify, h('span', {}, 'Send me reminder notifications')),
      notifyMsg,
      ios() && !standalone() ? notice('info', h('strong', {}, 'On iPhone: '),
        'reminders can only arrive once the diary is on your Home Screen. In Safari, tap the Share button, then "Add to Home Screen", and open the diary from the new icon.') : null,
      h('div', { class: 'field' }, h('label', { for: 'reminder' }, 'Daily reminder time'), time,
        h('p', { id: 'reminder-hint', class: 'hint' }, "We remind you only on days when the diary isn't filled in yet.")),
      h('h2', {}, 'Time zone'),
      h('div', { class: 'field' }, h('label', { for: 'zone' }, 'Time zone'), zone,
        h('p', { id: 'zone-hint', class: 'hint' }, `Your diary days follow this time zone. Your phone is set to ${phone.replace(/_/g, ' ')}.`), usePhone),
      message, save),
    installButton(),
    h('section', { class: 'card', 'aria-labelledby': 'about-h' },
      h('h2', { id: 'about-h' }, 'Your study'),
      h('p', {}, `Study ID ${ctx.user.study_id}`, profile.day != null ? ` · study day ${profile.day}` : ''),
      ctx.protocol ? h('p', { class: 'hint' }, ctx.protocol.study.title) : null),
    signOutSection(),
  );
  notify.addEventListener('change', () => toggleNotifications(notify.checked));
  showPhoneState();
  return {};

  /** "On" means on for this phone: the study's setting and a push subscription here. */
  async function showPhoneState() {
    if (!profile.notifications_enabled) return;
    const reg = 'serviceWorker' in navigator && (await navigator.serviceWorker.getRegistration());
    const sub = reg && reg.pushManager && (await reg.pushManager.getSubscription());
    if (!sub) {
      notify.checked = false;
      notifyMsg.textContent = 'Reminders are not set up on this phone yet.';
    }
  }

  async function submit(event) {
    event.preventDefault();
    const changes = {};
    if (time.value && time.value !== (profile.reminder_time || profile.reminder_default)) changes.reminder_time = time.value.slice(0, 5);
    if (zone.value !== profile.timezone) changes.timezone = zone.value;
    if (!Object.keys(changes).length) {
      say('info', 'Nothing to save: these are already your settings.');
      return;
    }
    save.disabled = true;
    try {
      ctx.setProfile(await send('PATCH', '/me', changes));
      say('done', 'Settings saved.');
      Object.assign(profile, ctx.profile);
    } catch (error) {
      say('error', error instanceof Offline ? 'You are offline. Settings can be changed when you are online.' : error.message);
    } finally {
      save.disabled = false;
    }
  }

  function say(kind, text) {
    message.replaceChildren(notice(kind, text));
    ctx.announce(text);
  }

  async function toggleNotifications(on) {
    notify.disabled = true;
    try {
      const text = on ? await subscribe() : await unsubscribe();
      notifyMsg.textContent = text;
    } catch (error) {
      notify.checked = !on;
      notifyMsg.textContent = error instanceof Offline ? 'You are offline. Try again when you are online.'
        : error instanceof NotAvailable || error instanceof ApiError ? error.message
          : `Notifications could not be turned ${on ? 'on' : 'off'} on this phone (${error.message}).`;
    } finally {
      notify.disabled = false;
    }
  }

  async function subscribe() {
    const key = ctx.protocol && ctx.protocol.vapid_public_key;
    if (!key || !('serviceWorker' in navigator) || !('PushManager' in window)) {
      throw new NotAvailable(ios() && !standalone()
        ? 'Add the diary to your Home Screen first (see below), then turn reminders on from there.'
        : 'Reminder notifications are not available on this phone or for this study yet.');
    }
    if ((await Notification.requestPermission()) !== 'granted') {
      throw new NotAvailable('Notifications are blocked for this site. Allow them in your browser settings, then try again.');
    }
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64url(key) });
    const json = sub.toJSON();
    try {
      await send('POST', '/push-subscriptions', { endpoint: json.endpoint, keys: json.keys });
    } catch (error) {
      await sub.unsubscribe();
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
        throw new NotAvailable('Reminder notifications are not available for this study yet.');
      }
      throw error;
    }
    ctx.setProfile(await send('PATCH', '/me', { notifications_enabled: true }));
    return `Reminders are on. You will get one at ${time.value} on days the diary is not filled in.`;
  }

  async function unsubscribe() {
    if ('serviceWorker' in navigator) {
      const reg = await navigator.serviceWorker.ready;
      const sub = reg.pushManager && (await reg.pushManager.getSubscription());
      if (sub) {
        await send('DELETE', '/push-subscriptions', { endpoint: sub.endpoint }).catch((error) => {
          if (!(error instanceof ApiError && (error.status === 404 || error.status === 405))) throw error;
        });
        await sub.unsubscribe();
      }
    }
    ctx.setProfile(await send('PATCH', '/me', { notifications_enabled: false }));
    return 'Reminders are off.';
  }

  function installButton() {
    if (!installPrompt || standalone()) return null;
    const button = h('button', { type: 'button', class: 'btn', onclick: async () => {
      installPrompt.prompt();
      await installPrompt.userChoice;
      installPrompt = null;
      button.remove();
    } }, 'Install the diary on this phone');
    return button;
  }

  function signOutSection() {
    const area = h('div');
    const start = h('button', { type: 'button', class: 'btn', onclick: ask }, 'Sign out');
    const section = h('section', { class: 'card', 'aria-labelledby': 'out-h' },
      h('h2', { id: 'out-h' }, 'Sign out'),
      h('p', { class: 'hint' }, 'Only if you stop using this phone for the diary. To sign in again you need a new code from your study team.'),
      area, start);
    return section;

    async function ask() {
      const waiting = (await ctx.outbox.pending(ctx.user.study_id)).filter((r) => r.status === 'waiting');
      start.hidden = true;
      area.replaceChildren(
        waiting.length
          ? notice('error', h('strong', {}, `${waiting.length} ${waiting.length === 1 ? 'entry has' : 'entries have'} not been sent yet. `),
            'Go online and wait until History shows them as sent before you sign out. If you sign out now they stay on this phone and are only sent after you sign in again with a new code.')
          : notice('info', 'You will need a new code from your study team to sign in again.'),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn danger', onclick: out }, waiting.length ? 'Sign out anyway' : 'Yes, sign out'),
          h('button', { type: 'button', class: 'btn', onclick: cancel }, 'Cancel')));
      area.querySelector('button').focus();
    }

    function cancel() {
      area.replaceChildren();
      start.hidden = false;
      start.focus();
    }

    async function out() {
      try {
        await ctx.signOut();
      } catch (error) {
        area.replaceChildren(notice('error', error instanceof Offline ? 'You are offline. Sign out when you are online.' : error.message));
      }
    }
  }
}

class NotAvailable extends Error {}

function supportedZones(...extra) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    // Older browsers: the current and the phone's zone are still offered.
  }
  return [...new Set([...zones, ...extra.filter(Boolean)])].sort();
}

function base64url(text) {
  const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export default { title: 'Settings', render };
