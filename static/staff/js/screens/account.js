// My account: change my password, and set up two-step sign-in (an authenticator app,
// TOTP) with its recovery codes. A role that must use a second factor lands here
// until it is set up: nothing else of the console opens before.
import { getSession, send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { busy, facts, field, put, showError } from '../ui.js';

function render(root, ctx) {
  const user = ctx.user;
  const second = h('section', { class: 'card', 'aria-labelledby': 'mfa-h' });
  put(root,
    h('h1', {}, 'My account'),
    user.second_factor_setup_required
      ? notice('info', h('strong', {}, 'Set up two-step sign-in to carry on. '),
        `Your role (${user.role}) signs in with a password and a code from an authenticator app on your phone.`)
      : null,
    h('section', { class: 'card' }, facts([['E-mail', user.email], ['Full name', user.full_name || 'not recorded'], ['Role', user.role]])),
    second,
    passwordForm(ctx));
  showSecondFactor(second, ctx);
}

function showSecondFactor(box, ctx) {
  const heading = h('h2', { id: 'mfa-h' }, 'Two-step sign-in');
  if (ctx.user.mfa_enabled) {
    put(box, heading, h('p', {}, 'On: you sign in with your password and a code from your authenticator app.'),
      h('p', { class: 'hint' }, 'New phone? An administrator resets it, and you set it up again.'));
    return;
  }
  const start = h('button', { type: 'button', class: 'btn primary' }, 'Set up two-step sign-in');
  const status = h('div');
  put(box, heading,
    h('p', {}, 'Off. With it on, a stolen password alone cannot open the study\'s records.'),
    h('p', { class: 'hint' }, 'You need an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or FreeOTP).'),
    status, h('div', { class: 'actions' }, start));
  start.addEventListener('click', () => busy(start, async () => {
    try {
      enrol(box, ctx, await send('POST', '/staff/mfa/totp'));
    } catch (error) {
      put(status, showError(null, error, 'Two-step sign-in could not be started.'));
    }
  }));
}

function enrol(box, ctx, begun) {
  const code = h('input', { type: 'text', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 20, required: true });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Turn on two-step sign-in');
  const grouped = begun.secret.match(/.{1,4}/g).join(' ');
  const form = h('form', { novalidate: true, onsubmit },
    h('ol', { class: 'steps' },
      h('li', {}, 'In your authenticator app, add an account and scan this code:',
        h('img', { class: 'qr', src: begun.qr_data_uri, width: 200, height: 200, alt: 'QR code to scan with your authenticator app' }),
        h('p', { class: 'hint' }, 'Cannot scan? Type this key instead: ', h('code', { class: 'secret' }, grouped))),
      h('li', {}, 'Enter the 6-digit code the app shows now.')),
    field('Code from the app', code),
    status,
    h('div', { class: 'actions' }, submit));
  put(box, h('h2', { id: 'mfa-h' }, 'Two-step sign-in'), form);
  code.focus();

  async function onsubmit(event) {
    event.preventDefault();
    if (!code.value.trim()) {
      put(status, notice('error', 'Enter the code the app shows.'));
      code.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const { recovery_codes: codes } = await send('POST', '/staff/mfa/totp/confirm', { code: code.value.trim() });
        showCodes(box, ctx, codes);
      } catch (error) {
        put(status, showError(form, error, 'The code could not be checked.'));
        code.select();
      }
    });
  }
}

function showCodes(box, ctx, codes) {
  const done = h('button', { type: 'button', class: 'btn primary' }, 'I have kept my recovery codes');
  put(box, h('h2', { id: 'mfa-h', tabindex: -1 }, 'Two-step sign-in is on'),
    notice('done', 'From now on you sign in with your password and a code from the app.'),
    h('p', {}, h('strong', {}, 'Recovery codes. '),
      'If your phone is lost, each of these signs you in once instead of a code. Print them or keep them in a password manager: they are shown only now.'),
    h('ul', { class: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
    h('div', { class: 'actions' }, done));
  box.querySelector('h2').focus();
  done.addEventListener('click', async () => {
    const session = await getSession();
    if (session.user) ctx.user = session.user;
    await ctx.loadSites();
    ctx.navigate('flags');
  });
}

function passwordForm(ctx) {
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const first = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, maxlength: 1024 });
  const again = h('input', { type: 'password', name: 'confirm', autocomplete: 'new-password', required: true, maxlength: 1024 });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Change my password');
  const form = h('form', { class: 'card narrow', novalidate: true, onsubmit, 'aria-labelledby': 'pw-h' },
    h('h2', { id: 'pw-h' }, 'Change my password'),
    h('input', { type: 'email', name: 'username', autocomplete: 'username', value: ctx.user.email, hidden: true, readonly: true }),
    field('Current password', current),
    field('New password', first, { hint: 'At least 12 characters. Your other sessions are signed out.' }),
    field('New password again', again),
    status,
    h('div', { class: 'actions' }, submit));
  return form;

  async function onsubmit(event) {
    event.preventDefault();
    if (!current.value || !first.value) {
      put(status, notice('error', 'Enter your current and your new password.'));
      (current.value ? first : current).focus();
      return;
    }
    if (first.value !== again.value) {
      put(status, notice('error', 'The two new passwords are not the same.'));
      again.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await send('POST', '/staff/password', { current_password: current.value, new_password: first.value });
        for (const input of [current, first, again]) input.value = '';
        put(status, notice('done', 'Your password is changed. Your other sessions are signed out.'));
        ctx.announce('Your password is changed.');
      } catch (error) {
        put(status, showError(form, error, 'The password could not be changed.'));
      }
    });
  }
}

export default { title: 'My account', render };
