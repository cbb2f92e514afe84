// Settings: reminder time, notifications on this phone (Web Push), time zone (by
// country and city, from the server's list), how to install the app on this kind of
// phone, signing out (with a warning while entries wait).
import { ApiError, Offline, send } from '../api.js';
import { phoneZone } from '../dates.js';
import { add, h, notice } from '../dom.js';
import * as store from '../store.js';
import { loadZones, zoneName, zonePicker } from '../zones.js';

const ios = () => /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
const android = () => /Android/.test(navigator.userAgent);
const standalone = () => window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
let installPrompt = null;
let installChanged = () => {};
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installPrompt = event;
  installChanged();
});
window.addEventListener('appinstalled', () => {
  installPrompt = null;
  installChanged();
});

function render(root, ctx) {
  const profile = ctx.profile || {};
  const phone = phoneZone();
  const message = h('div');
  const time = h('input', { id: 'reminder', type: 'time', value: profile.reminder_time || profile.reminder_default || '20:00', 'aria-describedby': 'reminder-hint' });
  const notify = h('input', { id: 'notify', type: 'checkbox', role: 'switch', checked: !!profile.notifications_enabled, 'aria-describedby': 'notify-msg' });
  const notifyMsg = h('p', { id: 'notify-msg', class: 'hint', 'aria-live': 'polite' });
  let zones = store.load('zones');
  let picker = null;
  const zoneBox = h('div');
  const zoneHint = h('p', { id: 'zone-hint', class: 'hint' });
  const usePhone = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => {
    picker.set(zones.device);
    usePhone.hidden = true;
    picker.el.querySelector('select').focus();
  } });
  const save = h('button', { type: 'submit', class: 'btn primary wide' }, 'Save settings');
  drawZones(profile.timezone || phone);

  add(root, [
    h('h1', {}, 'Settings'),
    h('form', { class: 'card', novalidate: true, onsubmit: submit },
      h('h2', {}, 'Reminders'),
      h('label', { class: 'check switch' }, notify, h('span', {}, 'Send me reminder notifications')),
      notifyMsg,
      ios() && !standalone() ? h('p', { class: 'hint' }, 'On iPhone, reminders arrive only once the diary is on your Home Screen (see below).') : null,
      h('div', { class: 'field' }, h('label', { for: 'reminder' }, 'Daily reminder time'), time,
        h('p', { id: 'reminder-hint', class: 'hint' }, "We remind you only on days when the diary isn't filled in yet.")),
      h('h2', {}, 'Time zone'),
      h('p', { class: 'hint' }, 'Your diary days follow this time zone.'),
      zoneBox, zoneHint, usePhone,
      message, save),
    installCard(),
    h('section', { class: 'card', 'aria-labelledby': 'about-h' },
      h('h2', { id: 'about-h' }, 'Your study'),
      h('p', {}, `Study ID ${ctx.user.study_id}`, profile.day != null ? ` · study day ${profile.day}` : ''),
      ctx.protocol ? h('p', { class: 'hint' }, ctx.protocol.study.title) : null),
    signOutSection(),
  ]);
  notify.addEventListener('change', () => toggleNotifications(notify.checked));
  showPhoneState();
  if (ctx.online) {
    loadZones(phone).then((list) => {
      if (!list || !root.isConnected) return;
      zones = list;
      drawZones(picker.value());
    }, () => {});
  }
  return { leave: () => { installChanged = () => {}; } };

  function drawZones(selected) {
    picker = zonePicker(zones, selected);
    zoneBox.replaceChildren(picker.el);
    const device = zones && zones.device;
    zoneHint.textContent = `Your phone is set to ${zoneName(zones, device || phone)}.`;
    usePhone.hidden = !device || device === selected;
    usePhone.textContent = `Use my phone's time zone (${zoneName(zones, device)})`;
  }

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
    if (picker.value() !== profile.timezone) changes.timezone = picker.value();
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

  /** How to put the diary on the Home Screen, as this phone does it; nothing when it is
   * there already or the browser has no way to. */
  function installCard() {
    const card = h('section', { class: 'card', 'aria-labelledby': 'install-h' });
    const draw = () => {
      const how = standalone() ? null
        : installPrompt ? [h('button', { type: 'button', class: 'btn', onclick: install }, 'Install the diary on this phone')]
          : ios() ? [h('ol', { class: 'install-steps' },
            h('li', {}, 'In Safari, tap the Share button (the square with an arrow).'),
            h('li', {}, 'Choose "Add to Home Screen", then "Add".'),
            h('li', {}, 'Open the diary from the new icon.'))]
            : android() ? [h('p', {}, 'Open the browser menu (⋮) and choose "Install app" or "Add to Home screen".')]
              : null;
      card.hidden = !how;
      card.replaceChildren(...(how ? [h('h2', { id: 'install-h' }, 'Put the diary on your Home Screen'),
        h('p', { class: 'hint' }, 'It then opens like an app, also without signal.'), ...how] : []));
    };
    installChanged = draw;
    draw();
    return card;

    async function install() {
      const prompt = installPrompt;
      prompt.prompt();
      await prompt.userChoice;
      installPrompt = null;
      draw();
    }
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

function base64url(text) {
  const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export default { title: 'Settings', render };
